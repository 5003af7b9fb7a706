"""train_mnasnet: train or fine-tune any MnasNet on a folder dataset, logging to MLflow and TensorBoard
the Ikomia way.

A thin adapter: parameters (strings) -> `mnas.train.job.TrainJob`; `mnas.train.job.run_training_job`
does the work; each finished epoch is logged (`log_metrics`, and TensorBoard event files through
`mnas_ikomia.tracking.TensorBoardLog`) and reported (`emit_step_progress`). Input 0 is the dataset
folder (``<root>/train/<class>/*``, optional ``<root>/val/<class>/*``; or a flat ``<root>/<class>/*``).

Outputs: 0 the model file (model.pth: the best epoch on validation), 1 the per-class table (precision,
recall, F1, images; macro and weighted averages), 2 top-1 / top-5 with their 95 % Wilson intervals and
the number of images, 3 the confusion matrix, 4 the whole evaluation report as a dict (`mnas.evaluation.report`).
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

from ikomia import core, dataprocess
from ikomia.dataprocess.io.datadictIO import DataDictIO

from mnas import settings
from mnas.arch import parse_arch
from mnas.data.folders import IMAGE_CHANNELS
from mnas.models import MODEL_NAME_ALIASES, VARIANTS, canonical_model_name
from mnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.train.config import TrainConfig
from mnas.train.job import (
    CHECKPOINT_DIR_NAME,
    EVALUATION_DIR_NAME,
    TrainJob,
    auto_choices,
    auto_values_named,
    describe_auto_values,
    run_training_job,
)
from mnas.utils.locks import expand_folder
from mnas_ikomia.folder_train_task import FolderTrainTask, progress_logger
from mnas_ikomia.params import CheckedParams, param_factory, parse_bool
from mnas_ikomia.task_info import one_line, task_factory
from mnas_ikomia.tracking import TensorBoardLog

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
    model_name = canonical_model_name(values["model_name"].strip())
    if arch:
        parse_arch(arch, image_channels=IMAGE_CHANNELS)  # ArchStringError names the block and token
    elif model_name not in VARIANTS:
        raise ValueError(f"model_name {model_name!r} is not a MnasNet variant: expected one of "
                         f"{', '.join(VARIANTS)} (or give an architecture string in arch)")
    job_settings = settings.parse_strings(TrainJob, values)
    if job_settings["pretrained"] and arch:
        raise ValueError("pretrained needs model_name (ImageNet weights exist for the named variants), "
                         "not an architecture string in arch")
    fields = settings.parse_strings(TrainConfig, values)
    chosen = auto_choices(fields, data_folder, pretrained=job_settings["pretrained"])  # a value given stays
    config = settings.build(TrainConfig, {**fields, **chosen})
    if config.freeze_backbone and not job_settings["pretrained"]:
        raise ValueError("freeze_backbone needs pretrained=True: freezing a random backbone would train "
                         "a classifier on random features")
    return settings.build(TrainJob, dict(data=data_folder, model=arch or model_name, config=config,
                                         output_folder=values["output_folder"].strip(),
                                         auto_values=auto_values_named(chosen), **job_settings))


def hub_export_pth(value: str, given, current) -> dict[str, str]:
    """The Ikomia HUB trainer's export_pth (save a .pth): model.pth is always written here, the model file
    infer_mnasnet loads, so True is what happens anyway and False is said not to be followed."""
    if not parse_bool(value, "export_pth"):
        warnings.warn(f"{PLUGIN_NAME}: export_pth=False is not followed: model.pth is always written (it is "
                      "the model file infer_mnasnet loads; export_onnx adds model.onnx beside it)", UserWarning,
                      stacklevel=2)
    return {}


class TrainMnasnetParam(CheckedParams):
    """Parameters of train_mnasnet, as strings (see `mnas_ikomia.params`); the Ikomia HUB trainer's
    names (use_pretrained, feature_extract, export_pth, model_name "mnasnet") are read with their HUB
    meaning."""

    task_name = PLUGIN_NAME
    defaults = DEFAULTS
    old_names = {**settings.old_names(TrainJob), **settings.old_names(TrainConfig)}
    aliases = {**settings.aliases(TrainJob), **settings.aliases(TrainConfig)}
    value_aliases = {"model_name": MODEL_NAME_ALIASES}
    hub_only = {"export_pth": hub_export_pth}
    elsewhere = dict.fromkeys(
        ("model_path", "model_weight_file", "class_file", "classes_path", "dataset"),
        "an infer_mnasnet parameter: train_mnasnet trains model_name, from its ImageNet weights with "
        "pretrained, or arch, and writes the model file infer_mnasnet takes as model_weight_file")
    check = staticmethod(job_from_values)


TrainMnasnetParamFactory = param_factory(TrainMnasnetParam)


def metric_key(text: str) -> str:
    """MLflow metric names allow letters, digits, _ - . / and spaces."""
    return re.sub(r"[^\w\-./ ]", "_", text)


class TrainMnasnet(FolderTrainTask):
    """Trains on the dataset folder of input 0; writes model.pth + classes.txt for infer_mnasnet."""

    param_class = TrainMnasnetParam
    folder_layout = "train/<class>/ (and optionally val/<class>/), or <class>/ folders"

    def __init__(self, name, param):
        FolderTrainTask.__init__(self, name, param)
        # chaining: input 1, an architecture file (search_mini's output 2) that replaces `arch` when set;
        # output 0, the model file written (infer_mnasnet's model file input)
        self.add_input(dataprocess.CPathIO(core.IODataType.FILE_PATH))
        self.add_output(dataprocess.CPathIO(core.IODataType.FILE_PATH))
        # the evaluation of the model file: per-class table, accuracy table, confusion matrix, whole report
        for title in ("per-class precision, recall, F1", "top-1 / top-5 accuracy, 95 % Wilson interval"):
            table = dataprocess.CNumericIO(title)
            table.set_output_type(dataprocess.NumericOutputType.TABLE)
            self.add_output(table)
        self.add_output(dataprocess.CImageIO())
        self.add_output(DataDictIO())
        self.outcome = None  # the last run's mnas.train.job.JobResult
        self.tensorboard = None  # the last run's mnas_ikomia.tracking.TensorBoardLog

    def get_progress_steps(self):
        try:
            return int(self.get_param_object().cfg["epochs"])
        except (ValueError, KeyError):
            return 1

    def work(self, folder: str) -> None:
        self.outcome = None
        self._clear_outputs()
        job = job_from_values(self._values_with_chained_arch(), folder)
        self.start_progress(PLUGIN_NAME, "epoch")
        self._report_resumed_epochs(job)
        if job.auto_values:
            progress_logger.info("%s: settings left to auto: %s", PLUGIN_NAME,
                                 describe_auto_values(job.auto_values, job.pretrained))
            self.log_params({f"auto/{name}": str(value) for name, value in job.auto_values.items()})
        self.tensorboard = TensorBoardLog(PLUGIN_NAME)
        self._best_top1 = None
        try:
            self.outcome = run_training_job(job, on_epoch_end=self._on_epoch_end, should_stop=self.should_stop)
            self._log_outcome(self.outcome)
        finally:
            self.tensorboard.close()
        self.get_output(0).set_path(str(self.outcome.files.get("model", "")))
        if self.outcome.evaluation:
            self._publish_evaluation(self.outcome)

    def _clear_outputs(self) -> None:
        self.get_output(0).set_path("")
        for index in (1, 2):
            self.get_output(index).clear_data()
        self.get_output(3).clear_data()
        self.get_output(4).clear_data()

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
        self._best_top1 = stats.top1 if self._best_top1 is None else max(self._best_top1, stats.top1)
        metrics = {**stats.metrics(), "best_top1": self._best_top1}
        self.log_metrics(metrics, step=stats.epoch)
        first = self.tensorboard.log_dir is None
        self.tensorboard.scalars(metrics, stats.epoch)
        if first and self.tensorboard.log_dir is not None:  # its folder is made by the first values
            self._tag("tensorboard_logdir", str(self.tensorboard.log_dir))
        self.step_progress(f"epoch {stats.epoch}: validation top-1 {stats.top1:.3f}, loss {stats.val_loss:.4f}")

    def _tag(self, key: str, value: str) -> None:
        if self.experiment_id is not None:
            import mlflow

            mlflow.set_tag(key, value)

    def _log_outcome(self, outcome) -> None:
        result = outcome.result
        if not result.history:
            logger.warning("%s: stopped before the first epoch ended: nothing written", PLUGIN_NAME)
            return
        last_epoch = result.history[-1].epoch
        self.log_metrics({metric_key(f"class_top1/{name}"): accuracy
                          for name, accuracy in result.per_class_accuracy.items()}, step=last_epoch)
        self.log_metrics({"skipped_files": outcome.skipped_files, "kept_epoch": result.returned_epoch},
                         step=last_epoch)
        self._tag("model_file_epoch", f"{result.returned_epoch} ({'best' if result.best_epoch else 'last'} of "
                                      f"{last_epoch})")
        if outcome.evaluation:
            figures = evaluation_metrics(outcome.evaluation)
            self.log_metrics(figures, step=last_epoch)
            self.tensorboard.scalars(figures, last_epoch)
            self.tensorboard.image("evaluation/confusion_matrix", _read_png(
                outcome.files["evaluation/confusion_matrix.png"]), last_epoch)
            from mnas.evaluation.report import format_table

            table = "\n".join("    " + line for line in format_table(outcome.evaluation).splitlines())
            self.tensorboard.text("evaluation/report", f"on {outcome.evaluation['data']['split']}:\n\n{table}",
                                  last_epoch)
        for name, path in outcome.files.items():
            if not name.startswith(EVALUATION_DIR_NAME + "/"):
                self.log_artifact(str(path))
        if outcome.evaluation and self.experiment_id is not None:
            import mlflow

            mlflow.log_artifacts(str(outcome.output_folder / EVALUATION_DIR_NAME), artifact_path=EVALUATION_DIR_NAME)
        kept = f"epoch {result.best_epoch} (the best)" if result.best_epoch else "the last epoch"
        logger.info("%s: %s after %d epoch(s): model file %s holds %s, validation top-1 %.2f%%", PLUGIN_NAME,
                    "stopped" if result.stopped else "finished", last_epoch, outcome.files["model"], kept,
                    100 * result.final.top1)
        if outcome.evaluation:
            from mnas.evaluation.report import summary_line

            progress_logger.info("%s: evaluation on %s: %s", PLUGIN_NAME, outcome.evaluation["data"]["split"],
                                 summary_line(outcome.evaluation))

    def _publish_evaluation(self, outcome) -> None:
        """Outputs 1-4: the report's tables, its confusion matrix and the report itself."""
        from mnas.evaluation.report import accuracy_rows, table_columns

        report = outcome.evaluation
        for index, (rows, columns) in ((1, table_columns(report)), (2, accuracy_rows(report))):
            table = self.get_output(index)
            for header, values in columns.items():
                table.add_value_list([float(v) for v in values], header, rows)
        self.get_output(3).set_image(_read_png(outcome.files["evaluation/confusion_matrix.png"]))
        self.get_output(4).data = {key: value for key, value in report.items() if key != "predictions"} | {
            "predictions_file": str(outcome.files["evaluation/predictions.csv"])}


