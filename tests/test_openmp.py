"""Importing ikomia turns OpenMP dynamic teams on, which hangs oneDNN's conv backward under load;
the core's entry points must turn it off again (mnas/utils/openmp.py). Checked in a fresh interpreter, on
the OpenMP setting itself, so the test does not depend on the machine's load."""

import os
import subprocess
import sys
import textwrap

import pytest

from mnas.utils.fileio import atomic_write_text

SCRIPT = textwrap.dedent("""
    import ctypes, os
    import torch
    import ikomia
    from ikomia.dataprocess.workflow import Workflow
    libgomp = ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    print("after ikomia", libgomp.omp_get_dynamic())
    from mnas.data.folders import ImageDataset
    from mnas.models import create_model
    from mnas.train.engine import TrainConfig, train
    images = torch.randint(0, 256, (8, 32, 32, 3), dtype=torch.uint8)
    data = ImageDataset(images, torch.arange(8) % 2, ["a", "b"])
    train(create_model("mnasnet_small", 2, 32), data, data, TrainConfig(epochs=1, batch_size=4))
    print("after train", libgomp.omp_get_dynamic())
""")


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_training_after_importing_ikomia_runs_with_static_openmp_teams():
    env = dict(os.environ, IKOMIA_AUTO_COMPLETION="0")
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("after")]
    # the first line documents the cause: if ikomia stops doing this, the guard becomes a no-op
    assert lines == ["after ikomia 1", "after train 0"]


def test_atomic_writes_make_ordinary_files(tmp_path):
    mask = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "classes.txt", "cat\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "classes.txt").stat().st_mode & 0o777 == 0o644
