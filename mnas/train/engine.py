"""The training engine: used unchanged by train_mnasnet, ``python -m mnas train`` and the search's proxy.

API
---
``train(model, train_set, val_set, config, *, on_epoch_end=None, should_stop=None, on_step=None,
checkpoint_dir=None, resume=False, keep_best=False) -> TrainResult``
    Trains `model` in place on in-memory `mnas.data.folders.ImageDataset` s, or on
    `mnas.data.stream.FileDataset` s decoded batch by batch in worker processes (datasets larger than
    memory; the same batches). After each finished epoch it evaluates on `val_set`, writes
    ``checkpoint_dir/last.pt`` (atomic; loads with ``torch.load(..., weights_only=True)``) and calls
    ``on_epoch_end(EpochStats)``; ``on_step(step)``
    follows every step. ``should_stop()`` is polled every step: when it answers True the epoch in
    progress is abandoned, the model goes back to the last finished epoch (the checkpoint on disk is
    that epoch's) and ``TrainResult.stopped`` is True.
    ``resume=True`` continues from ``checkpoint_dir/last.pt`` exactly where it ended: model, optimizer,
    data-order and augmentation generator, global RNG (dropout) and history are restored, so a run
    stopped after epoch k and resumed ends with the same weights as an uninterrupted run.
    ``keep_best=True`` hands back the epoch with the best validation (`is_better`: higher top-1, ties
    broken by the lower validation loss) rather than the last: ``TrainResult.best_epoch``, ``final`` its
    validation result, ``last`` / ``last_state`` the last epoch's result and weights (None when the last
    is the best); ``checkpoint_dir/best.pt`` keeps the best weights across a resume.
``evaluate(model, dataset, *, input_size, ..., keep_predictions=False) -> EvalResult``
    Loss, top-1 and top-5 accuracy (fractions in 0..1) and per-class accuracy; with `keep_predictions`,
    each image's top-k classes too (``EvalResult.topk``, ``labels``), what `mnas.evaluation.report` reports on.
``TrainConfig``
    Every hyper-parameter, validated on creation (a clear error naming the field). The surfaces default
    batch_size and learning_rate to "auto", whose value depends on whether the run starts from ImageNet
    weights (`auto_defaults`: the Ikomia HUB's fine-tuning values, else the engine's from-scratch ones).
``seed_everything(seed)``
    Seeds the global RNG (weight init, dropout) before building the model.

A proxy training for the search is ``train(create_model(arch, n, 32), train_set, val_set,
SearchConfig().train_config(seed))`` followed by ``result.final.top1`` (`mnas.search.evaluate`).

Device: ``TrainConfig.device`` is auto (CUDA when torch sees a GPU), cpu, cuda or cuda:N
(`mnas.utils.device`). On CUDA the decoded images move to the GPU once when they fit in half its free memory
(else each batch is copied), steps run in mixed precision (bfloat16, or float16 with loss scaling) unless
``mixed_precision=False``, and evaluation stays float32. Every random draw (order, augmentation) comes
from one CPU generator, so a run makes the same draws on every device; checkpoints load on any device
(``map_location``), so a run written on a GPU resumes on the CPU and back. The model is handed back on
the CPU.

Beside it: `mnas.weights.loading.build_model` (a model to train, from scratch or from ImageNet weights),
`mnas.train.augment` (batches normalised and augmented), `mnas.train.checkpoint` (what a resumed run needs).

Data path: images stay uint8 N x H x W x 3 in memory; each batch is gathered, augmented and normalised
as one tensor op (no per-image Python loop, no DataLoader processes; `mnas.train.augment`). Evaluation
sees the whole image resized to `input_size` (aspect ratio not kept), as ``infer_mnasnet`` does, but
with torch's antialiased bilinear resize (`mnas.data.decode.resize_uint8`) where inference uses OpenCV
(`mnas.preprocess`): the two differ by rounding, and top-1 can differ slightly on
images stored at another size. Load the data at ``image_size=input_size`` and evaluation does no resize.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import queue
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from mnas.data.folders import ImageDataset
from mnas.data.stream import decoded_batches
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD
from mnas.train.augment import BatchPreprocessor
from mnas.train.checkpoint import CHECKPOINT_NAME, checkpoint_payload, load_checkpoint, model_device, restore
from mnas.train.config import TrainConfig
from mnas.utils.device import autocast_dtype, resolve_device
from mnas.utils.fileio import atomic_torch_save
from mnas.utils.openmp import ensure_static_teams

logger = logging.getLogger(__name__)

# The paper's RMSProp (TensorFlow): decay 0.9, momentum 0.9, epsilon 1e-3 added *inside* the square
# root. PyTorch adds epsilon outside it, so sqrt(1e-3) gives the same denominator floor.
RMSPROP_ALPHA = 0.9
RMSPROP_EPS = math.sqrt(1e-3)


class StopTraining(Exception):
    """Raised inside the step loop when `should_stop` answers True."""


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite; the message names the epoch, the step and the learning rate."""


