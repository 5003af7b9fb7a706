"""Windows, where many STUDIO users are, has no `fcntl`: every plugin must still load there. Locks go
through `filelock` (LockFileEx on Windows); here a process with `fcntl` made unavailable stands in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_FCNTL = """
import sys, tempfile
sys.modules["fcntl"] = None  # import fcntl now raises ImportError, as on Windows
sys.path.insert(0, {root!r})
import mnas.utils.locks, mnas.train.job, mnas.search.loop, mnas_ikomia
from infer_mnasnet import infer_mnasnet_process
from train_mnasnet import train_mnasnet_process
from search_mini import search_mini_process
for module in (infer_mnasnet_process, train_mnasnet_process, search_mini_process):
    module_factory = [name for name in dir(module) if name.endswith("Factory") and "Param" not in name]
    assert module_factory, module.__name__
    getattr(module, module_factory[0])().create(None)  # the task object Ikomia would build
from mnas.utils.locks import OutputFolderError, output_folder_lock
try:
    with output_folder_lock(tempfile.mkdtemp(), "training"):
        pass
except OutputFolderError as error:  # no OS lock at all here (Windows has LockFileEx): a clear refusal
    assert "cannot lock its lock file" in str(error), error
print("loaded without fcntl")
"""


@pytest.mark.slow
def test_every_plugin_loads_and_builds_its_task_without_fcntl():
    done = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL.format(root=str(ROOT))], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "loaded without fcntl" in done.stdout


STUDIO_WITHOUT_FCNTL = """
import importlib, os, pkgutil, sys
sys.modules["fcntl"] = None
sys.path.insert(0, {root!r})
import mnas_ikomia
for module in pkgutil.iter_modules(mnas_ikomia.__path__, "mnas_ikomia."):  # every adapter module
    importlib.import_module(module.name)
from mnas_ikomia.tracking import use_file_store
use_file_store(os.path.join({work!r}, "mlruns"))
from PyQt6.QtWidgets import QApplication
from ikomia.dataprocess.workflow import Workflow
app = QApplication([])
workflow = Workflow()
for name in ("infer_mnasnet", "train_mnasnet", "search_mini"):
    assert workflow.add_task(name=name).name == name  # through the registry, as STUDIO and scripts load it
    plugin = importlib.import_module(f"{{name}}.{{name}}").IkomiaPlugin()
    assert plugin.get_widget_factory().create(plugin.get_param_factory().create()) is not None
print("studio loads without fcntl")
"""


@pytest.mark.slow
def test_the_registry_and_the_studio_panels_load_without_fcntl(tmp_path):
    """What STUDIO does on Windows: the registry loads each plugin folder, each panel is built."""
    import os

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}  # conftest's HOME: the plugins are installed there
    done = subprocess.run([sys.executable, "-c", STUDIO_WITHOUT_FCNTL.format(root=str(ROOT), work=str(tmp_path))],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "studio loads without fcntl" in done.stdout
