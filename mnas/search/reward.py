"""The MnasNet multi-objective reward: ACC(m) x (LAT(m) / T)^w, w = alpha if LAT(m) <= T else beta.

Soft constraint (paper): alpha = beta = -0.07, i.e. doubling latency is worth about 5 % relative
accuracy (w = -log2(1 + r) for a relative gain r per doubling), so models on both sides of T compete.
Hard constraint: alpha = 0, beta = -1: at or below T only accuracy counts; above T the reward is
ACC x T / LAT (a model twice as slow as T keeps half its accuracy as reward).
"""

from __future__ import annotations

import dataclasses
import math

SOFT_W = -0.07


@dataclasses.dataclass(frozen=True)
class Objective:
    """The reward's target latency T (ms) and exponents alpha (at or under T) and beta (over T)."""

    target_ms: float
    alpha: float
    beta: float

    def __post_init__(self):
        if not 0 < self.target_ms < math.inf:
            raise ValueError(f"target latency must be a finite number > 0 ms, got {self.target_ms}")
        for name in ("alpha", "beta"):
            if not -math.inf < getattr(self, name) <= 0:
                raise ValueError(f"reward exponent {name} must be a finite number <= 0, got "
                                 f"{getattr(self, name)}")

    def __call__(self, accuracy: float, latency_ms: float) -> float:
        return reward(accuracy, latency_ms, self.target_ms, self.alpha, self.beta)


def reward(accuracy: float, latency_ms: float, target_ms: float, alpha: float, beta: float) -> float:
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    if not 0 < latency_ms < math.inf or not 0 < target_ms < math.inf:
        raise ValueError(f"latency and target must be finite numbers > 0 ms, got {latency_ms} and {target_ms}")
    w = alpha if latency_ms <= target_ms else beta
    value = accuracy * (latency_ms / target_ms) ** w
    if not math.isfinite(value):  # e.g. a huge |w|: PPO would learn from inf / nan
        raise ValueError(f"reward {value} is not finite (accuracy {accuracy}, latency {latency_ms} ms, "
                         f"T {target_ms} ms, w {w}): expected a moderate w such as -0.07")
    return value


def objective(constraint: str, target_ms: float, w: float = SOFT_W) -> Objective:
    """`constraint` "soft" (alpha = beta = w) or "hard" (the paper's alpha = 0, beta = -1)."""
    if constraint == "soft":
        if not -math.inf < w <= 0:
            raise ValueError(f"w must be a finite number <= 0 (a slower model must not earn more), got {w}")
        return Objective(target_ms, w, w)
    if constraint == "hard":
        return Objective(target_ms, 0.0, -1.0)
    raise ValueError(f"constraint must be 'soft' or 'hard', got {constraint!r}")
