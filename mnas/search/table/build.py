"""A benchmark table of a MnasNet sub-space, measured by the live search's own evaluator.

NAS-Bench-201 and HW-NAS-Bench measured every architecture of a space once, so that search strategies
can be compared over many seeds in seconds.  This module does that for a sub-space of `search_mini`'s
space: the blocks 2-5 of the 32 px B1 skeleton (its four multi-layer blocks, 11 of its 16 layers) each
choose their op among depthwise separable, MBConv e3 and MBConv e6 and their kernel among 3 and 5,
every other decision fixed at the skeleton's: 6^4 = 1,296 architectures, the skeleton among them
(its blocks 2-5 are MBConv e3/e6, k3/k5), spanning 13.1-17.5M MACs and 0.78-1.15x the skeleton's
latency.  Small enough to measure on a laptop in hours, large enough that random search does not find
the best by luck at small budgets.

Every entry is proxy-trained and timed exactly as the live search does it (`train_child`, the paired
meter against the same reference, the same settings: `SearchConfig`'s defaults), in a fixed shuffled
order, so a partial table is a uniform random sample of the sub-space; a fixed random
``repeat_fraction`` of the entries (20 %) is trained with ``seeds`` seeds (3), so the proxy's seed noise
is known.  The build appends one JSON line per finished entry (fsync'ed), resumes where it stopped,
holds its output folder's lock, and records the machine of every session in ``table_build.json``.

Columns of an entry: ``arch`` (the architecture string), ``decisions`` (the free decisions), ``params``,
``macs``, and one list per seed of ``accuracy`` (proxy validation top-1), ``latency_ratio`` (paired,
x the reference), ``latency_ms``, ``reference_ms`` and ``train_seconds``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import random
from pathlib import Path
from typing import Callable

from mnas.search.config import CHILD_MEASUREMENT, SearchConfig
from mnas.search.evaluate import load_proxy_data
from mnas.search.executor import make_executor
from mnas.search.log import ChildLog
from mnas.search.space import SearchSpace
from mnas.settings import stored_fields
from mnas.utils.fileio import atomic_write_text
from mnas.utils.locks import expand_folder, output_folder_lock
from mnas.utils.machine import machine_record

TABLE_BLOCKS = (1, 2, 3, 4)           # the skeleton's blocks 2-5 (0-based indices)
TABLE_OPS = ("dconv", "mbconv3", "mbconv6")
TABLE_KERNELS = (3, 5)
ENTRIES_LOG, BUILD_FILE = "table.jsonl", "table_build.json"
COLUMNS = ("arch", "decisions", "params", "macs", "accuracy", "latency_ratio", "latency_ms", "reference_ms",
           "train_seconds")


def table_space(width: float = 0.5) -> SearchSpace:
    """The sub-space: blocks 2-5 choose op and kernel, everything else is the skeleton's."""
    choices = {label: (value,) for label, value in SearchSpace(width=width).skeleton_decisions().items()}
    for block in TABLE_BLOCKS:
        choices[f"b{block}_op"] = TABLE_OPS
        choices[f"b{block}_kernel"] = TABLE_KERNELS
    return SearchSpace(width=width, choices=choices)


def all_decisions(space: SearchSpace) -> list[dict]:
    """Every architecture of `space`, as full decision dicts, in a fixed order."""
    options = [[(step.label, choice) for choice in step.choices] for step in space.steps]
    return [dict(combination) for combination in itertools.product(*options)]


def free_decisions(space: SearchSpace, decisions: dict) -> dict:
    return {step.label: decisions[step.label] for step in space.steps if len(step.choices) > 1}


