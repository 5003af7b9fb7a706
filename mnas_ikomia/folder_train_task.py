"""The set-up train_mnasnet and search_mini share: an Ikomia training task whose input 0 is a dataset
folder, whose work polls a stop flag, whose MLflow run is closed as FAILED when the work fails, and
which starts no server: MLflow logs into a local file store unless MNAS_MLFLOW_SERVER=1 asks for
Ikomia's MLflow and TensorBoard servers (`mnas_ikomia.tracking`)."""

from __future__ import annotations

import copy
import logging

from ikomia import core, dataprocess
from ikomia.dnn import dnntrain

from mnas.utils.progress import Progress
from mnas_ikomia import tracking
from mnas_ikomia.params import CheckedKeysTask

# a child of Ikomia's own logger: its lines go where Ikomia's go (the console, ~/Ikomia/log.txt, STUDIO)
progress_logger = logging.getLogger("ikomia.mnas")


class FolderTrainTask(CheckedKeysTask, dnntrain.TrainProcess):
    """Subclasses set `param_class` and `folder_layout` (said in the empty-input error) and implement
    `work(folder)`; `should_stop()` answers Ikomia's stop button."""

    param_class: type
    folder_layout: str = "train/<class>/<images>"

    def __init__(self, name, param):
        param = copy.deepcopy(param) if param is not None else self.param_class()
        dnntrain.TrainProcess.__init__(self, name, param)
        self.set_param_object(param)  # the C++ base keeps only a sliced copy of the Python object
        self.remove_input(0)  # TrainProcess's Ikomia dataset input: ours is a folder
        self.add_input(dataprocess.CPathIO(core.IODataType.FOLDER_PATH))
        self._stop_requested = False

    # TrainProcess.__init__ calls these two: Ikomia's start `mlflow server --host 0.0.0.0` and TensorBoard
    @staticmethod
    def _init_mlflow():
        tracking.init_mlflow()

    @staticmethod
    def _init_tensorboard():
        tracking.init_tensorboard()

    def stop(self):
        super().stop()
        self._stop_requested = True  # polled by the work every step

    def should_stop(self) -> bool:
        return self._stop_requested

    def start_progress(self, what: str, unit: str) -> None:
        """One Ikomia log line per finished unit (elapsed, time left) beside `emit_step_progress`."""
        self._progress = Progress(self.get_progress_steps(), what, unit=unit, terminal=False,
                                  write=progress_logger.info)

    def step_progress(self, note: str) -> None:
        self._progress.step(note)
        self.emit_step_progress()

    def work(self, folder: str) -> None:
        raise NotImplementedError

    def run(self):
        self.begin_task_run()
        self._stop_requested = False
        try:
            folder = self.get_input(0).get_path()
            if not folder:
                raise ValueError(f"input 0 (dataset folder) is empty: set it to a folder holding "
                                 f"{self.folder_layout}")
            self.work(folder)
        except BaseException:
            import mlflow

            mlflow.end_run(status="FAILED")  # a failed run must not stay open for the next one
            raise
        self.get_param_object().update = False
        self.end_task_run()
