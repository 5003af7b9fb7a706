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
import gzip
import hashlib
import itertools
import json
import math
import os
import random
import statistics
import zlib
from pathlib import Path
from typing import Callable

from ..fileio import atomic_write_bytes, atomic_write_text
from ..locks import expand_folder, output_folder_lock
from ..machine import machine_record
from .config import CHILD_MEASUREMENT, SearchConfig
from .evaluate import load_proxy_data, target_record
from .executor import make_executor
from .log import ChildLog
from .space import SearchSpace

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
        different = [k for k in CHILD_MEASUREMENT if stored["config"].get(k) != settings["config"][k]]
        different += [k for k in ("data_root", "plan") if stored[k] != settings[k]]
        if different:
            raise ValueError(f"output folder {output} holds a table built with other settings "
                             f"({', '.join(different)}): resume with the same settings or choose another folder")
        machines = stored["machines"]
    machines.append(machine_record(latency_engine=config.latency_engine, latency_threads=config.threads,
                                   train_threads=config.train_threads, executor=config.executor))
    atomic_write_text(path, json.dumps({**settings, "machines": machines}, indent=2))


# ----------------------------------------------------------------------------- the shipped table file

def pack_table(build_folder: str | os.PathLike, destination: str | os.PathLike) -> dict:
    """Write the measured entries as one gzip'd JSON file (header: the build's settings and machines)
    and a ``.sha256`` beside it; returns the header. Both written atomically, the table first: a
    failed write keeps the previous pair, and a table newer than its checksum is refused, not trusted."""
    build_folder = Path(build_folder)
    build = json.loads((build_folder / BUILD_FILE).read_text(encoding="utf-8"))
    entries = sorted(ChildLog(build_folder / ENTRIES_LOG).read(), key=lambda e: e["arch"])
    space = table_space(build["config"]["width"])
    header = {**build, "entries": len(entries), "space_size": space.size, "columns": list(COLUMNS)}
    payload = json.dumps({"header": header, "entries": entries}, separators=(",", ":")).encode()
    destination = Path(destination)
    compressed = gzip.compress(payload, compresslevel=9, mtime=0)
    atomic_write_bytes(destination, compressed)
    atomic_write_text(_checksum_file(destination), f"{hashlib.sha256(compressed).hexdigest()}  {destination.name}\n")
    return header


def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _table_bytes(path: Path) -> bytes:
    """The packed file's bytes, once they match the SHA-256 in the ``.sha256`` beside it."""
    checksum_file = _checksum_file(path)
    for file in (path, checksum_file):
        if file.is_dir():
            raise ValueError(f"benchmark table {path}: {file.name} is a directory, expected a file")
    if not path.is_file():
        raise FileNotFoundError(f"benchmark table {path} not found")
    if not checksum_file.is_file():
        raise ValueError(f"benchmark table {path}: no {checksum_file.name} beside it to check it against")
    words = checksum_file.read_text(encoding="utf-8", errors="replace").split()
    if not words:
        raise ValueError(f"benchmark table {path}: its {checksum_file.name} is empty: expected the table's "
                         "SHA-256 (64 hex digits); pack it again")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != words[0].lower():
        raise ValueError(f"benchmark table {path}: its SHA-256 does not match {checksum_file.name}: the file "
                         "is damaged or was changed; pack it again")
    return data


def _parse_table(path: Path, data: bytes) -> tuple[dict, list]:
    """(header, entries) of the gzip'd JSON; what is wrong with it, named, when it is not a table."""
    try:
        table = json.loads(gzip.decompress(data))
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"benchmark table {path}: not a valid gzip file ({type(error).__name__}: {error}): "
                         "expected the gzip'd JSON that 'python -m mnas table pack' writes") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"benchmark table {path}: its content is not valid JSON ({error}): expected the "
                         "JSON that 'python -m mnas table pack' writes") from None
    if not isinstance(table, dict) or not isinstance(table.get("header"), dict):
        raise ValueError(f"benchmark table {path}: no 'header' (a dict of the build's settings): expected "
                         "{'header': {...}, 'entries': [...]}; pack it again")
    if not isinstance(table.get("entries"), list) or not all(isinstance(e, dict) for e in table["entries"]):
        raise ValueError(f"benchmark table {path}: its 'entries' must be a list of dicts (one per "
                         "architecture); pack it again")
    return table["header"], table["entries"]


def load_table(path: str | os.PathLike) -> tuple[dict, dict[str, dict]]:
    """(header, {arch: entry}) of a packed table; its checksum, format and columns checked (a ValueError
    naming the file and what is wrong; FileNotFoundError when it is missing)."""
    path = Path(path)
    header, entries = _parse_table(path, _table_bytes(path))
    for entry in entries:
        missing = [c for c in COLUMNS if c not in entry]
        if (missing or not isinstance(entry["accuracy"], list) or not entry["accuracy"]
                or not isinstance(entry["latency_ratio"], list)
                or len(entry["accuracy"]) != len(entry["latency_ratio"])):
            raise ValueError(f"benchmark table {path}: entry {str(entry.get('arch', '?'))[:60]!r} lacks "
                             f"columns {missing or 'or has mismatched seeds'}")
    return header, {entry["arch"]: entry for entry in entries}


def seed_noise(entries: dict[str, dict]) -> dict:
    """The proxy's noise as the table knows it: the mean within-entry standard deviation of accuracy
    and of the latency ratio over the entries measured with several seeds."""
    repeated = [e for e in entries.values() if len(e["accuracy"]) > 1]

    def mean_std(column):
        stds = []
        for e in repeated:
            values = e[column]
            mean = sum(values) / len(values)
            stds.append(math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)))
        return sum(stds) / len(stds) if stds else float("nan")

    return {"entries_with_seeds": len(repeated), "accuracy_std": mean_std("accuracy"),
            "latency_ratio_std": mean_std("latency_ratio")}


# ------------------------------------------------------------------------------------------ table mode

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "b1_blocks2to5_op_kernel.json.gz"


class TableExecutor:
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
                             "evaluates children of mnas.search.table.table_space() only")
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
