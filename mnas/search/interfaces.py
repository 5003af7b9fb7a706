"""The two contracts of the search loop: who proposes a child (`Sampler`) and who evaluates it (`Executor`).

`mnas.search.loop.Search` and `mnas.search.loop.run_children` talk to nothing else, so a new strategy or
a new place to evaluate children is one class that implements one of these:

- samplers (`mnas.search.samplers`): ``rl`` (the PPO-trained controller), ``random``, ``evolution``;
- executors: `mnas.search.executor.LocalExecutor` and `mnas.search.executor.RayExecutor` train and time
  children; `mnas.search.table.executor.TableExecutor` and
  `mnas.search.surrogate.executor.SurrogateExecutor` look them up (no data read).

Both are `typing.Protocol` s: the implementations name them as bases so that the contract is visible
where it is kept, and ``isinstance`` checks them (`runtime_checkable`) in the tests.
"""

from __future__ import annotations

from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

Job = tuple[str, int]  # (architecture string, training seed)


@runtime_checkable
class Sampler(Protocol):
    """Proposes children and learns from their rewards; the loop proposes one batch, then observes it."""

    name: str  # what SearchConfig.sampler calls it

    def propose(self) -> tuple[list[int], float | None, float]:
        """(one action per decision, the log-probability of the actions or None, the policy's mean entropy)."""
        ...

    def observe(self, actions: list[int], log_prob: float | None, reward: float) -> None:
        """The reward of a proposal, in the order proposed."""
        ...

    def state(self) -> dict:
        """What a checkpoint keeps (a resume replays the log instead: `mnas.search.samplers.replay`)."""
        ...


@runtime_checkable
class Executor(Protocol):
    """Evaluates batches of children: accuracy, paired latency ratio, costs."""

    def target(self, target_latency_ms: float) -> dict:
        """The reward's target T as the search records it: ``ratio`` to the reference, ``ms``, the reference
        (`mnas.search.evaluate.target_record`); 0 ms means the reference's own latency."""
        ...

    def table_entries(self) -> dict | None:
        """The benchmark table a predictor may be fitted on, or None."""
        ...

    def evaluate(self, jobs: Sequence[Job], should_stop: Callable[[], bool]) -> Iterator[dict | None]:
        """Each job's figures, in the jobs' order (None: stopped before that job finished)."""
        ...

    def close(self) -> None:
        """Release what the executor holds (a Ray instance, a resident reference network)."""
        ...