@dataclasses.dataclass(frozen=True)
class BuildPlan:
    """Which entries, in which order, with how many seeds."""

    seeds: int = 3
    repeat_fraction: float = 0.2
    order_seed: int = 0

    def __post_init__(self):
        if self.seeds < 2 or not 0 <= self.repeat_fraction <= 1:
            raise ValueError(f"seeds must be >= 2 and repeat_fraction in [0, 1], got {self.seeds} and "
                             f"{self.repeat_fraction}")

    def order(self, space: SearchSpace) -> list[tuple[dict, int]]:
        """(decisions, seeds to train) per entry, in the build's shuffled order."""
        entries = all_decisions(space)
        generator = random.Random(self.order_seed)
        generator.shuffle(entries)
        repeated = set(generator.sample(range(len(entries)), round(self.repeat_fraction * len(entries))))
        return [(d, self.seeds if index in repeated else 1) for index, d in enumerate(entries)]


def build_table(data_root: str | os.PathLike, output: str | os.PathLike, config: SearchConfig | None = None,
                plan: BuildPlan | None = None, limit: int = 0, on_entry: Callable[[dict, int, int], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """Measure (or go on measuring) the table into `output`; `limit` > 0 stops after that many entries
    in all. Returns the entries measured so far."""
    config, plan = config or SearchConfig(), plan or BuildPlan()
    output = expand_folder(output)
    stop = should_stop or (lambda: False)
    with output_folder_lock(output, "table build"):
        _check_or_write_build(output, data_root, config, plan)
        space = table_space(config.width)
        log = ChildLog(output / ENTRIES_LOG)
        entries = log.read()
        done = {entry["arch"] for entry in entries}
        planned = [(space.arch(d), d, seeds) for d, seeds in plan.order(space)]
        todo = [item for item in planned if item[0] not in done]
        if limit:
            todo = todo[:max(0, limit - len(entries))]
        if not todo:
            return entries
        data = load_proxy_data(data_root, config.train_images, config.val_images, config.seed)
        executor = make_executor(data, config, space.skeleton_arch())
        total = limit or space.size
        try:
            batch = 2 * executor.workers
            for start in range(0, len(todo), batch):
                if stop():
                    break
                chunk = todo[start:start + batch]
                jobs = [(arch, seed) for arch, _, seeds in chunk for seed in range(seeds)]
                results = list(executor.evaluate(jobs, stop))
                if any(r is None for r in results):
                    break
                for arch, decisions, seeds in chunk:
                    runs, results = results[:seeds], results[seeds:]
                    entry = _entry(arch, free_decisions(space, decisions), runs)
                    log.append(entry)
                    entries.append(entry)
                    if on_entry:
                        on_entry(entry, len(entries), total)
        finally:
            executor.close()
    return entries


def _entry(arch: str, decisions: dict, runs: list[dict]) -> dict:
    entry = {"arch": arch, "decisions": decisions, "params": runs[0]["params"], "macs": runs[0]["macs"]}
    for column in COLUMNS[4:]:
        entry[column] = [run[column] for run in runs]
    return entry


def _check_or_write_build(output: Path, data_root, config: SearchConfig, plan: BuildPlan) -> None:
    path = output / BUILD_FILE
    settings = json.loads(json.dumps({"data_root": str(Path(data_root).resolve()),  # as stored: lists
                                      "config": dataclasses.asdict(config), "plan": dataclasses.asdict(plan)}))
    machines = []
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        stored_config = stored_fields(SearchConfig, stored["config"])  # a table built before a field was renamed
        different = [k for k in CHILD_MEASUREMENT if stored_config.get(k) != settings["config"][k]]
        different += [k for k in ("data_root", "plan") if stored[k] != settings[k]]
        if different:
            raise ValueError(f"output folder {output} holds a table built with other settings "
                             f"({', '.join(different)}): resume with the same settings or choose another folder")
        machines = stored["machines"]
    machines.append(machine_record(latency_engine=config.latency_engine, latency_threads=config.latency_threads,
                                   train_threads=config.train_threads, executor=config.executor))
    atomic_write_text(path, json.dumps({**settings, "machines": machines}, indent=2))


# ----------------------------------------------------------------------------- the shipped table file


# ------------------------------------------------------------------------------------------ table mode


