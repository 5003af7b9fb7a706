"""Measured latency: batch 1, pinned threads, warm-up, median of repeats; torch or ONNX Runtime.

The paper measured each child on the phone it targets because MACs predict latency poorly; we measure
on the machine the code runs on, the same way for every model so that ratios are meaningful.
"""

from __future__ import annotations

import dataclasses
import io
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch
from torch import nn

from .openmp import ensure_static_teams

ENGINES = ("torch", "onnxruntime")


@dataclasses.dataclass(frozen=True)
class Latency:
    """Per-call times in milliseconds; `median_ms` is the figure to report."""

    samples_ms: tuple[float, ...]
    engine: str
    threads: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def cv(self) -> float:
        """Coefficient of variation (std / mean) of the samples: the repeatability of the measurement."""
        mean = statistics.fmean(self.samples_ms)
        return statistics.pstdev(self.samples_ms) / mean if mean else 0.0


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    ensure_static_teams()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def time_calls(call: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def onnx_bytes(model: nn.Module, input_size: int, in_channels: int = 3) -> bytes:
    """Export `model` (eval mode, batch 1) to ONNX in memory."""
    buffer = io.BytesIO()
    example = torch.zeros(1, in_channels, input_size, input_size)
    was_training = model.training
    model.eval()
    try:
        torch.onnx.export(model, (example,), buffer, dynamo=False, input_names=["input"],
                          output_names=["logits"], opset_version=17)
    finally:
        model.train(was_training)
    return buffer.getvalue()


def onnxruntime_session(model_bytes_or_path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes_or_path, options, providers=["CPUExecutionProvider"])


def measure_latency(model: nn.Module, input_size: int = 224, *, engine: str = "torch", threads: int = 1,
                    warmup: int = 5, repeats: int = 20, in_channels: int = 3) -> Latency:
    """Latency of one forward pass at batch 1 on this machine's CPU."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    image = torch.rand(1, in_channels, input_size, input_size)
    if engine == "torch":
        was_training = model.training
        model.eval()
        try:
            with torch_threads(threads), torch.inference_mode():
                samples = time_calls(lambda: model(image), warmup, repeats)
        finally:
            model.train(was_training)
    else:
        session = onnxruntime_session(onnx_bytes(model, input_size, in_channels), threads)
        feed = {"input": image.numpy().astype(np.float32)}
        samples = time_calls(lambda: session.run(None, feed), warmup, repeats)
    return Latency(tuple(samples), engine, threads)


# --- per-layer lookup-table predictor ------------------------------------------------------------
# The paper measured every child on the phone; a lookup table of per-layer latencies, each measured in
# isolation at its input resolution, predicts a network's latency as a sum without running it.  It
# misses what the sum cannot see (cache effects between layers, per-call overhead counted once per
# layer), so we report its error and, more to the point for a search, its rank correlation.

def _layer_resolutions(arch: str, input_size: int):
    """Yield (layer spec, input resolution) for every layer of `arch`, and the final resolution."""
    from .arch import parse_arch

    resolution = input_size
    layers = []
    for block in parse_arch(arch):
        for layer in block.layers():
            layers.append((layer, resolution))
            resolution = -(-resolution // layer.stride)  # 'same' padding: ceil(H / stride)
    return layers, resolution


class _PoolClassifier(nn.Module):
    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean((2, 3)))


class LatencyTable:
    """Lookup table `{layer key: median ms}`, filled on demand; `predict(arch)` sums a network's layers.

    Keys are ``<layer block string>@<input resolution>`` and ``pool_fc_<channels>_<classes>@<res>``.
    """

    def __init__(self, engine: str = "torch", threads: int = 1, warmup: int = 3, repeats: int = 15,
                 entries: dict[str, float] | None = None):
        self.engine, self.threads, self.warmup, self.repeats = engine, threads, warmup, repeats
        self.entries: dict[str, float] = dict(entries or {})

    def _lookup(self, key: str, build: Callable[[], nn.Module], resolution: int, in_channels: int) -> float:
        if key not in self.entries:
            latency = measure_latency(build(), resolution, engine=self.engine, threads=self.threads,
                                      warmup=self.warmup, repeats=self.repeats, in_channels=in_channels)
            self.entries[key] = latency.median_ms
        return self.entries[key]

    def predict(self, arch: str, input_size: int, num_classes: int) -> float:
        """Predicted latency (ms) of `arch` at batch 1: the sum of its layers' table entries."""
        from .arch import format_block
        from .models import Layer

        layers, final_resolution = _layer_resolutions(arch, input_size)
        total = 0.0
        for layer, resolution in layers:
            total += self._lookup(f"{format_block(layer)}@{resolution}", lambda: Layer(layer),
                                  resolution, layer.in_ch)
        channels = layers[-1][0].out_ch
        total += self._lookup(f"pool_fc_{channels}_{num_classes}@{final_resolution}",
                              lambda: _PoolClassifier(channels, num_classes), final_resolution, channels)
        return total

    def to_dict(self) -> dict:
        return {"engine": self.engine, "threads": self.threads, "entries": self.entries}


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties); nan with fewer than 2 points or no spread."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"spearman: x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) < 2:
        return float("nan")

    def ranks(values):
        order = values.argsort(kind="mergesort")
        result = np.empty(len(values))
        result[order] = np.arange(len(values), dtype=float)
        for value in np.unique(values):  # ties share their mean rank
            tied = values == value
            result[tied] = result[tied].mean()
        return result

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def predictor_report(predicted_ms, measured_ms) -> dict:
    """How well predicted latencies match measured ones: mean absolute % error and rank correlation."""
    predicted, measured = np.asarray(predicted_ms, dtype=float), np.asarray(measured_ms, dtype=float)
    if len(predicted) == 0:
        return {"n": 0, "mape": float("nan"), "spearman": float("nan")}
    mape = float(np.mean(np.abs(predicted - measured) / measured))
    return {"n": int(len(predicted)), "mape": mape, "spearman": spearman(predicted, measured)}