# On CUDA the decoded images live on the GPU when they take at most this share of its free memory
DEVICE_DATA_SHARE = 0.5
BEST_CHECKPOINT_NAME = "best.pt"  # keep_best: the best epoch's weights, beside CHECKPOINT_NAME
BEST_FORMAT = "mnas-best-epoch/1"


@dataclasses.dataclass
class EvalResult:
    loss: float
    top1: float
    top5: float                          # top-k with k = min(5, classes)
    per_class_accuracy: list[float]
    num_images: int
    topk: torch.Tensor | None = None     # keep_predictions: N x k class indices, the most probable first
    labels: torch.Tensor | None = None   # keep_predictions: the N true labels


@dataclasses.dataclass
class EpochStats:
    """One finished epoch; `metrics()` gives the names logged to MLflow."""

    epoch: int                 # 1-based
    train_loss: float
    val_loss: float
    top1: float
    top5: float
    lr: float                  # at the end of the epoch
    epoch_seconds: float       # training steps plus evaluation
    images_per_second: float   # training images per second of training steps

    def metrics(self) -> dict[str, float]:
        return {"train_loss": self.train_loss, "val_loss": self.val_loss, "top1": self.top1,
                "top5": self.top5, "lr": self.lr, "epoch_time_s": self.epoch_seconds,
                "images_per_s": self.images_per_second}


@dataclasses.dataclass
class TrainResult:
    history: list[EpochStats]
    final: EvalResult | None         # the model's validation result as returned (None: no epoch done)
    class_names: list[str]
    stopped: bool = False
    best_epoch: int | None = None    # keep_best: the epoch handed back (1-based); else None
    last: EvalResult | None = None   # keep_best: the last epoch's validation result
    last_state: dict | None = None   # keep_best: the last epoch's weights (CPU) when not the best; else None

    @property
    def returned_epoch(self) -> int | None:
        """The epoch whose weights the model holds."""
        return self.best_epoch if self.best_epoch is not None else (self.history[-1].epoch if self.history else None)

    @property
    def per_class_accuracy(self) -> dict[str, float]:
        return dict(zip(self.class_names, self.final.per_class_accuracy)) if self.final else {}


# ----------------------------------------------------------------------------------------------- models

def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


def freeze_backbone(model: nn.Module) -> None:
    """Fix every parameter except the classifier's; `train` also keeps the backbone's BN in eval mode."""
    for parameter in model.features.parameters():
        parameter.requires_grad_(False)


# ------------------------------------------------------------------------------------------------- data

