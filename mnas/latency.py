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