def evaluation_metrics(report: dict) -> dict[str, float]:
    """The report's figures as MLflow / TensorBoard metrics (evaluation/...)."""
    k = report["topk"]["k"]
    figures = {"evaluation/images": float(report["images"])}
    for key, name in (("top1", "top1"), ("topk", f"top{k}")):
        for part, field in (("", "accuracy"), ("_low", "low"), ("_high", "high")):
            figures[f"evaluation/{name}{part}"] = report[key][field]
    for kind in ("macro_average", "weighted_average"):
        for metric in ("precision", "recall", "f1"):
            figures[f"evaluation/{kind.split('_')[0]}_{metric}"] = report[kind][metric]
    for row in report["per_class"]:
        for metric in ("precision", "recall", "f1"):
            figures[metric_key(f"evaluation/{metric}/{row['class']}")] = row[metric]
    return figures


def _read_png(path: Path):
    """A PNG plot as an RGB uint8 array (an image output, a TensorBoard image)."""
    import matplotlib.image
    import numpy as np

    image = matplotlib.image.imread(str(path))[..., :3]
    return np.ascontiguousarray((image * 255).round().astype(np.uint8))


TrainMnasnetFactory = task_factory(
    TrainMnasnet, name=PLUGIN_NAME, algo_type=core.AlgoType.TRAIN,
    short_description="Train or fine-tune any MnasNet (named variant or searched architecture)",
    description=one_line("""
        Trains a MnasNet classifier on a folder dataset (train/<class>/*, val/<class>/*, or a flat
        <class>/* folder with a held-out split): a named
        variant (MnasNet-B1 x0.5 to x1.3, A1, small) from scratch or from torchvision's ImageNet
        weights, or any architecture string found by search_mini. SGD or RMSProp, cosine or step
        schedule with warm-up, label smoothing, augmentation fitted to the input size, fine-tuning
        defaults when pretrained (batch 8, lr 0.001), a checkpoint every epoch and exact resume. Keeps
        the best epoch on validation (model.pth) beside the last (last.pth), logs to MLflow and
        TensorBoard, and reports the model: confusion matrix, per-class precision / recall / F1, top-1 /
        top-5 with 95 % intervals. Writes a model file that infer_mnasnet loads as it is."""),
    keywords="mnasnet,nas,mobile,classification,training,fine-tuning,pytorch,mlflow")
