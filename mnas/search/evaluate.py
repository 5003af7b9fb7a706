"""One child's evaluation, in two parts that may run on different machines:

- `train_child`: the proxy training by the project's training engine (`mnas.train.engine.train`) on a
  stratified subset of the dataset's ``train/`` folder, scored on a held-out split of it (``test/`` is
  never read); runs wherever a worker has CPUs;
- `ChildTimer`: the child's latency as a *paired ratio* to a resident reference network, the B1
  skeleton at the base width (`mnas.latency.meter.PairedMeter`), so LAT/T is measured directly and the
  machine's drift cancels; runs on the one latency device, as the paper timed every child on the same
  phones.  It also holds the per-layer lookup-table predictor, in the same unit.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Callable

import torch

from mnas.data.decode import load_split
from mnas.data.folders import ImageDataset, find_dataset_splits
from mnas.data.splits import stratified_split
from mnas.latency.meter import LatencyTable, PairedLatency, PairedMeter, torch_threads
from mnas.models import count_macs, count_params, create_model
from mnas.search.config import INPUT_SIZE, SearchConfig
from mnas.train.engine import TrainingDiverged, train


@dataclasses.dataclass
class ProxyData:
    train: ImageDataset
    val: ImageDataset


def load_proxy_data(root: str | os.PathLike, train_images: int, val_images: int,
                    seed: int = 0) -> ProxyData:
    """Stratified train/validation subsets of `root`/train/, decoded once (never reads test/)."""
    splits = find_dataset_splits(root)
    classes = splits.class_names
    per_class_val = max(1, math.ceil(val_images / len(classes)))
    per_class_train = max(1, math.ceil(train_images / len(classes)))
    pool = load_split(splits.train_dir, classes=classes, limit_per_class=per_class_train + per_class_val)
    short = [(name, n) for name, n in zip(classes, pool.class_counts()) if n < per_class_train + per_class_val]
    if short:  # never shrink the proxy training silently
        raise ValueError(f"train_images {train_images} + val_images {val_images} need {per_class_train} + "
                         f"{per_class_val} images per class, but class {short[0][0]!r} of {splits.train_dir} "
                         f"has {short[0][1]} readable: expected train_images + val_images <= "
                         f"{min(n for _, n in short) * len(classes)}")
    counts = [min(per_class_val, n - 1) for n in pool.class_counts()]
    train_set, val_set = stratified_split(pool, counts=counts, seed=seed)
    return ProxyData(train_set, val_set)


def train_child(arch: str, seed: int, data: ProxyData, config: SearchConfig,
                should_stop: Callable[[], bool] | None = None) -> dict | None:
    """Proxy-train `arch`: {arch, accuracy, macs, params, train_seconds}, or None when stopped. A child
    whose training diverges scores accuracy 0 (the reason logged under "diverged"): the search goes on."""
    started = time.perf_counter()
    torch.manual_seed(seed)
    model = create_model(arch, data.train.num_classes, INPUT_SIZE)
    figures = {"macs": count_macs(model, INPUT_SIZE), "params": count_params(model)}
    try:
        with torch_threads(config.train_threads or torch.get_num_threads()):
            result = train(model, data.train, data.val, config.train_config(seed), should_stop=should_stop)
    except TrainingDiverged as error:  # a child the proxy lr cannot train is a bad child, not a bad search
        return {"arch": arch, "accuracy": 0.0, **figures, "diverged": str(error),
                "train_seconds": time.perf_counter() - started}
    if result.stopped or result.final is None:
        return None
    return {"arch": arch, "accuracy": float(result.final.top1), **figures,
            "train_seconds": time.perf_counter() - started}


def target_record(target_latency_ms: float, reference_arch: str, reference_ms: float, self_ratio: float) -> dict:
    """T as a ratio to the reference: 1 by definition (T = the reference's latency), or a user's T in
    ms over the reference's ms; `self_ratio` is the reference timed against itself (~1)."""
    target_ms = target_latency_ms or reference_ms
    return {"ratio": target_ms / reference_ms, "ms": target_ms, "reference_ms": reference_ms,
            "reference_arch": reference_arch, "self_ratio": self_ratio}


class ChildTimer:
    """Times architectures against the resident reference; LAT/T = `ratio / target ratio`, where the
    target ratio is 1 when T is the reference's own latency, or a user's T in ms over the reference's
    ms measured by the same meter."""

    def __init__(self, config: SearchConfig, reference_arch: str, num_classes: int,
                 table_entries: dict[str, float] | None = None):
        self.reference_arch, self.num_classes = reference_arch, num_classes
        self.meter = PairedMeter(create_model(reference_arch, num_classes, INPUT_SIZE), INPUT_SIZE,
                                 engine=config.latency_engine, threads=config.latency_threads,
                                 rounds=config.latency_rounds, burst=config.latency_burst)
        self.table = (LatencyTable(config.latency_engine, config.latency_threads, entries=table_entries)
                      if config.predictor else None)

    def latency(self, arch: str) -> PairedLatency:
        return self.meter.measure(create_model(arch, self.num_classes, INPUT_SIZE))

    def target(self, target_latency_ms: float) -> dict:
        reference = self.latency(self.reference_arch)
        return target_record(target_latency_ms, self.reference_arch, reference.reference_median_ms, reference.ratio)

    def time(self, arch: str) -> dict:
        """The log fields of `arch`'s latency (and the predictor's figure, in the same unit)."""
        latency = self.latency(arch)
        record = {"latency_ratio": latency.ratio, "latency_spread": latency.spread,
                  "latency_ms": latency.median_ms, "reference_ms": latency.reference_median_ms}
        if self.table is not None:
            predict = self.table.predict
            record["predicted_latency_ratio"] = (predict(arch, INPUT_SIZE, self.num_classes)
                                                 / predict(self.reference_arch, INPUT_SIZE, self.num_classes))
        return record

    def table_entries(self) -> dict[str, float] | None:
        return None if self.table is None else dict(self.table.entries)
