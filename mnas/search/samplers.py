"""Who proposes the next child: the PPO-trained controller (``rl``), uniform ``random`` search, or
regularised ``evolution`` (Real et al., AAAI 2019).

Each implements `mnas.search.interfaces.Sampler`: ``propose() -> (actions, log_prob, entropy)``,
``observe(actions, log_prob, reward)`` and ``state()`` (for the checkpoint).  The loop proposes one batch, then observes
it; `replay` brings a fresh sampler to the state it had after a log's children by the same batches,
which is what makes a resume exact.
"""

from __future__ import annotations

import collections
import math

import torch

from mnas.latency.meter import torch_threads
from mnas.search.config import SearchConfig
from mnas.search.controller import PPO, Controller, PPOConfig
from mnas.search.interfaces import Sampler
from mnas.search.space import SearchSpace


class RLSampler(Sampler):
    """The PPO-trained LSTM controller."""

    name = "rl"

    def __init__(self, space: SearchSpace, config: SearchConfig):
        self.controller = Controller(space.num_choices, config.controller_hidden, seed=config.seed)
        self.ppo = PPO(self.controller, PPOConfig(lr=config.ppo_lr, batch=config.ppo_batch,
                                                  entropy_weight=config.entropy_weight,
                                                  normalize_advantages=config.ppo_normalize))
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


class RandomSampler(Sampler):
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


class EvolutionSampler(Sampler):
    """Regularised evolution: a population of the last `population` children; each proposal mutates
    one free decision of the best of `sample` members drawn at random (tournament), the oldest member
    ages out as each child joins. The first `population` proposals are uniform. Proposals of one batch
    see the population as it was when the batch began (observations arrive after the batch)."""

    name = "evolution"

    def __init__(self, space: SearchSpace, config: SearchConfig):
        self.space = space
        self.population_size, self.sample_size = config.population, config.tournament
        self.generator = torch.Generator().manual_seed(config.seed + 104_729)
        self.population: collections.deque = collections.deque(maxlen=self.population_size)
        self.proposed = 0
        self.free = [i for i, n in enumerate(space.num_choices) if n > 1]
        self.uniform_entropy = sum(math.log(n) for n in space.num_choices) / len(space.num_choices)

    def _draw(self, n: int) -> int:
        return int(torch.randint(n, (1,), generator=self.generator))

    def propose(self) -> tuple[list[int], None, float]:
        self.proposed += 1
        if self.proposed <= self.population_size or not self.population:
            return self.space.random_actions(self.generator), None, self.uniform_entropy
        members = list(self.population)
        contestants = [members[self._draw(len(members))] for _ in range(self.sample_size)]
        parent = max(contestants, key=lambda member: member[1])[0]
        child = list(parent)
        position = self.free[self._draw(len(self.free))]
        other = self._draw(self.space.num_choices[position] - 1)  # any choice but the parent's
        child[position] = other if other < parent[position] else other + 1
        return child, None, self.uniform_entropy

    def observe(self, actions, log_prob, reward) -> None:
        self.population.append((list(actions), float(reward)))

    def state(self) -> dict:
        return {"generator": self.generator.get_state(), "population": list(self.population)}


SAMPLER_CLASSES = {"rl": RLSampler, "random": RandomSampler, "evolution": EvolutionSampler}


def make_sampler(name: str, space: SearchSpace, config: SearchConfig) -> Sampler:
    return SAMPLER_CLASSES[name](space, config)


def replay(sampler: Sampler, space: SearchSpace, records: list[dict], batch: int = 1) -> list[tuple]:
    """Bring a fresh sampler to the state it had after the logged children, proposing and observing
    them in the loop's batches; returns the proposals of an unfinished last batch that the log does
    not hold yet (the loop evaluates them first), so a resume is exact for every sampler."""
    leftover: list[tuple] = []
    for start in range(0, len(records), batch):
        chunk = records[start:start + batch]
        proposals = [sampler.propose() for _ in range(batch)]
        for offset, record in enumerate(chunk):
            number = start + offset + 1
            if not isinstance(record, dict) or not {"step", "decisions", "reward"} <= record.keys() \
                    or not math.isfinite(record["reward"]):
                raise ValueError(f"resume: child record {number} of the log has no step, decisions or finite "
                                 f"reward ({str(record)[:80]}): the log is damaged; use a new output folder")
            actions, log_prob, _ = proposals[offset]
            if actions != space.actions(record["decisions"]):
                raise ValueError(f"resume: child {record['step']} of the log is not what sampler "
                                 f"{sampler.name!r} with these settings samples; the log was written with "
                                 "other settings or software versions: use a new output folder")
            sampler.observe(actions, log_prob, record["reward"])
        leftover = proposals[len(chunk):]
    return leftover