def _train_batches(data: "PlacedData", config: TrainConfig, prep: BatchPreprocessor,
                   generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled, augmented batches; a last batch of a single image is dropped (BN)."""
    order = torch.randperm(len(data.labels), generator=generator)
    index_batches = [index for index in order.split(config.batch_size) if len(index) >= 2]
    for index, images in zip(index_batches, decoded_batches(data.images, index_batches, config.decode_workers)):
        x = prep.train_batch(images, generator) if config.augment else prep.eval_batch(images)
        yield x, data.labels[index.to(data.labels.device)].to(prep.device, non_blocking=True)


@dataclasses.dataclass
class PlacedData:
    """A dataset's images and labels where training reads them: on the training device when they fit
    (no per-batch host copy), else in host memory (each batch copied by `BatchPreprocessor`), or files
    decoded batch by batch (`mnas.data.stream.FileImages`)."""

    images: torch.Tensor
    labels: torch.Tensor

    @classmethod
    def place(cls, dataset: ImageDataset, device: torch.device, budget_bytes: int | None = None):
        images, labels = dataset.images, dataset.labels
        if device.type == "cuda" and isinstance(images, torch.Tensor):
            budget = budget_bytes if budget_bytes is not None else int(
                DEVICE_DATA_SHARE * torch.cuda.mem_get_info(device)[0])
            if images.numel() * images.element_size() <= budget:
                images, labels = images.to(device), labels.to(device)
            else:
                logger.info("the decoded images (%.1f GB) exceed %.1f GB of GPU memory: each batch is "
                            "copied to %s", images.numel() / 1e9, budget / 1e9, device)
        return cls(images, labels)


def _prefetch(batches: Iterator, depth: int) -> Iterator:
    """Run `batches` in one background thread, `depth` batches ahead (torch ops release the GIL).

    One producer consumes the generator in order, so the batches are identical to the inline ones.
    """
    if depth < 1:
        yield from batches
        return
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    finished = object()
    cancelled = threading.Event()

    def offer(item) -> bool:
        """Put `item` unless the consumer has gone (it never blocks past a cancellation)."""
        while not cancelled.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in batches:
                if not offer(item):
                    return
            offer(finished)
        except BaseException as error:  # re-raised in the consumer
            offer(error)

    worker = threading.Thread(target=produce, name="mnas-batches", daemon=True)
    worker.start()
    try:
        while (item := buffer.get()) is not finished:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancelled.set()
        worker.join()


def steps_per_epoch(num_images: int, batch_size: int) -> int:
    full, rest = divmod(num_images, batch_size)
    return full + (1 if rest >= 2 else 0)


# ------------------------------------------------------------------------------------ optimisation

def learning_rate(config: TrainConfig, step: int, steps_in_epoch: int) -> float:
    """The learning rate at global `step` (0-based): linear warm-up, then cosine or step decay."""
    epoch = step / steps_in_epoch
    if epoch < config.warmup_epochs:
        return config.learning_rate * (step + 1) / (config.warmup_epochs * steps_in_epoch)
    after = epoch - config.warmup_epochs
    if config.schedule == "cosine":
        progress = after / (config.epochs - config.warmup_epochs)
        return config.learning_rate * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return config.learning_rate * config.lr_step_gamma ** math.floor(after / config.lr_step_epochs)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no trainable parameter")
    groups = [{"params": [p for _, p in trainable if p.ndim > 1], "weight_decay": config.weight_decay},
              {"params": [p for _, p in trainable if p.ndim <= 1], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.learning_rate, momentum=config.momentum,
                               nesterov=config.momentum > 0)
    return torch.optim.RMSprop(groups, lr=config.learning_rate, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS,
                               momentum=config.momentum)


# --------------------------------------------------------------------------------------- evaluation

def evaluate(model: nn.Module, dataset: ImageDataset, *, input_size: int | None = None,
             batch_size: int = 256, mean=IMAGENET_MEAN, std=IMAGENET_STD,
             channels_last: bool = True, workers: int = 0, keep_predictions: bool = False) -> EvalResult:
    """Cross-entropy loss, top-1/top-5 accuracy (0..1) and per-class accuracy of `model` on `dataset`.

    `input_size` defaults to the dataset's image size; `workers` decode a streamed dataset (0: the cores);
    `keep_predictions` keeps each image's top-k classes (on the CPU).
    """
    ensure_static_teams()
    if len(dataset) == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    device = model_device(model)
    prep = BatchPreprocessor(input_size or dataset.image_size[0], mean, std, channels_last, device)
    k = min(5, dataset.num_classes)
    loss_sum, top1_hits, topk_hits = (torch.zeros((), device=device) for _ in range(3))
    class_hits = torch.zeros(dataset.num_classes, device=device)
    kept = []
    was_training = model.training
    model.eval()
    try:
        chunks = list(torch.arange(len(dataset)).split(batch_size))
        with torch.inference_mode():
            for index, images in zip(chunks, decoded_batches(dataset.images, chunks, workers)):
                labels = dataset.labels[index].to(device, non_blocking=True)
                logits = model(prep.eval_batch(images)).float()
                loss_sum += F.cross_entropy(logits, labels, reduction="sum")
                topk = logits.topk(k, dim=1).indices
                hit1 = topk[:, 0] == labels
                top1_hits += hit1.sum()
                topk_hits += (topk == labels[:, None]).any(dim=1).sum()
                class_hits += torch.bincount(labels[hit1], minlength=dataset.num_classes)
                if keep_predictions:
                    kept.append(topk)
    finally:
        model.train(was_training)
    counts = torch.bincount(dataset.labels, minlength=dataset.num_classes).clamp(min=1)
    n = len(dataset)
    predictions = dict(topk=torch.cat(kept).cpu(), labels=dataset.labels.cpu().clone()) if keep_predictions else {}
    return EvalResult(loss_sum.item() / n, top1_hits.item() / n, topk_hits.item() / n,
                      (class_hits.cpu() / counts).tolist(), n, **predictions)


# ------------------------------------------------------------------------------------------ training

def recalibrate_batch_norm(model: nn.Module, dataset: ImageDataset | PlacedData, prep: BatchPreprocessor,
                           max_images: int, batch_size: int, seed: int = 0, workers: int = 0) -> None:
    """Replace every BN layer's running statistics by their exact average over `max_images` images.

    The images are a fixed random sample (datasets are stored class by class: the first ones would
    be one class). Only BN layers run in training mode (dropout stays off) and the sample comes from
    its own generator, so the training RNGs are untouched and a resumed run stays identical.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or max_images < 2:
        return
    momenta = [m.momentum for m in norms]
    was_training = model.training
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average: the exact mean over the batches seen
        norm.train()
    try:
        sample = torch.randperm(len(dataset.labels), generator=torch.Generator().manual_seed(seed))
        chunks = [index for index in sample[:max_images].split(batch_size) if len(index) >= 2]
        with torch.no_grad():
            for images in decoded_batches(dataset.images, chunks, workers):
                model(prep.eval_batch(images))
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
        model.train(was_training)


def _set_train_mode(model: nn.Module, config: TrainConfig) -> None:
    model.train()
    if config.freeze_backbone:
        model.features.eval()  # frozen BN statistics too


def is_better(stats: EpochStats, best: EpochStats | None) -> bool:
    """The rule keep_best chooses the epoch by: higher validation top-1; on a tie, lower validation loss
    (the earlier epoch wins a full tie)."""
    return best is None or (stats.top1, -stats.val_loss) > (best.top1, -best.val_loss)


def best_of(history: list[EpochStats]) -> EpochStats | None:
    best = None
    for stats in history:
        if is_better(stats, best):
            best = stats
    return best


def _cpu_state(model: nn.Module) -> dict:
    return {key: value.detach().to("cpu", copy=True) for key, value in model.state_dict().items()}


def _restore_best(checkpoint_dir: Path | None, history: list[EpochStats], model: nn.Module):
    """On resume: (best epoch, its weights on the CPU). The last epoch's are the model's own; an earlier
    one's are in best.pt. A best.pt that is missing or of another epoch (a run killed between the two
    writes, or written before keep_best): the last epoch stands for the best, with a warning."""
    best = best_of(history)
    if best.epoch == history[-1].epoch or checkpoint_dir is None:
        return history[-1].epoch, _cpu_state(model)
    path = checkpoint_dir / BEST_CHECKPOINT_NAME
    if path.is_file():
        from mnas.utils.fileio import read_torch_file

        saved = read_torch_file(path, "resume: best-epoch checkpoint")
        if isinstance(saved, dict) and saved.get("format") == BEST_FORMAT and saved.get("epoch") == best.epoch:
            return best.epoch, saved["model"]
    logger.warning("resume: %s does not hold the best epoch (%d) of the run: the last epoch (%d) is kept as "
                   "the best so far", path, best.epoch, history[-1].epoch)
    return history[-1].epoch, _cpu_state(model)


def train(model: nn.Module, train_set: ImageDataset, val_set: ImageDataset, config: TrainConfig, *,
          on_epoch_end: Callable[[EpochStats], None] | None = None,
          should_stop: Callable[[], bool] | None = None, on_step: Callable[[int], None] | None = None,
          checkpoint_dir: str | os.PathLike | None = None, resume: bool = False,
          keep_best: bool = False) -> TrainResult:
    """Train `model` in place; see the module docstring for the contract."""
    ensure_static_teams()
    if train_set.class_names != val_set.class_names:
        raise ValueError(f"train and validation class lists differ: {train_set.class_names} vs "
                         f"{val_set.class_names}")
    if len(train_set) < 2:
        raise ValueError(f"the training set needs at least 2 images, got {len(train_set)}")
    if resume and checkpoint_dir is None:
        raise ValueError("resume needs a checkpoint_dir")
    device = resolve_device(config.device)
    if config.freeze_backbone:
        freeze_backbone(model)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, config)
    amp = Precision(device, config.mixed_precision)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    generator = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    prep = BatchPreprocessor(config.input_size, config.mean, config.std, config.channels_last, device)
    data = PlacedData.place(train_set, device)
    run = _Run(model, data, config, prep, optimizer, amp, criterion, generator,
               steps_per_epoch(len(train_set), config.batch_size))
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir else None

    history: list[EpochStats] = []
    if resume and checkpoint_path.is_file():
        history = [EpochStats(**h) for h in restore(load_checkpoint(checkpoint_path), model, optimizer,
                                                    amp.scaler, generator, train_set.class_names, config,
                                                    checkpoint_path)]
        logger.info("resumed from %s after epoch %d", checkpoint_path, len(history))
    last_good_state = copy.deepcopy(model.state_dict())
    final = evaluate(model, val_set, input_size=config.input_size, batch_size=config.eval_batch_size,
                     mean=config.mean, std=config.std, workers=config.decode_workers,
                     keep_predictions=keep_best) if history else None
    best_epoch, best_state, best_eval = None, None, None
    if keep_best and history:
        best_epoch, best_state = _restore_best(Path(checkpoint_dir) if checkpoint_dir else None, history, model)
        best_eval = final if best_epoch == history[-1].epoch else None  # else evaluated at the end

    stopped = False
    for epoch in range(len(history), config.epochs):
        started = time.perf_counter()
        try:
            train_loss, train_seconds, lr = _train_epoch(run, epoch, should_stop=should_stop, on_step=on_step)
        except StopTraining:
            model.load_state_dict(last_good_state)  # back to the last finished epoch
            stopped = True
            break
        if config.precise_bn_images and not config.freeze_backbone:
            recalibrate_batch_norm(model, data, prep, config.precise_bn_images,
                                   config.eval_batch_size, config.seed, config.decode_workers)
        final = evaluate(model, val_set, input_size=config.input_size,
                         batch_size=config.eval_batch_size, mean=config.mean, std=config.std,
                         channels_last=config.channels_last, workers=config.decode_workers,
                         keep_predictions=keep_best)
        _check_not_diverged(model, train_loss, final.loss, epoch, run.steps, train_set.num_classes, config)
        stats = EpochStats(epoch + 1, train_loss, final.loss, final.top1, final.top5, lr,
                           time.perf_counter() - started, len(train_set) / train_seconds)
        history.append(stats)
        if checkpoint_path is not None:
            atomic_torch_save(checkpoint_payload(model, optimizer, amp.scaler, generator, epoch + 1, history,
                                                 config, train_set.class_names), checkpoint_path)
        last_good_state = copy.deepcopy(model.state_dict())
        if keep_best and is_better(stats, history[best_epoch - 1] if best_epoch else None):
            best_epoch, best_state, best_eval = stats.epoch, _cpu_state(model), final
            if checkpoint_path is not None:  # after last.pt: a run killed between the two still resumes right
                atomic_torch_save({"format": BEST_FORMAT, "epoch": best_epoch, "model": best_state},
                                  checkpoint_path.with_name(BEST_CHECKPOINT_NAME))
        if on_epoch_end is not None:
            on_epoch_end(stats)
    # hand the model back on the CPU in the default layout (latency, export, saving, reuse)
    model.to("cpu", memory_format=torch.contiguous_format)
    result = TrainResult(history, final, list(train_set.class_names), stopped)
    if keep_best and history:
        _hand_back_best(result, model, best_epoch, best_state, best_eval, val_set, config)
    return result


