"""The search's executor in surrogate mode: children of the whole space evaluated in milliseconds.

Each child's accuracy is the surrogate's recipe-F prediction plus one draw of the measured seed noise
(seeded by the child's training seed, so a search is deterministic and resumes exactly); its latency is
the chosen engine's latency model, as a paired ratio to the B1 skeleton like the live meter's.
``seconds`` is the build's mean training time, so time budgets read as live ones.  Networks outside
the space are refused: the surrogate knows nothing of them.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from mnas.search.config import INPUT_SIZE, SearchConfig
from mnas.search.evaluate import target_record
from mnas.search.interfaces import Executor
from mnas.search.space import SearchSpace
from mnas.search.surrogate.features import SpaceIndex, arch_costs, parsed
from mnas.search.surrogate.model import Surrogate, measured_architectures
from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, load_runs

MEASURED_CLASSES = 10  # the build measures on CIFAR-10


class SurrogateExecutor(Executor):
    name = "surrogate"
    workers = 1

    def __init__(self, config: SearchConfig):
        self.path = Path(config.surrogate_file) if config.surrogate_file else DEFAULT_SURROGATE
        self.header, runs = load_runs(self.path)
        self.engine = config.latency_engine
        self.space = SearchSpace(width=self.header["base_width"])
        self.index = SpaceIndex(self.space)
        measured = measured_architectures(runs)
        self.surrogate = Surrogate(measured)
        # the reference families (B1, MobileNetV2 at 4 widths) lie outside the space: they are looked up
        # as measured (their seeds' recipe-F accuracies, their paired latency), never predicted
        self.references = {m.arch: m for m in measured if m.role == "reference"}
        if self.engine not in self.surrogate.latency_models:
            raise ValueError(f"surrogate measurements {self.path.name} have no latency model for latency_engine "
                             f"{self.engine!r}: expected one of {', '.join(self.surrogate.latency_models)}")
        timed = [run["latency"][self.engine] for run in runs if self.engine in run.get("latency", {})]
        self.reference_ms = statistics.median(t["reference_ms"] for t in timed)
        self.seconds = statistics.fmean(run["train_seconds"] for run in runs)
        self._predicted: dict[str, dict] = {}

    def target(self, target_latency_ms: float) -> dict:
        return target_record(target_latency_ms, self.space.skeleton_arch(), self.reference_ms, 1.0)

    def table_entries(self) -> None:
        return None

    def _predict(self, archs) -> None:
        """Compute the noise-free figures of the architectures not seen yet, all in one prediction (a
        regressor's call costs far more than a row)."""
        new = list(dict.fromkeys(arch for arch in archs if arch not in self._predicted))
        for arch in [a for a in new if a in self.references]:
            self._predicted[arch] = self._measured(self.references[arch])
        new = [arch for arch in new if arch not in self.references]
        for arch in new:
            if not self.index.contains(arch):
                raise ValueError(f"architecture {arch[:70]!r}... is not a network of the search space ("
                                 f"{self.space.describe()}) nor a measured reference: surrogate mode evaluates "
                                 "children of mnas.search.space.SearchSpace() and the reference families at "
                                 "their measured widths only")
        if not new:
            return
        ratios = self.surrogate.latency_ratio(new, self.engine)
        accuracies = self.surrogate.accuracy(new)
        for arch, ratio, accuracy in zip(new, ratios.tolist(), accuracies.tolist()):
            macs, params = arch_costs(parsed(arch), INPUT_SIZE, MEASURED_CLASSES)
            self._predicted[arch] = {"surrogate_accuracy": accuracy, "latency_ratio": ratio,
                                     "latency_ms": ratio * self.reference_ms, "macs": macs, "params": params}

    def _measured(self, reference) -> dict:
        macs, params = arch_costs(parsed(reference.arch), INPUT_SIZE, MEASURED_CLASSES)
        ratio = reference.latency[self.engine]
        return {"surrogate_accuracy": reference.accuracy, "latency_ratio": ratio,
                "latency_ms": ratio * self.reference_ms, "macs": macs, "params": params,
                "measured_seeds": len(reference.accuracies)}

    def truth(self, archs) -> list[dict]:
        """The noise-free figures of each architecture (what a search's answer is scored by)."""
        archs = list(archs)
        self._predict(archs)
        return [self._predicted[arch] for arch in archs]

    def lookup(self, arch: str, seed: int) -> dict:
        self._predict([arch])
        predicted = self._predicted[arch]
        if arch in self.references:  # one of its measured seeds, as a training of it would give
            accuracies = self.references[arch].accuracies
            accuracy = accuracies[seed % len(accuracies)]
        else:
            accuracy = self.surrogate.seed_draw(predicted["surrogate_accuracy"], seed)
        return {"arch": arch, **predicted, "accuracy": accuracy,
                "train_seconds": self.seconds, "latency_spread": 0.0, "reference_ms": self.reference_ms,
                "seconds": self.seconds}

    def evaluate(self, jobs, should_stop):
        jobs = list(jobs)
        self._predict(arch for arch, _ in jobs)
        for arch, seed in jobs:
            yield self.lookup(arch, seed)

    def close(self) -> None:
        pass

