"""Shared by the training, search and widget tests: a tiny architecture, a check for servers, a kill in
the middle of a search, and a train_mnasnet workflow over a dataset folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# A small but complete network of the grammar (stem conv, MBConv with SE, 1x1 head): fast on 2 cores
TINY_ARCH = ("r1_k3_s11_e1_i3_o16_conv, r1_k3_s22_e3_i16_o24_se0.25, r2_k3_s22_e3_i24_o32, "
             "r1_k1_s11_e1_i32_o64_conv")


def no_server_left() -> bool:
    """No MLflow or TensorBoard server process is running (a task must never start one in tests)."""
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return not any("mlflow server" in line or "tensorboard" in line for line in listing.splitlines())


def kill_after_lines(process: subprocess.Popen, log: Path, lines: int, timeout: float, kill) -> list[str]:
    """Wait until `log` holds `lines` lines (or `process` ends, or `timeout` s pass), `kill()` the
    process mid-run, and return the log's lines as the kill left them."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if log.is_file() and len(log.read_text().splitlines()) >= lines:
                break
            time.sleep(0.05)
        kill()
    finally:
        process.wait()
    return log.read_text().splitlines()


def train_workflow(folder, params):
    """A workflow feeding the dataset `folder` to a train_mnasnet task with `params`: (workflow, task)."""
    from ikomia.core import IODataType
    from ikomia.dataprocess import CPathIO
    from ikomia.dataprocess.workflow import Workflow

    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(folder)))
    task = workflow.add_task(name="train_mnasnet", auto_connect=True)
    task.set_parameters(params)
    return workflow, task


# ------------------------------------------------------------------ tiny trainings in this process or another

def tiny_job(data, output, **changes):
    """A one-epoch training job of TINY_ARCH at 32 px (a second on 2 cores)."""
    from mnas.train.config import TrainConfig
    from mnas.train.job import TrainJob

    config = TrainConfig(epochs=changes.pop("epochs", 1), batch_size=16, input_size=32,
                         precise_bn_images=32, learning_rate=changes.pop("learning_rate", 0.05),
                         optimizer=changes.pop("optimizer", "sgd"))
    return TrainJob(data=str(data), model=TINY_ARCH, output_folder=str(output), config=config, **changes)


def train_command(data, output, *extra) -> list[str]:
    """``python -m mnas train`` of TINY_ARCH, as a subprocess would run it."""
    return [sys.executable, "-m", "mnas", "train", "--data", str(data), "--arch", TINY_ARCH,
            "--batch-size", "16", "--input-size", "32", "--threads", "1", "--output", str(output), *extra]


def run_python(code: str, *, check_exit=None, timeout=300) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter at the clone's root; its exit status checked when given."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=timeout)
    if check_exit is not None:
        assert done.returncode == check_exit, done.stderr[-3000:]
    return done


def wait_for_holder(folder: Path, pid: int, process: subprocess.Popen, timeout: float = 180) -> dict:
    """The holder details a process wrote into the folder's lock file (polled: it starts in seconds)."""
    from mnas.utils.locks import LOCK_FILE_NAME

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            info = json.loads((folder / LOCK_FILE_NAME).read_text())
            if info["pid"] == pid:
                return info
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"process {pid} never took the lock of {folder}")