def _hand_back_best(result: TrainResult, model: nn.Module, best_epoch: int, best_state: dict,
                    best_eval: EvalResult | None, val_set, config: TrainConfig) -> None:
    """keep_best: the model and `result.final` become the best epoch's, the last one's kept beside."""
    result.best_epoch, result.last = best_epoch, result.final
    if best_epoch == result.history[-1].epoch:
        return
    result.last_state = _cpu_state(model)
    model.load_state_dict(best_state)
    if best_eval is None:  # the best epoch is from before a resume: evaluated again, on the training device
        model.to(resolve_device(config.device))
        best_eval = evaluate(model, val_set, input_size=config.input_size, batch_size=config.eval_batch_size,
                             mean=config.mean, std=config.std, channels_last=config.channels_last,
                             workers=config.decode_workers, keep_predictions=True)
        model.to("cpu")
    result.final = best_eval


def _diverged(loss: torch.Tensor, step: int, steps: int, lr: float, config: TrainConfig):
    epoch, step_in_epoch = divmod(step, steps)
    raise TrainingDiverged(
        f"training diverged: the loss is {loss.item()} at epoch {epoch + 1}, step {step_in_epoch + 1} of "
        f"{steps} (learning rate {lr:.3g}, peak lr {config.learning_rate:g}): lower the learning rate, e.g. to "
        f"{config.learning_rate / 10:g}; the last finished epoch's checkpoint is kept")


