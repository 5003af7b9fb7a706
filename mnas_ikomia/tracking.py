"""Ikomia training tasks without servers: MLflow into a file:// store, no TensorBoard process.

`dnntrain.TrainProcess` starts ``mlflow server --host 0.0.0.0`` (no authentication, on every network
interface) and TensorBoard when it is created, and nothing stops them. Our tasks (`FolderTrainTask`)
replace those two start-ups by `init_mlflow` / `init_tensorboard`: by default MLflow logs into a local
file store and no server process is started. Which store, first found:

1. the one `use_file_store` chose (tests, notebooks and the command-line pipeline call it first);
2. ``MLFLOW_TRACKING_URI`` when it is set (MLflow's own setting: a server you run yourself);
3. Ikomia's MLflow folder (``~/Ikomia/MLflow``): the store Ikomia's own server would serve, so
   ``mlflow ui --backend-store-uri ~/Ikomia/MLflow`` (loopback only) shows the runs afterwards.

``MNAS_MLFLOW_SERVER=1`` (or true / yes / on) opts in to Ikomia's behaviour: its MLflow server on
0.0.0.0:5000 and TensorBoard on 6006, started if none answers, left running after the process ends.

TensorBoard: `TensorBoardLog` writes a run's scalars and images as event files (torch's
``SummaryWriter``; the ``tensorboard`` package comes with ikomia) into Ikomia's TensorBoard folder
(``config.main_cfg["tensorboard"]["log_uri"]``, ``~/Ikomia/Tensorboard/``), one folder per run, as the
Ikomia HUB's training tasks do: ``tensorboard --logdir ~/Ikomia/Tensorboard`` (or Ikomia's own server,
with MNAS_MLFLOW_SERVER=1) shows them beside the MLflow runs. No server is started for it.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

logger = logging.getLogger(__name__)

SERVER_ENV = "MNAS_MLFLOW_SERVER"


def ikomia_servers_wanted() -> bool:
    """True when MNAS_MLFLOW_SERVER asks for Ikomia's MLflow and TensorBoard servers (read here only)."""
    return os.environ.get(SERVER_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def use_file_store(store_dir: str | os.PathLike) -> str:
    """Make every Ikomia TrainProcess created after this call log to `store_dir`; returns its URI."""
    import mlflow
    from ikomia.core import config
    from ikomia.dnn import monitoring

    uri = Path(store_dir).resolve().as_uri()
    Path(store_dir).mkdir(parents=True, exist_ok=True)
    monitoring.check_mlflow_server = lambda: None
    monitoring.check_tensorboard_server = lambda: None
    config.main_cfg["mlflow"]["tracking_uri"] = uri
    mlflow.set_tracking_uri(uri)
    return uri


def default_tracking_uri() -> str:
    """The store a task logs to when no server is wanted (see the module's list)."""
    from ikomia.core import config

    configured = config.main_cfg["mlflow"]["tracking_uri"]
    if configured.startswith("file:"):
        return configured
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    store = Path(config.main_cfg["mlflow"]["store_uri"]).expanduser()
    store.mkdir(parents=True, exist_ok=True)
    return store.resolve().as_uri()


def init_mlflow() -> str:
    """What a task does in place of TrainProcess._init_mlflow; returns the tracking URI set."""
    import mlflow
    from ikomia.core import config
    from ikomia.dnn import monitoring

    if ikomia_servers_wanted():
        monitoring.check_mlflow_server()  # Ikomia's: starts `mlflow server --host 0.0.0.0` if none answers
        uri = config.main_cfg["mlflow"]["tracking_uri"]
    else:
        uri = default_tracking_uri()
    mlflow.set_tracking_uri(uri)
    return uri


def init_tensorboard() -> None:
    """What a task does in place of TrainProcess._init_tensorboard: nothing unless servers are wanted
    (the tasks log to MLflow only; TensorBoard would show an empty folder)."""
    if ikomia_servers_wanted():
        from ikomia.dnn import dnntrain

        dnntrain.TrainProcess._init_tensorboard()  # Ikomia's, warnings included


def tensorboard_root() -> Path:
    """Ikomia's TensorBoard folder (what its TensorBoard server reads)."""
    from ikomia.core import config

    return Path(config.main_cfg["tensorboard"]["log_uri"]).expanduser()


class TensorBoardLog:
    """One run's TensorBoard event files in ``tensorboard_root()/<task>_<YYYY-mm-dd_HH-MM-SS>[_N]``,
    made when the first value is written (a run refused by its checks leaves no folder). Without the
    ``tensorboard`` package it warns once and writes nothing."""

    def __init__(self, run_name: str):
        self.run_name = re.sub(r"[^\w.-]", "_", run_name)
        self.log_dir: Path | None = None
        self._writer = None
        self._unavailable = False

    def _open(self):
        if self._writer is None and not self._unavailable:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                self._unavailable = True
                logger.warning("no TensorBoard event files (%s): pip install tensorboard", error)
                return None
            root = tensorboard_root()
            base = f"{self.run_name}_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
            folder, n = root / base, 1
            while folder.exists():  # two runs started within the same second
                n += 1
                folder = root / f"{base}_{n}"
            folder.mkdir(parents=True)
            self.log_dir = folder
            self._writer = SummaryWriter(str(folder))
        return self._writer

    def scalars(self, values: dict[str, float], step: int) -> None:
        writer = self._open()
        if writer is not None:
            for key, value in values.items():
                writer.add_scalar(key, float(value), step)
            writer.flush()

    def image(self, tag: str, rgb, step: int) -> None:
        """An H x W x 3 uint8 image (a plot)."""
        writer = self._open()
        if writer is not None:
            writer.add_image(tag, rgb, step, dataformats="HWC")
            writer.flush()

    def text(self, tag: str, text: str, step: int) -> None:
        writer = self._open()
        if writer is not None:
            writer.add_text(tag, text, step)
            writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
