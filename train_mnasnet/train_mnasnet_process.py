"""train_mnasnet: train or fine-tune any MnasNet on a folder dataset, logging to MLflow the Ikomia way.

A thin adapter: parameters (strings) -> `mnas.train_job.TrainJob`; `mnas.train_job.run_training_job`
does the work; each finished epoch is logged (`log_metrics`) and reported (`emit_step_progress`).
Input 0 is the dataset folder (``<root>/train/<class>/*``, optional ``<root>/val/<class>/*``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ikomia import core, dataprocess
from mnas_ikomia.folder_train_task import FolderTrainTask
from mnas_ikomia.params import CheckedParams, param_factory
from mnas_ikomia.task_info import one_line, task_factory

from mnas import settings
from mnas.arch import parse_arch
from mnas.locks import expand_folder
from mnas.models import VARIANTS
from mnas.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.data import IMAGE_CHANNELS
from mnas.train import TrainConfig
from mnas.train_job import CHECKPOINT_DIR_NAME, TrainJob, run_training_job, train_config

logger = logging.getLogger(__name__)

PLUGIN_NAME = "train_mnasnet"
# the task's own parameters, then every TrainJob and TrainConfig setting as they declare it (mnas.settings)
DEFAULTS = {
    "model_name": "mnasnet0_5",
    "arch": "",                       # an architecture string; when given it replaces model_name
    "output_folder": "",              # empty: a new folder under $MNAS_OUTPUT_DIR or ~/mnas-runs
    **settings.string_defaults(TrainJob),
    **settings.string_defaults(TrainConfig),
}


def job_from_values(values: dict[str, str], data_folder: str = "") -> TrainJob:
    """The training job the string parameters describe; a `ValueError` naming the first bad one.

    input_size auto is decided from `data_folder` (224 while it is not known yet)."""
    arch = values["arch"].strip()
    model_name = values["model_name"].strip()
    if arch:
        parse_arch(arch, image_channels=IMAGE_CHANNELS)  # ArchStringError names the block and token
    elif model_name not in VARIANTS:
        raise ValueError(f"model_name {model_name!r} is not a MnasNet variant: expected one of "
                         f"{', '.join(VARIANTS)} (or give an architecture string in arch)")
    job_settings = settings.parse_strings(TrainJob, values)
    if job_settings["pretrained"] and arch:
        raise ValueError("pretrained needs model_name (ImageNet weights exist for the named variants), "
                         "not an architecture string in arch")
    config = train_config(settings.parse_strings(TrainConfig, values), data_folder)
    if config.freeze_backbone and not job_settings["pretrained"]:
        raise ValueError("freeze_backbone needs pretrained=True: freezing a random backbone would train "
                         "a classifier on random features")
    return settings.build(TrainJob, dict(data=data_folder, model=arch or model_name, config=config,
                                         output_folder=values["output_folder"].strip(), **job_settings))


class TrainMnasnetParam(CheckedParams):
    """Parameters of train_mnasnet, as strings (see `mnas_ikomia.params`)."""

    task_name = PLUGIN_NAME
    defaults = DEFAULTS
    old_names = {**settings.old_names(TrainJob), **settings.old_names(TrainConfig)}
    check = staticmethod(job_from_values)


TrainMnasnetParamFactory = param_factory(TrainMnasnetParam)


def metric_key(text: str) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces."""
    return re.sub(r"[^\w\-./ ]", "_", text)