def divergence_limit(num_classes: int) -> float:
    """The loss above which a training has blown up though finite: 10x what a uniform guess scores
    (ln C, at least ln 2). Healthy runs start near ln C and fall; a run whose mean training or validation
    loss is ten times that predicts confidently and wrongly everywhere (lr 1e6 on two classes: 5e9)."""
    return 10 * math.log(max(num_classes, 2))


def _check_not_diverged(model: nn.Module, train_loss: float, val_loss: float, epoch: int, steps: int,
                        num_classes: int, config: TrainConfig) -> None:
    """After an epoch: weights and BN statistics can overflow while every step's loss stayed finite,
    and a loss can explode without overflowing."""
    broken = next((key for key, value in model.state_dict().items()
                   if value.is_floating_point() and not torch.isfinite(value).all()), None)
    limit = divergence_limit(num_classes)
    if broken:
        what = f"the weights became non-finite (in {broken!r})"
    elif not math.isfinite(val_loss):
        what = f"the validation loss is {val_loss}"
    elif max(train_loss, val_loss) > limit:
        name, value = ("training", train_loss) if train_loss > limit else ("validation", val_loss)
        what = (f"the mean {name} loss is {value:.4g}, above {limit:.3g} (10 x ln {max(num_classes, 2)}, ten "
                "times a uniform guess's)")
    else:
        return
    raise TrainingDiverged(f"training diverged: {what} at epoch {epoch + 1}, step {steps} of {steps} (peak lr "
                           f"{config.learning_rate:g}): lower the learning rate, e.g. to "
                           f"{config.learning_rate / 10:g}; the last "
                           "finished epoch's checkpoint is kept and no model file is written")


