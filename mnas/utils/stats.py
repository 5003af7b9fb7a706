"""Small statistics for figures that depend on noise: bootstrap intervals, McNemar, interpolation.

numpy only (scipy for the Wilcoxon test, imported when it runs); each function says what it assumes.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np


def bootstrap_interval(correct: np.ndarray, statistic: Callable[[np.ndarray], float], *,
                       resamples: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of `statistic(correct[:, sample])` over the columns (test images).

    `correct` is models x images (booleans or scores); every resample draws the same images for every
    model, so a statistic comparing models keeps their pairing.
    """
    correct = np.asarray(correct, dtype=float)
    if correct.ndim != 2 or correct.shape[1] < 2:
        raise ValueError(f"correct must be models x images with >= 2 images, got shape {correct.shape}")
    generator = np.random.default_rng(seed)
    images = correct.shape[1]
    values = np.empty(resamples)
    for index in range(resamples):
        values[index] = statistic(correct[:, generator.integers(0, images, images)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def mean_interval(values: Sequence[float], *, resamples: int = 2000, level: float = 0.95,
                  seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean of `values` and its percentile bootstrap interval."""
    values = np.asarray(values, dtype=float)
    low, high = bootstrap_interval(values[None, :], lambda sample: float(sample.mean()),
                                   resamples=resamples, level=level, seed=seed)
    return float(values.mean()), low, high


def mcnemar_exact(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """Exact two-sided McNemar test of two classifiers on the same images: counts of images only `a`
    and only `b` got right, and the binomial p-value of that split under "equally accurate"."""
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"both classifiers must be scored on the same images, got {a.shape} and {b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    discordant = only_a + only_b
    if discordant == 0:
        return {"only_a": 0, "only_b": 0, "p_value": 1.0}
    smaller = min(only_a, only_b)
    tail = sum(math.comb(discordant, k) for k in range(smaller + 1)) / 2 ** discordant
    return {"only_a": only_a, "only_b": only_b, "p_value": min(1.0, 2 * tail)}


def interpolate_curve(xs: Sequence[float], ys: Sequence[float], x: float) -> tuple[float, bool]:
    """The piecewise-linear curve through (xs, ys) at `x`, and whether `x` lies inside the curve's range
    (outside, the nearest end's value is returned: no extrapolation)."""
    order = np.argsort(xs)
    xs, ys = np.asarray(xs, dtype=float)[order], np.asarray(ys, dtype=float)[order]
    if len(xs) == 0:
        raise ValueError("the curve has no points")
    inside = bool(xs[0] <= x <= xs[-1])
    return float(np.interp(x, xs, ys)), inside


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b rank correlation (ties counted as neither concordant nor discordant); nan with
    fewer than 2 points or no spread."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"kendall_tau: x and y must have the same length, got {len(x)} and {len(y)}")
    upper = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[:, None] - x[None, :])[upper], np.sign(y[:, None] - y[None, :])[upper]
    denominator = math.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float(np.sum(dx * dy) / denominator) if denominator else float("nan")


def wilcoxon_greater(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided paired Wilcoxon signed-rank p-value for a > b (pairs in order; zero differences split
    between the signs); 1.0 when every pair is equal, where scipy has no answer."""
    from scipy.stats import wilcoxon

    if not np.any(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)):
        return 1.0
    return float(wilcoxon(a, b, alternative="greater", zero_method="zsplit").pvalue)


def mann_whitney_greater(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided Mann-Whitney U p-value for a > b (independent samples; exact for small ones)."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative="greater").pvalue)
