"""Shared by the training, search and widget tests: a tiny architecture, a check for servers, a kill in
the middle of a search, and a train_mnasnet workflow over a dataset folder."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

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