class Precision:
    """Mixed precision of the training steps: autocast on CUDA (`mnas.utils.device.autocast_dtype`) with a
    GradScaler for float16; float32 and a disabled scaler elsewhere or when turned off."""

    def __init__(self, device: torch.device, enabled: bool = True):
        self.device = device
        self.dtype = autocast_dtype(device) if enabled else None
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)


@dataclasses.dataclass
class _Run:
    """What every epoch of one training run shares."""

    model: nn.Module
    data: PlacedData
    config: TrainConfig
    prep: BatchPreprocessor
    optimizer: torch.optim.Optimizer
    amp: Precision
    criterion: nn.Module
    generator: torch.Generator     # order and augmentation draws
    steps: int                     # per epoch


def _train_epoch(run: _Run, epoch: int, *, should_stop, on_step) -> tuple[float, float, float]:
    """One epoch (0-based) of steps; returns (mean train loss, seconds, last lr). Raises StopTraining."""
    model, config, optimizer, amp, steps = run.model, run.config, run.optimizer, run.amp, run.steps
    _set_train_mode(model, config)
    loss_sum = torch.zeros((), device=run.prep.device)
    seen = 0
    lr = config.learning_rate
    started = time.perf_counter()
    batches = _prefetch(_train_batches(run.data, config, run.prep, run.generator), config.num_workers)
    try:
        for step, (x, y) in enumerate(batches, start=epoch * steps):
            if should_stop is not None and should_stop():
                raise StopTraining
            lr = learning_rate(config, step, steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with amp.autocast():
                loss = run.criterion(model(x), y)
            if not torch.isfinite(loss):
                _diverged(loss, step, steps, lr, config)
            optimizer.zero_grad(set_to_none=True)
            amp.scaler.scale(loss).backward()
            amp.scaler.step(optimizer)
            amp.scaler.update()
            loss_sum += loss.detach() * len(y)  # accumulate without a per-step sync
            seen += len(y)
            if on_step is not None:
                on_step(step + 1)
    finally:
        batches.close()
    return loss_sum.item() / max(seen, 1), time.perf_counter() - started, lr
