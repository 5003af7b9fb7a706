"""Measured latency: batch 1, pinned threads, warm-up, median of repeats; torch or ONNX Runtime.

The paper measured each child on the phone it targets because MACs predict latency poorly; we measure
on the machine the code runs on, the same way for every model so that ratios are meaningful. The
runtime a latency is measured with is its `engine` (the search's ``latency_engine``): one of
`mnas.runtime.RUNTIMES`, the runtimes inference calls its backends.
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

from mnas.runtime import RUNTIMES, SessionSettings, create_session, export_onnx
from mnas.utils.openmp import ensure_static_teams

ENGINES = RUNTIMES


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


# The latency meter's sessions keep ONNX Runtime's own default, spinning intra-op threads (every figure
# of the search was timed so); inference turns spinning off (mnas.runtime.SessionSettings)
LATENCY_SESSION = SessionSettings(spinning=True)


def onnx_bytes(model: nn.Module, input_size: int, in_channels: int = 3) -> bytes:
    """Export `model` (eval mode, batch 1) to ONNX in memory."""
    buffer = io.BytesIO()
    export_onnx(model, input_size, buffer, in_channels, dynamic_batch=False)
    return buffer.getvalue()


def _check_engine(engine: str, threads: int) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")


@contextmanager
def forward_call(model: nn.Module, input_size: int, engine: str, in_channels: int = 3,
                 exported: bytes | None = None) -> Iterator[Callable[[], object]]:
    """A no-argument callable running `model` once at batch 1 with `engine` (eval mode meanwhile).

    Torch calls run in the caller's thread settings (see `torch_threads`); ONNX Runtime sessions are
    made with one intra-op thread per `torch.get_num_threads()` at entry, so one setting serves both.
    `exported`: the model's ONNX export when the caller already has it.
    """
    image = torch.rand(1, in_channels, input_size, input_size)
    if engine == "onnxruntime":
        exported = exported or onnx_bytes(model, input_size, in_channels)
        session = create_session(exported, torch.get_num_threads(), LATENCY_SESSION)
        feed = {"input": image.numpy().astype(np.float32)}
        yield lambda: session.run(None, feed)
        return
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield lambda: model(image)
    finally:
        model.train(was_training)


def measure_latency(model: nn.Module, input_size: int = 224, *, engine: str = "torch", threads: int = 1,
                    warmup: int = 5, repeats: int = 20, in_channels: int = 3) -> Latency:
    """Latency of one forward pass at batch 1 on this machine's CPU (absolute: drifts with the load)."""
    _check_engine(engine, threads)
    with torch_threads(threads), forward_call(model, input_size, engine, in_channels) as call:
        samples = time_calls(call, warmup, repeats)
    return Latency(tuple(samples), engine, threads)


# --- paired relative latency ---------------------------------------------------------------------
# On a shared machine absolute latency drifts by tens of percent within seconds, so two passes over
# the same children rank them differently.  Timing each child against a resident reference network in
# interleaved bursts, and keeping the ratio, cancels the drift: both see the same machine state.  The
# minimum of a burst is the call least disturbed by other processes.  Pairing cannot cancel a
# disturbance that lasts whole rounds: another process sharing the caches and memory slows a larger
# network more than a smaller one, so such rounds carry a biased ratio (one child moved 12 % between
# two passes of bench/latency_bench.py that way).  Other processes only ever slow a round down, so
# the ratio is the median over the quieter half of the rounds: those in which both networks ran
# closest to their own typical times.

@dataclasses.dataclass(frozen=True)
class PairedLatency:
    """Per round: the child's and the reference's fastest call of a burst (ms) and their ratio."""

    ratios: tuple[float, ...]
    child_ms: tuple[float, ...]
    reference_ms: tuple[float, ...]
    engine: str
    threads: int

    @property
    def ratio(self) -> float:
        """The child's latency as a multiple of the reference's: LAT / T when T is the reference's.
        The median ratio of the quieter half of the rounds (lowest sum of the two networks' times,
        each relative to its median over the rounds)."""
        child_median, reference_median = statistics.median(self.child_ms), statistics.median(self.reference_ms)
        disturbance = [c / child_median + r / reference_median for c, r in zip(self.child_ms, self.reference_ms)]
        quieter = sorted(range(len(self.ratios)), key=disturbance.__getitem__)[:-(-len(self.ratios) // 2)]
        return statistics.median(self.ratios[i] for i in quieter)

    @property
    def median_ms(self) -> float:
        """The child's absolute latency (median over rounds of the burst minima): drifts, report only."""
        return statistics.median(self.child_ms)

    @property
    def reference_median_ms(self) -> float:
        return statistics.median(self.reference_ms)

    @property
    def spread(self) -> float:
        """Relative interquartile range of the per-round ratios: the repeatability of `ratio`."""
        quartiles = statistics.quantiles(self.ratios, n=4) if len(self.ratios) > 1 else [self.ratio] * 3
        return (quartiles[2] - quartiles[0]) / self.ratio


class PairedMeter:
    """Times models against a resident reference network: rounds of one burst each, order alternating.

    `measure(model).ratio` is the model's latency relative to the reference's, measured in the same
    seconds; `measure(reference)` returns about 1.0.  ONNX Runtime exports each measured model once.
    """

    def __init__(self, reference: nn.Module, input_size: int, *, engine: str = "torch", threads: int = 1,
                 rounds: int = 40, burst: int = 10, warmup: int = 5, in_channels: int = 3):
        _check_engine(engine, threads)
        if rounds < 1 or burst < 1:
            raise ValueError(f"rounds and burst must be >= 1, got {rounds} and {burst}")
        self.reference, self.input_size, self.in_channels = reference, input_size, in_channels
        self.engine, self.threads = engine, threads
        self.rounds, self.burst, self.warmup = rounds, burst, warmup
        self._reference_onnx = onnx_bytes(reference, input_size, in_channels) if engine == "onnxruntime" else None

    def measure(self, model: nn.Module) -> PairedLatency:
        with torch_threads(self.threads), \
                forward_call(self.reference, self.input_size, self.engine, self.in_channels,
                             self._reference_onnx) as reference, \
                forward_call(model, self.input_size, self.engine, self.in_channels) as child:
            for _ in range(self.warmup):
                reference(), child()
            ratios, child_ms, reference_ms = [], [], []
            for round_index in range(self.rounds):
                # alternate which network goes first, so neither always follows the other's cache state
                first, second = (reference, child) if round_index % 2 == 0 else (child, reference)
                a = min(time_calls(first, 0, self.burst))
                b = min(time_calls(second, 0, self.burst))
                ref, own = (a, b) if round_index % 2 == 0 else (b, a)
                ratios.append(own / ref)
                child_ms.append(own)
                reference_ms.append(ref)
        return PairedLatency(tuple(ratios), tuple(child_ms), tuple(reference_ms), self.engine, self.threads)


# --- per-layer lookup-table predictor ------------------------------------------------------------
# The paper measured every child on the phone; a lookup table of per-layer latencies, each measured in
# isolation at its input resolution, predicts a network's latency as a sum without running it.  It
# misses what the sum cannot see (cache effects between layers, per-call overhead counted once per
# layer), so we report its error and, more to the point for a search, its rank correlation.

def _layer_resolutions(arch: str, input_size: int):
    """Yield (layer spec, input resolution) for every layer of `arch`, and the final resolution."""
    from mnas.arch import parse_arch

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
        from mnas.arch import format_block
        from mnas.models import Layer

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
