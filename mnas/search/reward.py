"""The MnasNet multi-objective reward: ACC(m) x (LAT(m) / T)^w, w = alpha if LAT(m) <= T else beta.

LAT and T are in one unit, any unit: only their ratio counts. The search passes paired latency ratios to
the skeleton (the child's and the skeleton's latency measured in the same seconds), so T is a ratio too
(1.0: the skeleton's own latency).

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
    """The reward's target latency T (in the children's latency unit: the search's is the ratio to the
    skeleton) and exponents alpha (at or under T) and beta (over T)."""

    target: float
    alpha: float
    beta: float

    def __post_init__(self):
        if not 0 < self.target < math.inf:
            raise ValueError(f"target latency T must be a finite number > 0, got {self.target}")
        for name in ("alpha", "beta"):
            if not -math.inf < getattr(self, name) <= 0:
                raise ValueError(f"reward exponent {name} must be a finite number <= 0, got "
                                 f"{getattr(self, name)}")

    def __call__(self, accuracy: float, latency: float) -> float:
        return reward(accuracy, latency, self.target, self.alpha, self.beta)


def reward(accuracy: float, latency: float, target: float, alpha: float, beta: float) -> float:
    """ACC x (LAT / T)^w; `latency` and `target` in one unit (the search's: ratios to the skeleton)."""
    if not 0 <= accuracy <= 1:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    if not 0 < latency < math.inf or not 0 < target < math.inf:
        raise ValueError(f"latency and target must be finite numbers > 0, got {latency} and {target}")
    w = alpha if latency <= target else beta
    value = accuracy * (latency / target) ** w
    if not math.isfinite(value):  # e.g. a huge |w|: PPO would learn from inf / nan
        raise ValueError(f"reward {value} is not finite (accuracy {accuracy}, latency {latency}, "
                         f"T {target}, w {w}): expected a moderate w such as -0.07")
    return value


def objective(constraint: str, target: float, w: float = SOFT_W) -> Objective:
    """`constraint` "soft" (alpha = beta = w) or "hard" (the paper's alpha = 0, beta = -1)."""
    if constraint == "soft":
        if not -math.inf < w <= 0:
            raise ValueError(f"w must be a finite number <= 0 (a slower model must not earn more), got {w}")
        return Objective(target, w, w)
    if constraint == "hard":
        return Objective(target, 0.0, -1.0)
    raise ValueError(f"constraint must be 'soft' or 'hard', got {constraint!r}")
