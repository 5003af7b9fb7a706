"""A whole training job, folder in, model files out: what train_mnasnet and ``python -m mnas train`` run.

``run_training_job(job, *, on_epoch_end=None, should_stop=None) -> JobResult``

1. Checks everything before any training: the dataset folder's layout and class sets
   (`mnas.data.folders.find_dataset_splits`: train/ with val/ or test/, train/ alone, or a flat folder of class
   folders; without a val/ or test/ the validation images are held out of the training ones, per class,
   seeded by ``seed``, ``val_fraction`` of them), the architecture (built, so a bad arch string fails here), the
   pretrained / freeze combination, the output folder (a writable folder; one that already holds a run
   needs ``resume`` or ``overwrite``; a resumed run keeps its checkpoint's settings). Nothing is written
   before these checks pass, nor before the images are decoded (unreadable files skipped and counted; an
   error when a class has none left). When the decoded images would take more than the memory budget
   (``memory_budget_gb``; by default half of the memory available), nothing is decoded up front: the
   images stream from their files, decoded batch by batch in worker processes (`mnas.data.stream`), with the
   same batches, augmentation, resume and metrics. Then it takes the output folder's lock (`mnas.utils.locks`: a second
   run on the folder is refused, leftover temporary files of a killed run are removed).
2. Trains with `mnas.train.engine.train`, a checkpoint per epoch in ``<output_folder>/checkpoints/last.pt``
   (``resume`` continues from it; ``overwrite`` first deletes the previous run's files), on
   ``config.device`` (auto: CUDA when available; an unavailable device is refused in step 1).
   batch_size and learning_rate left to "auto" take `mnas.train.config.auto_defaults` (fine-tuning values when
   ``pretrained``), said in the log and recorded (``JobResult.auto_values``, the files' metadata).
3. Writes, each file atomically (complete or absent, never half-written): ``model.pth`` (an
   `mnas.weights.model_file` model file: architecture string, class names, input size, mean/std, training
   metadata: all ``infer_mnasnet`` needs), with ``keep_best`` (the default) the epoch of the best
   validation top-1 (`mnas.train.engine.is_better`) and ``last.pth`` the last epoch, the choice recorded in both
   files' metadata and history.json (``kept_epoch``, ``best_epoch``); ``classes.txt``, ``history.json``,
   ``curves.png``, ``split.json`` (which images validated: a folder, or the held-out files), with
   ``export_onnx`` ``model.onnx`` (dynamic batch, input ``input`` N x 3 x S x S, output ``logits``) of
   model.pth, and ``evaluation/`` (`mnas.evaluation.report`: confusion matrix, per-class precision / recall /
   F1, top-1 / top-5 with Wilson intervals) of model.pth on test/ when the dataset has one beside val/
   (images training never saw), else on the validation images, which then also chose the epoch (said
   in the report). A run stopped before its first epoch ends writes no model.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Callable

from mnas import settings
from mnas.data.decode import dataset_fingerprint, load_split
from mnas.data.folders import FLAT, DatasetSplits, ImageDataset, find_dataset_splits
from mnas.data.splits import DEFAULT_VAL_FRACTION, load_folder_dataset
from mnas.data.stream import decoded_bytes, list_folder_dataset, memory_budget_bytes
from mnas.evaluation.report import REPORT_FILES
from mnas.models import VARIANTS, canonical_model_name
from mnas.preprocess import image_header
from mnas.runtime import export_onnx
from mnas.settings import check_values, setting
from mnas.train.augment import SMALL_INPUT_MAX
from mnas.train.checkpoint import CHECKPOINT_NAME, check_resume_config, load_checkpoint
from mnas.train.config import TrainConfig, auto_defaults
from mnas.train.engine import BEST_CHECKPOINT_NAME, EpochStats, TrainResult, seed_everything, steps_per_epoch, train
from mnas.utils.device import resolve_device
from mnas.utils.fileio import atomic_path, atomic_write_text
from mnas.utils.locks import check_not_busy, check_output_folder, expand_folder, output_folder_lock, unique_run_folder
from mnas.utils.paths import output_root
from mnas.weights.loading import build_model

logger = logging.getLogger(__name__)

MODEL_FILE_NAME = "model.pth"
LAST_MODEL_FILE_NAME = "last.pth"    # keep_best: the last epoch, beside model.pth (the best)
SPLIT_FILE_NAME = "split.json"
EVALUATION_DIR_NAME = "evaluation"
CLASS_FILE_NAME = "classes.txt"
ONNX_FILE_NAME = "model.onnx"
HISTORY_FILE_NAME = "history.json"
CURVES_FILE_NAME = "curves.png"
CHECKPOINT_DIR_NAME = "checkpoints"
DATASET_FILE_NAME = f"{CHECKPOINT_DIR_NAME}/dataset.json"  # the fingerprint of the images the run trains on
SMALL_IMAGE_INPUT_SIZE, PHOTO_INPUT_SIZE = 32, 224  # input_size "auto" (default_input_size)


@dataclasses.dataclass
class TrainJob:
    """What to train on what, and where the results go (the job's own settings declared for every
    surface with `mnas.settings`, as `TrainConfig`'s are)."""

    data: str                          # <data>/train/<class>/* (+ val/ or test/), or <data>/<class>/*
    model: str = "mnasnet0_5"          # a named variant or an architecture string (mnas.arch)
    output_folder: str = ""            # empty: a new folder under mnas.utils.paths.output_root()
    config: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    pretrained: bool = setting(False, "start from the published ImageNet weights of the named model "
                               "(torchvision's for B1, timm's for A1 and small; downloaded when missing unless "
                               "MNAS_OFFLINE=1); the classifier is replaced for the dataset's classes",
                               label="ImageNet weights", aliases=("use_pretrained",))
    export_onnx: bool = setting(False, "also write model.onnx (dynamic batch axis) beside model.pth",
                                label="Export ONNX")
    resume: bool = setting(False, "continue the run in the output folder from its checkpoint instead of "
                           "starting over")
    overwrite: bool = setting(False, "replace the run already in the output folder (its files are deleted); "
                              "without it, or resume, a folder holding a run is refused")
    keep_best: bool = setting(True, "model.pth holds the epoch with the best validation top-1 (ties: the lower "
                              "validation loss) and last.pth the last epoch; off: model.pth is the last epoch",
                              label="Keep the best epoch")
    val_fraction: float | None = setting(
        None, "share of the training images (train/, or a flat folder of class folders) held out for "
        f"validation, per class, seeded by seed; auto: the dataset's val/ (or test/) folder when present, else "
        f"{DEFAULT_VAL_FRACTION:g}", label="Validation fraction", kind="number", minimum=0.0, minimum_excluded=True,
        maximum=1.0, maximum_excluded=True, step=0.05, decimals=2, special="auto", special_default=True)
    limit_per_class: int | None = None  # quick subsets: first N training images per class
    cache_dir: str | None = None
    memory_budget_gb: float | None = setting(
        None, "when the decoded images would take more, they are streamed from their files, decoded by "
        "worker processes while training; auto: half of the memory available", label="Memory budget (GB)",
        kind="number", minimum=0.0, minimum_excluded=True, maximum=4096.0, step=1.0, decimals=1, special="auto",
        special_default=True)
    # the settings left to "auto" and what they became (user-facing name -> value; `auto_choices`)
    auto_values: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_values(self)
        self.model = canonical_model_name(self.model)  # the Ikomia HUB's "mnasnet" is mnasnet1_0


@dataclasses.dataclass
class JobResult:
    output_folder: Path
    result: TrainResult
    files: dict[str, Path]              # name -> path of every file written
    num_train: int
    num_val: int
    skipped_files: int
    streamed: bool = False              # images decoded batch by batch (over the memory budget)
    evaluation: dict | None = None      # the report of model.pth (`mnas.evaluation.report.build_report`)
    auto_values: dict = dataclasses.field(default_factory=dict)  # settings left to auto -> their values




def default_input_size(data: str | os.PathLike) -> int:
    """input_size "auto": 32 px when the dataset's first training image is CIFAR-scale (at most
    `SMALL_INPUT_MAX` px on its longer side), else 224 (photos, and before the dataset is known)."""
    if not str(data) or not Path(data).is_dir():
        return PHOTO_INPUT_SIZE
    train_dir = Path(data) / "train" if (Path(data) / "train").is_dir() else Path(data)  # or a flat folder
    for class_dir in sorted(p for p in train_dir.iterdir() if p.is_dir()):
        for path in sorted(p for p in class_dir.iterdir() if not p.name.startswith(".")):
            try:
                header = image_header(path)  # the header only, of regular files only (a FIFO never answers)
            except (OSError, ValueError):
                continue  # not an image: the data checks report it
            return SMALL_IMAGE_INPUT_SIZE if max(header.width, header.height) <= SMALL_INPUT_MAX else PHOTO_INPUT_SIZE
    return PHOTO_INPUT_SIZE


def auto_choices(fields: dict, data: str | os.PathLike = "", *, pretrained: bool = False) -> dict:
    """Field -> value of each setting of `fields` (user settings, field -> value) left to "auto" (None, or
    absent for those whose surfaces default to auto): input_size `default_input_size(data)`, batch_size
    and lr `mnas.train.config.auto_defaults(pretrained)`. A value the user gave always stays."""
    rules = {"input_size": lambda: default_input_size(data), **{
        field: (lambda value=value: value) for field, value in auto_defaults(pretrained).items()}}
    return {field: rule() for field, rule in rules.items() if fields.get(field) is None}


def train_config(fields: dict, data: str | os.PathLike = "", *, pretrained: bool = False) -> TrainConfig:
    """The `TrainConfig` of user settings (field -> value, `mnas.settings`), each one left to "auto"
    decided by `auto_choices`. A `ValueError` names the setting as the user knows it."""
    return settings.build(TrainConfig, {**fields, **auto_choices(fields, data, pretrained=pretrained)})


def auto_values_named(chosen: dict) -> dict:
    """`auto_choices`' fields under their user-facing names (the same since the fields were renamed)."""
    names = {s.field: s.name for s in settings.settings_of(TrainConfig)}
    return {names.get(field, field): value for field, value in chosen.items()}


def describe_auto_values(values: dict, pretrained: bool) -> str:
    """What "auto" became and why: "input_size 224 (the dataset's images), batch_size 8, learning_rate
    0.001 (fine-tuning ImageNet weights: the Ikomia HUB's defaults)"."""
    parts = []
    if "input_size" in values:
        parts.append(f"input_size {values['input_size']} (from the size of the dataset's images)")
    rest = [f"{name} {value:g}" for name, value in values.items() if name != "input_size"]
    if rest:
        why = "fine-tuning ImageNet weights: the Ikomia HUB's defaults" if pretrained else "training from scratch"
        parts.append(", ".join(rest) + f" ({why})")
    return ", ".join(parts)


# Every file a training run writes into its output folder (overwrite deletes exactly these).
RUN_FILES = (MODEL_FILE_NAME, LAST_MODEL_FILE_NAME, CLASS_FILE_NAME, ONNX_FILE_NAME, HISTORY_FILE_NAME,
             CURVES_FILE_NAME, SPLIT_FILE_NAME, f"{CHECKPOINT_DIR_NAME}/{CHECKPOINT_NAME}",
             f"{CHECKPOINT_DIR_NAME}/{BEST_CHECKPOINT_NAME}",
             *(f"{EVALUATION_DIR_NAME}/{name}" for name in REPORT_FILES))


def _output_folder(job: TrainJob) -> Path | None:
    """The job's output folder, ``~`` expanded; None: a new unique folder, made once the checks pass."""
    if job.output_folder.strip():
        return expand_folder(job.output_folder)
    if job.resume:
        raise ValueError("resume needs output_folder: the folder of the run to continue (its "
                         f"{CHECKPOINT_DIR_NAME}/last.pt)")
    return None


def check_previous_run(output: Path, job: TrainJob) -> None:
    """A folder holding a run is continued (resume) or replaced (overwrite), never silently reused."""
    if job.resume and job.overwrite:
        raise ValueError("resume and overwrite exclude each other: resume continues the run in "
                         "output_folder, overwrite replaces it")
    checkpoint = output / CHECKPOINT_DIR_NAME / CHECKPOINT_NAME
    if job.resume:
        if not checkpoint.is_file():
            raise FileNotFoundError(f"resume: no checkpoint {CHECKPOINT_DIR_NAME}/{CHECKPOINT_NAME} in "
                                    f"output_folder {str(output)!r}")
        check_resume_config(load_checkpoint(checkpoint), job.config, checkpoint)
        check_same_dataset(output, job)
        return
    found = [name for name in RUN_FILES if (output / name).is_file()]
    if found and not job.overwrite:
        raise ValueError(f"output folder {str(output)!r} already holds a training run "
                         f"({', '.join(found)}): continue it with resume (--resume), replace it with "
                         "overwrite (--overwrite), or choose another output folder")


def _delete_previous_run(output: Path) -> None:
    for name in (*RUN_FILES, DATASET_FILE_NAME):
        (output / name).unlink(missing_ok=True)


def check_same_dataset(output: Path, job: TrainJob) -> None:
    """A resumed run trains on the images it started with: history.json and the model file name one
    dataset for the whole run. A run from before fingerprints were recorded cannot be checked."""
    path = output / DATASET_FILE_NAME
    if not path.is_file():
        logger.warning("resume: %s has no %s (written by an older version): the dataset cannot be checked",
                       output, DATASET_FILE_NAME)
        return
    recorded = json.loads(path.read_text(encoding="utf-8"))
    current = dataset_fingerprint(job.data, job.limit_per_class)
    if current["sha256"] != recorded.get("sha256"):
        raise ValueError(f"resume: the run in {str(output)!r} was trained on {_describe(recorded)} but data "
                         f"is now {_describe(current)}: other files (names or sizes differ); resume on the "
                         "same dataset, or train into another output folder")


def _describe(fingerprint: dict) -> str:
    counts = ", ".join(f"{split} {count}" for split, count in fingerprint.get("files", {}).items())
    return f"{fingerprint.get('folder')!r} ({counts} files, fingerprint {str(fingerprint.get('sha256'))[:12]})"


def check_job(job: TrainJob, output: Path | None):
    """Every check that needs no decoding, nothing written; returns the model to train.

    `output` None stands for a new folder (nothing to check there).
    """
    splits = find_dataset_splits(job.data)
    resolve_device(job.config.device)  # a GPU asked for and missing: refused before hours of decoding
    memory_budget_bytes(job.memory_budget_gb)  # a bad budget is refused here too
    if output is not None:
        check_output_folder(output)
        check_not_busy(output, "training")  # "in use by <holder>" says more than what the holder has written
        check_previous_run(output, job)
    config = job.config
    return build_model(job.model, len(splits.class_names), config.input_size,
                       pretrained=job.pretrained, freeze_backbone=config.freeze_backbone)


@dataclasses.dataclass
class JobData:
    """What a job trains, validates and reports on: in memory, or file lists streamed (`mnas.data.stream`)."""

    train: ImageDataset
    val: ImageDataset
    splits: DatasetSplits
    test: ImageDataset | None = None    # test/ beside val/: the final evaluation's images


def _load_data(job: TrainJob) -> JobData:
    """Decoded into memory when that fits the budget; else the file lists, streamed while training."""
    from mnas.data.stream import list_split

    size = job.config.input_size
    train_files, val_files, splits = list_folder_dataset(job.data, image_size=size, val_fraction=job.val_fraction,
                                                         limit_per_class=job.limit_per_class, seed=job.config.seed)
    test_files = (list_split(splits.test_dir, splits.class_names, size, job.limit_per_class)
                  if splits.test_dir is not None else None)
    images = len(train_files) + len(val_files) + (len(test_files) if test_files is not None else 0)
    needed, budget = decoded_bytes(images, size), memory_budget_bytes(job.memory_budget_gb)
    if needed > budget:
        logger.info("the decoded images would take %.2f GB, over the memory budget of %.2f GB: streaming "
                    "them from their files", needed / 1e9, budget / 1e9)
        return JobData(train_files, val_files, splits, test_files)
    train_set, val_set, splits = load_folder_dataset(
        job.data, image_size=size, val_fraction=job.val_fraction, limit_per_class=job.limit_per_class,
        seed=job.config.seed, cache_dir=job.cache_dir)
    test_set = (load_split(splits.test_dir, classes=splits.class_names, limit_per_class=job.limit_per_class,
                           image_size=size, cache_dir=job.cache_dir) if splits.test_dir is not None else None)
    return JobData(train_set, val_set, splits, test_set)


def run_training_job(job: TrainJob, *, on_epoch_end: Callable[[EpochStats], None] | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     on_step: Callable[[int], None] | None = None,
                     on_ready: Callable[[int], None] | None = None) -> JobResult:
    """Check, train, write the outputs (see the module docstring).

    `on_ready(steps_per_epoch)` is called once the checks passed, before the first step.
    """
    output = _output_folder(job)
    seed_everything(job.config.seed)  # weight initialisation
    model = check_job(job, output)
    data = _load_data(job)  # decoded before anything is written (a dataset error leaves no trace)
    if output is None:
        output = unique_run_folder(output_root(), job.model if job.model in VARIANTS else "arch")
    with output_folder_lock(output, "training") as output:
        check_previous_run(output, job)  # again under the lock: another run may have finished meanwhile
        if job.overwrite:
            _delete_previous_run(output)
        fingerprint = _record_dataset(output, job)
        return _train_into(output, job, model, data, on_epoch_end, should_stop, on_step, on_ready, fingerprint)


def _record_dataset(output: Path, job: TrainJob) -> dict:
    """The dataset's fingerprint, written for a new run; a resumed one keeps (and was checked against)
    the fingerprint of the run's start."""
    path = output / DATASET_FILE_NAME
    if job.resume and path.is_file():
        check_same_dataset(output, job)  # again under the lock: the folder may have changed meanwhile
        return json.loads(path.read_text(encoding="utf-8"))
    fingerprint = dataset_fingerprint(job.data, job.limit_per_class)
    atomic_write_text(path, json.dumps(fingerprint, indent=2))
    return fingerprint


def _train_into(output: Path, job: TrainJob, model, data: JobData, on_epoch_end, should_stop, on_step, on_ready,
                fingerprint: dict) -> JobResult:
    train_set, val_set = data.train, data.val
    logger.info("training %s on %d images (%d classes), validating on %d%s; %d unreadable file(s) skipped",
                model.arch, len(train_set), train_set.num_classes, len(val_set),
                " held out of them" if _held_out(job, data.splits) else "",
                len(train_set.skipped) + len(val_set.skipped))
    if job.auto_values:
        logger.info("settings left to auto: %s", describe_auto_values(job.auto_values, job.pretrained))
    if on_ready is not None:
        on_ready(steps_per_epoch(len(train_set), job.config.batch_size))
    result = train(model, train_set, val_set, job.config, on_epoch_end=on_epoch_end,
                   should_stop=should_stop, on_step=on_step, checkpoint_dir=output / CHECKPOINT_DIR_NAME,
                   resume=job.resume, keep_best=job.keep_best)
    outcome = JobResult(output, result, {}, len(train_set), len(val_set),
                        len(train_set.skipped) + len(val_set.skipped), not isinstance(train_set, ImageDataset),
                        auto_values=dict(job.auto_values))
    if result.history:
        outcome.files = write_outputs(output, model, job, result, train_set, fingerprint)
        outcome.files["split"] = write_split_record(output / SPLIT_FILE_NAME, job, data)
        outcome.evaluation, evaluation_files = evaluate_model_file(output, model, job, result, data)
        outcome.files.update(evaluation_files)
    return outcome


def _held_out(job: TrainJob, splits: DatasetSplits) -> bool:
    """The validation images are carved out of the training folder (no val/ or test/, or val_fraction)."""
    return splits.val_dir is None or job.val_fraction is not None


def write_split_record(path: Path, job: TrainJob, data: JobData) -> Path:
    """split.json: which images trained and which validated (the held-out files by name, relative to the
    dataset folder, with the fraction and seed that chose them), and what the evaluation is on."""
    from mnas.evaluation.report import relative_files

    splits = data.splits
    held_out = _held_out(job, splits)

    def counts(dataset) -> dict:
        return dict(zip(dataset.class_names, dataset.class_counts()))

    validation = {"images": len(data.val), "per_class": counts(data.val)}
    if held_out:
        validation.update(source=f"held out of {'the flat folder' if splits.layout == FLAT else 'train/'}, per class",
                          fraction=job.val_fraction if job.val_fraction is not None else DEFAULT_VAL_FRACTION,
                          seed=job.config.seed, files=relative_files(data.val.files, splits.root))
    else:
        validation["source"] = f"{splits.val_dir.name}/"
    record = {"dataset": str(splits.root.resolve()), "layout": splits.layout,
              "train": {"images": len(data.train), "per_class": counts(data.train)}, "validation": validation,
              "evaluation": f"{splits.test_dir.name}/" if data.test is not None else "validation"}
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    return path


def evaluate_model_file(output: Path, model, job: TrainJob, result: TrainResult, data: JobData):
    """The report of the model model.pth holds (`mnas.evaluation.report`), written into ``output/evaluation/``:
    on test/ when the dataset has it beside val/, else on the validation images (their predictions are
    those of the epoch's own validation). Returns (report, name -> path)."""
    from mnas.evaluation.report import predict, report_for, write_report

    config, splits = job.config, data.splits
    epoch = result.returned_epoch
    about = {"file": str(output / MODEL_FILE_NAME), "arch": model.arch, "epoch": epoch,
             "kept": "best" if job.keep_best else "last", "input_size": config.input_size}
    if data.test is not None:
        evaluated = predict(model, data.test, input_size=config.input_size, mean=config.mean, std=config.std,
                            device=config.device, batch_size=config.eval_batch_size, workers=config.decode_workers)
        dataset = data.test
        where = {"folder": str(splits.root.resolve()), "split": f"{splits.test_dir.name}/",
                 "note": "test images: training neither trained nor chose its epoch on them"}
    else:
        evaluated, dataset = result.final, data.val
        if evaluated.topk is None:  # keep_best off: the last epoch's validation kept no predictions
            evaluated = predict(model, dataset, input_size=config.input_size, mean=config.mean, std=config.std,
                                device=config.device, batch_size=config.eval_batch_size,
                                workers=config.decode_workers)
        chose = (" The same images chose the epoch (model.pth = the best on them): the figures are optimistic; "
                 "a test/ folder beside val/ gets an unbiased report." if job.keep_best else "")
        where = {"folder": str(splits.root.resolve()),
                 "split": "validation, held out of the training images" if _held_out(job, splits)
                 else f"validation ({splits.val_dir.name}/)",
                 "note": "validation images: not trained on." + chose}
    report = report_for(evaluated, dataset.class_names, dataset.files, data=where, model=about)
    title = f"{job.model if job.model in VARIANTS else 'architecture'} epoch {epoch} on {where['split'].split(',')[0]}"
    files = write_report(report, output / EVALUATION_DIR_NAME, title=title)
    return report, {f"evaluation/{name}": path for name, path in files.items()}


def write_outputs(output: Path, model, job: TrainJob, result: TrainResult,
                  train_set: ImageDataset, fingerprint: dict | None = None) -> dict[str, Path]:
    from mnas.weights.classes import write_class_file
    from mnas.weights.model_file import save_model_file

    config = job.config
    last = result.history[-1]
    best = result.history[result.best_epoch - 1] if result.best_epoch else None
    metadata = {
        "trained_on": str(Path(job.data).resolve()), "dataset": fingerprint, "model": job.model,
        "pretrained": job.pretrained,
        "device": str(resolve_device(config.device)),
        "pretrained_weights": getattr(model, "pretrained_metadata", None),
        "epochs_done": last.epoch, "stopped": result.stopped,
        "kept": "best" if job.keep_best else "last", "kept_epoch": result.returned_epoch,
        "best_epoch": best.epoch if best else None,
        "selection": "highest validation top-1, ties broken by the lower validation loss" if job.keep_best else
                     "the last epoch",
        "val_top1": result.final.top1, "val_top5": result.final.top5,
        "per_class_accuracy": result.per_class_accuracy,
        "auto_settings": dict(job.auto_values),
        "config": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in dataclasses.asdict(config).items()},
    }
    model.eval()
    common = dict(class_names=train_set.class_names, input_size=config.input_size, mean=config.mean, std=config.std)
    files = {"model": save_model_file(output / MODEL_FILE_NAME, model, metadata=metadata, **common)}
    if job.keep_best:  # last.pth: the last epoch (the same weights as model.pth when it was the best)
        last_model = model
        if result.last_state is not None:
            last_model = copy.deepcopy(model)
            last_model.load_state_dict(result.last_state)
        last_metadata = {**metadata, "kept": "last", "kept_epoch": last.epoch, "val_top1": result.last.top1,
                         "val_top5": result.last.top5,
                         "per_class_accuracy": dict(zip(train_set.class_names, result.last.per_class_accuracy))}
        files["last_model"] = save_model_file(output / LAST_MODEL_FILE_NAME, last_model, metadata=last_metadata,
                                              **common)
    files["classes"] = write_class_file(output / CLASS_FILE_NAME, train_set.class_names)
    history = {"history": [dataclasses.asdict(h) for h in result.history], **metadata}
    atomic_write_text(output / HISTORY_FILE_NAME, json.dumps(history, indent=2))
    files["history"] = output / HISTORY_FILE_NAME
    files["curves"] = plot_training_curves(result.history, output / CURVES_FILE_NAME, title=job.model[:60],
                                           kept_epoch=result.best_epoch)
    if job.export_onnx:
        export_onnx(model, config.input_size, output / ONNX_FILE_NAME, model.in_channels)
        files["onnx"] = output / ONNX_FILE_NAME
    return files


def plot_training_curves(history: list[EpochStats], path: Path, title: str = "",
                         kept_epoch: int | None = None) -> Path:
    """Loss and accuracy per epoch of a training run as a PNG (matplotlib Agg), written atomically;
    `kept_epoch` (keep_best) is marked."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left as it is

    epochs = [h.epoch for h in history]
    figure = Figure(figsize=(9, 3.5))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    loss_axes.plot(epochs, [h.train_loss for h in history], "o-", label="train")
    loss_axes.plot(epochs, [h.val_loss for h in history], "o-", label="validation")
    loss_axes.set(xlabel="epoch", ylabel="loss", title="loss")
    loss_axes.legend()
    accuracy_axes.plot(epochs, [100 * h.top1 for h in history], "o-", label="top-1")
    accuracy_axes.plot(epochs, [100 * h.top5 for h in history], "o-", label="top-5")
    if kept_epoch is not None:
        kept = history[kept_epoch - 1]
        accuracy_axes.plot([kept.epoch], [100 * kept.top1], "k*", markersize=12,
                           label=f"kept: epoch {kept.epoch}")
    accuracy_axes.set(xlabel="epoch", ylabel="validation accuracy (%)", title="accuracy")
    accuracy_axes.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return path
