"""The surrogate's optimum: the best noise-free reward of the whole space, to measure a search's regret.

The space holds about 10^18 networks, so the optimum is searched, not enumerated: steepest-ascent local
search over single decisions (every neighbour of the current network scored in one prediction),
restarted from uniform random networks until `queries` networks have been scored.  What it returns is a
lower bound on the true optimum; the regret measured against it is a lower bound too.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from mnas.search.surrogate.executor import SurrogateExecutor


def noise_free_rewards(executor: SurrogateExecutor, reward: Callable[[float, float], float],
                       archs: list[str]) -> np.ndarray:
    """`reward(accuracy, latency ratio)` of each architecture from its noise-free surrogate figures."""
    return np.array([reward(f["surrogate_accuracy"], f["latency_ratio"]) for f in executor.truth(archs)])


def surrogate_optimum(executor: SurrogateExecutor, reward: Callable[[float, float], float], queries: int,
                      seed: int = 0) -> dict:
    """The best noise-free `reward` found with `queries` scored networks: {"arch", "reward", "queries",
    "restarts"}."""
    import torch

    if queries < 1:
        raise ValueError(f"surrogate_optimum queries {queries}: expected at least 1 network to score")
    space = executor.space
    generator = torch.Generator().manual_seed(seed)
    best_arch, best_reward, scored, restarts = None, -math.inf, 0, 0
    while scored < queries:
        actions = space.random_actions(generator)
        current = float(noise_free_rewards(executor, reward, [space.arch(actions)])[0])
        scored, restarts = scored + 1, restarts + 1
        while scored < queries:
            neighbours = [actions[:i] + [c] + actions[i + 1:] for i, n in enumerate(space.num_choices)
                          for c in range(n) if c != actions[i]]
            rewards = noise_free_rewards(executor, reward, [space.arch(a) for a in neighbours])
            scored += len(neighbours)
            top = int(np.argmax(rewards))
            if rewards[top] <= current:
                break
            actions, current = neighbours[top], float(rewards[top])
        if current > best_reward:
            best_arch, best_reward = space.arch(actions), current
    return {"arch": best_arch, "reward": best_reward, "queries": scored, "restarts": restarts}
