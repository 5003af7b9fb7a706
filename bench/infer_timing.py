"""Side-by-side timing for the inference benchmarks: blocks of calls, block order rotated per pass.

Calls are timed in blocks, not one-by-one alternation: ONNX Runtime's and PyTorch's thread pools both
spin-wait for a while after a call, so a torch call made right after an ONNX Runtime call (or the
reverse) competes with the other runtime's spinning threads and is slowed by it. Each block starts with
untimed warm-up calls that absorb that hand-over; the passes spread slow drifts in the machine's load
(other processes) over every contender alike.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def timed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


def samples_ms_in_blocks(contenders: dict[str, Callable[[], object]], warmup: int, repeats: int,
                         passes: int = 3) -> dict[str, list[float]]:
    """Per-call times (ms) of each contender: `repeats` timed calls in `passes` blocks."""
    keys = list(contenders)
    samples: dict[str, list[float]] = {key: [] for key in keys}
    per_block = max(1, -(-repeats // passes))
    for index in range(passes):
        for key in keys[index % len(keys):] + keys[:index % len(keys)]:
            for _ in range(warmup):
                contenders[key]()
            samples[key] += [timed_ms(contenders[key]) for _ in range(per_block)]
    return samples


def median_ms_in_blocks(contenders: dict[str, Callable[[], object]], warmup: int, repeats: int,
                        passes: int = 3) -> dict[str, float]:
    """Median per-call time (ms) of each contender: `repeats` timed calls in `passes` blocks."""
    samples = samples_ms_in_blocks(contenders, warmup, repeats, passes)
    return {key: statistics.median(values) for key, values in samples.items()}


def median_figure_interval(samples: dict[str, list[float]], figure: Callable[[dict], float],
                           resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """`figure` of the contenders' medians (e.g. a ratio of two medians) with a 95 % bootstrap
    interval: each contender's calls resampled with replacement, the figure recomputed each time.
    The interval covers the noise of the calls in this run, not the drift between runs."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arrays = {key: np.asarray(values) for key, values in samples.items()}
    medians = {key: float(np.median(values)) for key, values in arrays.items()}
    draws = {key: np.median(rng.choice(values, size=(resamples, len(values))), axis=1)
             for key, values in arrays.items()}
    figures = [figure({key: draw[i] for key, draw in draws.items()}) for i in range(resamples)]
    low, high = np.percentile(figures, [2.5, 97.5])
    return figure(medians), float(low), float(high)