class TrainMnasnet(FolderTrainTask):
    """Trains on the dataset folder of input 0; writes model.pth + classes.txt for infer_mnasnet."""

    param_class = TrainMnasnetParam
    folder_layout = "train/<class>/ (and optionally val/<class>/)"

    def __init__(self, name, param):
        FolderTrainTask.__init__(self, name, param)
        # chaining: input 1, an architecture file (search_mini's output 2) that replaces `arch` when set;
        # output 0, the model file written (infer_mnasnet's model file input)
        self.add_input(dataprocess.CPathIO(core.IODataType.FILE_PATH))
        self.add_output(dataprocess.CPathIO(core.IODataType.FILE_PATH))
        self.outcome = None  # the last run's mnas.train_job.JobResult

    def get_progress_steps(self):
        try:
            return int(self.get_param_object().cfg["epochs"])
        except (ValueError, KeyError):
            return 1

    def work(self, folder: str) -> None:
        self.outcome = None
        job = job_from_values(self._values_with_chained_arch(), folder)
        self.start_progress(PLUGIN_NAME, "epoch")
        self._report_resumed_epochs(job)
        self.outcome = run_training_job(job, on_epoch_end=self._on_epoch_end, should_stop=self.should_stop)
        self._log_outcome(self.outcome)
        self.get_output(0).set_path(str(self.outcome.files.get("model", "")))

    def _values_with_chained_arch(self) -> dict[str, str]:
        """The parameters, `arch` replaced by the architecture file of input 1 when one is connected."""
        values = dict(self.get_param_object().get_values())
        arch_file = self.get_input(1).get_path() if self.get_input_count() > 1 else ""
        if arch_file:
            path = Path(arch_file)
            if not path.is_file():
                raise FileNotFoundError(f"input 1 (architecture file) {arch_file!r} does not exist: expected "
                                        "the file search_mini writes as its output 2")
            values["arch"] = path.read_text(encoding="utf-8").strip()
            logger.info("%s: architecture from %s", PLUGIN_NAME, arch_file)
        return values

    def _report_resumed_epochs(self, job) -> None:
        """Progress for the epochs a resumed run already has, so the bar still ends at 100 %."""
        if not job.resume:
            return
        checkpoint = expand_folder(job.output_folder) / CHECKPOINT_DIR_NAME / CHECKPOINT_NAME
        if checkpoint.is_file():
            for epoch in range(1, min(load_checkpoint(checkpoint)["epoch"], job.config.epochs) + 1):
                self.step_progress(f"epoch {epoch}: finished before, resumed")

    def _on_epoch_end(self, stats) -> None:
        self.log_metrics(stats.metrics(), step=stats.epoch)
        self.step_progress(f"epoch {stats.epoch}: validation top-1 {stats.top1:.3f}, loss {stats.val_loss:.4f}")

    def _log_outcome(self, outcome) -> None:
        result = outcome.result
        if not result.history:
            logger.warning("%s: stopped before the first epoch ended: nothing written", PLUGIN_NAME)
            return
        last_epoch = result.history[-1].epoch
        self.log_metrics({metric_key(f"class_top1/{name}"): accuracy
                          for name, accuracy in result.per_class_accuracy.items()}, step=last_epoch)
        self.log_metrics({"skipped_files": outcome.skipped_files}, step=last_epoch)
        for path in outcome.files.values():
            self.log_artifact(str(path))
        logger.info("%s: %s after %d epoch(s): top-1 %.2f%%; model file %s", PLUGIN_NAME,
                    "stopped" if result.stopped else "finished", last_epoch, 100 * result.final.top1,
                    outcome.files["model"])


TrainMnasnetFactory = task_factory(
    TrainMnasnet, name=PLUGIN_NAME, algo_type=core.AlgoType.TRAIN,
    short_description="Train or fine-tune any MnasNet (named variant or searched architecture)",
    description=one_line("""
        Trains a MnasNet classifier on a folder dataset (train/<class>/*, val/<class>/*): a named
        variant (MnasNet-B1 x0.5 to x1.3, A1, small) from scratch or from torchvision's ImageNet
        weights, or any architecture string found by search_mini. SGD or RMSProp, cosine or step
        schedule with warm-up, label smoothing, augmentation fitted to the input size, a checkpoint
        every epoch and exact resume. Writes a model file that infer_mnasnet loads as it is."""),
    keywords="mnasnet,nas,mobile,classification,training,fine-tuning,pytorch,mlflow")
