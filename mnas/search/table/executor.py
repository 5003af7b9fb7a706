"""Table mode: a search's children looked up in a benchmark table instead of trained and timed."""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

from mnas.search.config import SearchConfig
from mnas.search.evaluate import target_record
from mnas.search.interfaces import Executor
from mnas.search.table.build import table_space
from mnas.search.table.file import DEFAULT_TABLE, load_table, seed_noise


class TableExecutor(Executor):
    """The search's executor in table mode: children looked up, not trained, in milliseconds.

    A lookup draws one of the entry's measured seeds (seeded by the child's training seed); an entry
    measured with one seed gets the table's measured seed noise added to its accuracy (a normal draw
    with the standard deviation of the repeated entries), so the reward stays as noisy as live.
    ``seconds`` is what the entry cost to measure, so throughput and time budgets read as live ones.
    """

    name = "table"
    workers = 1

    def __init__(self, config: SearchConfig):
        path = Path(config.table_file) if config.table_file else DEFAULT_TABLE
        if not path.is_file():
            raise FileNotFoundError(f"benchmark table {path} not found: build one with 'python -m mnas table "
                                    "build' then 'python -m mnas table pack', or give table_file")
        self.path = path
        self.header, self.entries = load_table(path)
        self.space = table_space(self.header["config"]["width"])
        self.reference = self.space.skeleton_arch()
        if self.reference not in self.entries:
            raise ValueError(f"benchmark table {path} has no entry for the reference (the B1 skeleton): it "
                             "is incomplete; finish its build or use another table")
        self.accuracy_std = seed_noise(self.entries)["accuracy_std"]

    def target(self, target_latency_ms: float) -> dict:
        reference = self.entries[self.reference]
        return target_record(target_latency_ms, self.reference, statistics.median(reference["reference_ms"]),
                             statistics.median(reference["latency_ratio"]))

    def table_entries(self) -> None:
        return None

    def lookup(self, arch: str, seed: int) -> dict:
        entry = self.entries.get(arch)
        if entry is None:
            raise ValueError(f"architecture {arch[:70]!r}... is not in the benchmark table {self.path.name} "
                             f"({len(self.entries):,} entries of a {self.space.describe()}): table mode "
                             "evaluates children of mnas.search.table.build.table_space() only")
        generator = random.Random(seed)
        index = generator.randrange(len(entry["accuracy"]))
        accuracy = entry["accuracy"][index]
        if len(entry["accuracy"]) == 1 and math.isfinite(self.accuracy_std):
            accuracy = min(1.0, max(0.0, accuracy + generator.gauss(0.0, self.accuracy_std)))
        return {"arch": arch, "accuracy": accuracy, "macs": entry["macs"], "params": entry["params"],
                "train_seconds": entry["train_seconds"][index], "latency_ratio": entry["latency_ratio"][index],
                "latency_spread": 0.0, "latency_ms": entry["latency_ms"][index],
                "reference_ms": entry["reference_ms"][index], "seconds": entry["train_seconds"][index],
                "table_accuracy": statistics.fmean(entry["accuracy"]),
                "table_latency_ratio": statistics.median(entry["latency_ratio"])}

    def evaluate(self, jobs, should_stop):
        for arch, seed in jobs:
            yield self.lookup(arch, seed)

    def close(self) -> None:
        pass
