"""Who proposes the next child: the PPO-trained controller (``rl``) or uniform random search.

A sampler has one small interface: ``propose() -> (actions, log_prob, entropy)``, ``observe(actions,
log_prob, reward)`` and ``state()`` (for the checkpoint); `replay` brings a fresh one to the state it had
after a log's children, which is what makes a resume exact.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

from ..latency import torch_threads
from .config import SearchConfig
from .controller import PPO, Controller, PPOConfig
from .space import SearchSpace


class RLSampler:
    """The PPO-trained LSTM controller."""

    name = "rl"

    def __init__(self, space: SearchSpace, config: SearchConfig):
        self.controller = Controller(space.num_choices, config.controller_hidden, seed=config.seed)
        self.ppo = PPO(self.controller, PPOConfig(lr=config.ppo_lr, batch=config.ppo_batch,
                                                  entropy_weight=config.entropy_weight))
        self.generator = torch.Generator().manual_seed(config.seed)

    # The controller's ops are tiny: one thread avoids thread hand-offs costing more than the maths.
    def propose(self) -> tuple[list[int], float, float]:
        """(actions, log-probability, mean per-decision entropy of the policy that sampled them)."""
        with torch_threads(1):
            actions, log_probs, entropies = self.controller.sample(self.generator)
        return actions, float(log_probs.sum()), float(entropies.mean())

    def observe(self, actions: list[int], log_prob: float, reward: float) -> None:
        with torch_threads(1):
            self.ppo.record(actions, log_prob, reward)

    def state(self) -> dict:
        return {"controller": self.controller.state_dict(), "optimizer": self.ppo.optimizer.state_dict(),
                "baseline": self.ppo.baseline, "updates": self.ppo.updates,
                "generator": self.generator.get_state()}


class RandomSampler:
    """Uniform random search over the same space (the baseline at equal budget)."""

    name = "random"

    def __init__(self, space: SearchSpace, config: SearchConfig):
        self.space = space
        self.generator = torch.Generator().manual_seed(config.seed + 7919)
        self.uniform_entropy = sum(math.log(n) for n in space.num_choices) / len(space.num_choices)

    def propose(self) -> tuple[list[int], None, float]:
        return self.space.random_actions(self.generator), None, self.uniform_entropy

    def observe(self, actions, log_prob, reward) -> None:
        pass

    def state(self) -> dict:
        return {"generator": self.generator.get_state()}


def make_sampler(name: str, space: SearchSpace, config: SearchConfig):
    return {"rl": RLSampler, "random": RandomSampler}[name](space, config)


def replay(sampler, space: SearchSpace, records: Iterable[dict]) -> None:
    """Bring a fresh sampler to the state it had after the logged children (exact, see module doc)."""
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict) or not {"step", "decisions", "reward"} <= record.keys() \
                or not math.isfinite(record["reward"]):
            raise ValueError(f"resume: child record {number} of the log has no step, decisions or finite "
                             f"reward ({str(record)[:80]}): the log is damaged; use a new output folder")
        actions, log_prob, _ = sampler.propose()
        logged = space.actions(record["decisions"])
        if actions != logged:
            raise ValueError(f"resume: child {record['step']} of the log is not what sampler "
                             f"{sampler.name!r} with these settings samples; the log was written with "
                             "other settings or software versions: use a new output folder")
        sampler.observe(actions, log_prob, record["reward"])
