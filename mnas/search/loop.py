"""The search loop: sample -> proxy-train -> measure latency -> reward -> PPO update, one child at a time.

Each child is built from its architecture string, trained for a few epochs by the project's training
engine (`mnas.train.train`, unchanged) on a stratified subset of the dataset's ``train/`` folder,
scored on a held-out split of that same folder (``test/`` is never read), then its latency is measured
for real at batch 1 (after training, so nothing else of ours runs meanwhile) as a *paired ratio* to a
resident reference network, the B1 skeleton at the base width (`mnas.latency.PairedMeter`): LAT/T is
measured directly, in the same seconds for child and reference, so the machine's drift cancels.  The
reward ACC x (LAT/T)^w goes to the sampler: the PPO-trained controller (``rl``) or uniform random
search.

The log (``children.jsonl``) is the search's single source of truth: one JSON line per finished child,
appended, flushed and fsync'ed as the child finishes.  Resuming replays the log into a fresh sampler
(same seed: the controller samples the same children, receives the same logged rewards and takes the
same PPO steps, bit for bit), then carries on; a child interrupted mid-training is simply redone.

Output folder::

    search_config.json   settings, the target T and the machine (settings checked on resume)
    children.jsonl       the searched children       random.jsonl   random search at equal budget
    baselines.jsonl      the B1 skeleton at several widths, same proxy training
    latency_table.json   per-layer lookup table (predictor)
    controller.pt        controller + PPO state at the end (weights_only loadable)
    summary.json         best child, Pareto front, predictor quality, throughput
    pareto.png           accuracy vs measured latency, baselines drawn in
    curves.png           reward and controller entropy over the children
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Callable, Iterable

import torch

from ..data import ImageDataset, find_dataset_splits, load_split, stratified_split
from ..fileio import atomic_torch_save, atomic_write_text
from ..locks import expand_folder, output_folder_lock
from ..latency import ENGINES, LatencyTable, PairedLatency, PairedMeter, torch_threads
from ..machine import machine_record
from ..models import count_macs, count_params, create_model
from ..train import TrainConfig, train
from .controller import PPO, Controller, PPOConfig
from .reward import SOFT_W, Objective, objective
from .space import SearchSpace

logger = logging.getLogger(__name__)

SAMPLERS = ("rl", "random")
INPUT_SIZE = 32
PRECISE_BN_IMAGES = 512  # BN statistics re-estimated after the short proxy run (engine's precise BN)
CHILDREN_LOG, RANDOM_LOG, BASELINES_LOG = "children.jsonl", "random.jsonl", "baselines.jsonl"
CONFIG_FILE, TABLE_FILE, SUMMARY_FILE = "search_config.json", "latency_table.json", "summary.json"
# Settings a budget change may alter on resume; every other one must match the log's.
_RESUMABLE_CHANGES = {"budget_children", "budget_minutes", "compare_random", "baseline_widths",
                      "train_threads"}


@dataclasses.dataclass
class SearchConfig:
    """Every setting of a search (validated on creation; errors name the field)."""

    budget_children: int = 24
    budget_minutes: float = 0.0          # 0: no time budget; else no new child starts after it
    target_latency_ms: float = 0.0       # T in ms; 0: T is the reference's (B1 skeleton's) latency
    constraint: str = "soft"             # soft (alpha = beta = w) | hard (alpha = 0, beta = -1)
    w: float = SOFT_W
    proxy_epochs: int = 1
    train_images: int = 1600             # proxy training images from train/ (stratified)
    val_images: int = 800                # held-out validation images from train/ (stratified)
    batch_size: int = 32                 # small batches: more steps per image seen in a short run
    lr: float = 0.02                     # best of 0.02 / 0.05 / 0.1 for a 50-step proxy run (measured)
    seed: int = 0
    sampler: str = "rl"
    latency_engine: str = "onnxruntime"  # the runtime infer_mnasnet ships (chosen by bench/latency_bench.py)
    threads: int = 1                     # latency threads (the paper: one phone core)
    # Proxy-training threads (0: all cores). One by default: on this 2-core machine shared with other
    # jobs (load ~5), the B1 skeleton's proxy run took 19 s with one thread and 160 s with two.
    train_threads: int = 1
    latency_rounds: int = 10             # paired rounds: one burst of the reference, one of the child
    latency_burst: int = 10              # calls per burst; the fastest of a burst counts
    width: float = 0.5                   # skeleton base width (filters 0.75-1.25 x this)
    baseline_widths: tuple[float, ...] = (0.35, 0.5, 0.75, 1.0)
    compare_random: bool = False         # also run random search with the same budget
    predictor: bool = True               # predict each child's latency from the per-layer table
    controller_hidden: int = 64
    ppo_lr: float = PPOConfig.lr
    ppo_batch: int = PPOConfig.batch
    entropy_weight: float = PPOConfig.entropy_weight

    def __post_init__(self):
        self.baseline_widths = tuple(float(w) for w in self.baseline_widths)
        for field in dataclasses.fields(self):  # inf / nan would reach the reward and the PPO logits
            value = getattr(self, field.name)
            if field.type in ("int", "float") and not (isinstance(value, (int, float))
                                                       and math.isfinite(value)):
                raise ValueError(f"search setting {field.name} must be a finite number, got {value!r}")
        if not all(map(math.isfinite, self.baseline_widths)):
            raise ValueError(f"search setting baseline_widths must be finite numbers, got {self.baseline_widths}")
        checks = [
            ("budget_children", self.budget_children >= 1, "an integer >= 1"),
            ("budget_minutes", self.budget_minutes >= 0, "a number >= 0 (0: no time budget)"),
            ("target_latency_ms", self.target_latency_ms >= 0, "a number >= 0 (0: measure the baseline)"),
            ("constraint", self.constraint in ("soft", "hard"), "'soft' or 'hard'"),
            ("w", self.w <= 0, "a number <= 0, e.g. -0.07"),
            ("proxy_epochs", self.proxy_epochs >= 1, "an integer >= 1"),
            ("train_images", self.train_images >= 2, "an integer >= 2"),
            ("val_images", self.val_images >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 2, "an integer >= 2"),
            ("lr", self.lr > 0, "a number > 0"),
            ("sampler", self.sampler in SAMPLERS, f"one of {', '.join(SAMPLERS)}"),
            ("latency_engine", self.latency_engine in ENGINES, f"one of {', '.join(ENGINES)}"),
            ("threads", self.threads >= 1, "an integer >= 1"),
            ("train_threads", self.train_threads >= 0, "an integer >= 0 (0: all cores)"),
            ("latency_rounds", self.latency_rounds >= 3, "an integer >= 3"),
            ("latency_burst", self.latency_burst >= 1, "an integer >= 1"),
            ("width", self.width > 0, "a number > 0"),
            ("baseline_widths", all(w > 0 for w in self.baseline_widths), "numbers > 0"),
            ("controller_hidden", self.controller_hidden >= 1, "an integer >= 1"),
            ("ppo_lr", self.ppo_lr > 0, "a number > 0"),
            ("ppo_batch", self.ppo_batch >= 1, "an integer >= 1"),
            ("entropy_weight", self.entropy_weight >= 0, "a number >= 0"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"search setting {name} must be {expected}, got {getattr(self, name)!r}")

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(epochs=self.proxy_epochs, batch_size=self.batch_size, lr=self.lr,
                           input_size=INPUT_SIZE, seed=seed, precise_bn_images=PRECISE_BN_IMAGES)


# ------------------------------------------------------------------------------------------- the log

class ChildLog:
    """Append-only JSONL, one finished child per line, durable line by line."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self) -> list[dict]:
        """The finished children; a torn last line (a kill mid-write) is dropped from the file."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        records = []
        for number, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if number != len(lines) - 1:
                    raise ValueError(f"{self.path}: line {number + 1} is not JSON: the log is damaged "
                                     "(only a torn last line can be repaired)") from None
                atomic_write_text(self.path, "".join(lines[:-1]))
        if lines and not lines[-1].endswith("\n") and len(records) == len(lines):
            atomic_write_text(self.path, "".join(lines) + "\n")
        return records

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


# -------------------------------------------------------------------------------------------- samplers

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


# ------------------------------------------------------------------------------------ one evaluation

@dataclasses.dataclass
class ProxyData:
    train: ImageDataset
    val: ImageDataset


def load_proxy_data(root: str | os.PathLike, train_images: int, val_images: int,
                    seed: int = 0) -> ProxyData:
    """Stratified train/validation subsets of `root`/train/, decoded once (never reads test/)."""
    splits = find_dataset_splits(root)
    classes = splits.class_names
    per_class_val = max(1, math.ceil(val_images / len(classes)))
    per_class_train = max(1, math.ceil(train_images / len(classes)))
    pool = load_split(splits.train_dir, classes=classes, limit_per_class=per_class_train + per_class_val)
    short = [(name, n) for name, n in zip(classes, pool.class_counts()) if n < per_class_train + per_class_val]
    if short:  # never shrink the proxy training silently
        raise ValueError(f"train_images {train_images} + val_images {val_images} need {per_class_train} + "
                         f"{per_class_val} images per class, but class {short[0][0]!r} of {splits.train_dir} "
                         f"has {short[0][1]} readable: expected train_images + val_images <= "
                         f"{min(n for _, n in short) * len(classes)}")
    counts = [min(per_class_val, n - 1) for n in pool.class_counts()]
    train_set, val_set = stratified_split(pool, counts=counts, seed=seed)
    return ProxyData(train_set, val_set)


class Evaluator:
    """Proxy-train, measure and score one architecture string.

    Latency is the paired ratio to the reference network (the B1 skeleton at the base width), so the
    reward's LAT/T is `ratio / target_ratio`, where `target_ratio` is 1 when T is the reference's own
    latency, or a user-given T in ms divided by the reference's ms measured by the same meter.
    """

    def __init__(self, data: ProxyData, config: SearchConfig, reference_arch: str,
                 table: LatencyTable | None):
        self.data, self.config, self.table = data, config, table
        self.reference_arch = reference_arch
        self.meter = PairedMeter(create_model(reference_arch, data.train.num_classes, INPUT_SIZE), INPUT_SIZE,
                                 engine=config.latency_engine, threads=config.threads,
                                 rounds=config.latency_rounds, burst=config.latency_burst)
        self.objective: Objective | None = None

    def latency(self, arch: str) -> PairedLatency:
        return self.meter.measure(create_model(arch, self.data.train.num_classes, INPUT_SIZE))

    def predicted_ratio(self, arch: str) -> float:
        """The lookup table's prediction in the meter's unit: predicted child / predicted reference."""
        num_classes = self.data.train.num_classes
        return (self.table.predict(arch, INPUT_SIZE, num_classes)
                / self.table.predict(self.reference_arch, INPUT_SIZE, num_classes))

    def __call__(self, arch: str, seed: int, should_stop: Callable[[], bool] | None = None) -> dict | None:
        """The child's log record (without step/sampler fields), or None when stopped mid-training."""
        started = time.perf_counter()
        torch.manual_seed(seed)
        num_classes = self.data.train.num_classes
        model = create_model(arch, num_classes, INPUT_SIZE)
        with torch_threads(self.config.train_threads or torch.get_num_threads()):
            result = train(model, self.data.train, self.data.val, self.config.train_config(seed),
                           should_stop=should_stop)
        if result.stopped or result.final is None:
            return None
        train_seconds = time.perf_counter() - started
        # Measured after training returns: no training of ours runs during the measurement.
        latency = self.meter.measure(model)
        accuracy = float(result.final.top1)
        record = {"arch": arch, "accuracy": accuracy, "latency_ratio": latency.ratio,
                  "latency_spread": latency.spread, "latency_ms": latency.median_ms,
                  "reference_ms": latency.reference_median_ms, "macs": count_macs(model, INPUT_SIZE),
                  "params": count_params(model), "reward": self.objective(accuracy, latency.ratio),
                  "train_seconds": train_seconds}
        if self.table is not None:
            record["predicted_latency_ratio"] = self.predicted_ratio(arch)
        record["seconds"] = time.perf_counter() - started
        return record


# ------------------------------------------------------------------------------------------ the search

@dataclasses.dataclass
class SearchResult:
    output_dir: Path
    children: list[dict]
    random_children: list[dict]
    baselines: list[dict]
    summary: dict


ChildCallback = Callable[[str, dict, int, int], None]  # (phase, record, index, total)


class Search:
    """A resumable search in `output_dir` over the dataset folder `data_root`."""

    def __init__(self, data_root: str | os.PathLike, output_dir: str | os.PathLike,
                 config: SearchConfig | None = None):
        self.data_root = Path(data_root)
        self.output_dir = expand_folder(output_dir)
        self.config = config or SearchConfig()
        self.space = SearchSpace(width=self.config.width)
        with output_folder_lock(self.output_dir, "search"):  # refused while another search runs there
            self._check_or_write_settings()

    # settings ---------------------------------------------------------------------------------
    def _settings(self) -> dict:
        return {"data_root": str(self.data_root.resolve()), "config": dataclasses.asdict(self.config)}

    def _check_or_write_settings(self) -> None:
        path = self.output_dir / CONFIG_FILE
        settings = self._settings()
        self.target: dict | None = None  # {"ratio": LAT/T of the reference, "ms": T, "reference_ms": ...}
        self.machines: list[dict] = []   # the machine of every session that ran this search
        if path.is_file():
            stored = json.loads(path.read_text(encoding="utf-8"))
            old, new = stored["config"], settings["config"]
            different = sorted(k for k in new if k not in _RESUMABLE_CHANGES and old.get(k) != new[k])
            if stored["data_root"] != settings["data_root"]:
                different.insert(0, "data_root")
            if different:
                raise ValueError(f"output folder {self.output_dir} holds a search with other settings "
                                 f"({', '.join(f'{k}: {old.get(k, stored.get(k))!r}' for k in different)}): "
                                 "resume with the same settings or choose another output folder")
            self.target, self.machines = stored.get("target"), stored.get("machines", [])
        self.machines.append(machine_record(latency_engine=self.config.latency_engine,
                                            latency_threads=self.config.threads,
                                            train_threads=self.config.train_threads))
        self._write_settings()

    def _write_settings(self) -> None:
        atomic_write_text(self.output_dir / CONFIG_FILE, json.dumps(
            {**self._settings(), "target": self.target, "machines": self.machines}, indent=2))

    def _measure_target(self, evaluator: Evaluator) -> dict:
        """T as a ratio to the reference: 1 by definition, or a user's ms over the reference's ms, both
        timed by the search's own meter (the reference against itself)."""
        reference = evaluator.latency(evaluator.reference_arch)
        reference_ms = reference.reference_median_ms
        target_ms = self.config.target_latency_ms or reference_ms
        return {"ratio": target_ms / reference_ms, "ms": target_ms, "reference_ms": reference_ms,
                "reference_arch": evaluator.reference_arch, "self_ratio": reference.ratio}

    # running ------------------------------------------------------------------------------------
    def run(self, on_child: ChildCallback | None = None,
            should_stop: Callable[[], bool] | None = None) -> SearchResult:
        """Run (or resume) the search, the baselines and the random comparison; write the outputs.

        The output folder's lock is held throughout (`mnas.locks`): a second search there is refused.
        """
        with output_folder_lock(self.output_dir, "search"):
            return self._run_locked(on_child, should_stop)

    def _run_locked(self, on_child: ChildCallback | None, should_stop) -> SearchResult:
        cfg = self.config
        table_path = self.output_dir / TABLE_FILE
        table = None
        if cfg.predictor:
            entries = json.loads(table_path.read_text())["entries"] if table_path.is_file() else None
            table = LatencyTable(cfg.latency_engine, cfg.threads, entries=entries)
        evaluator = Evaluator(load_proxy_data(self.data_root, cfg.train_images, cfg.val_images, cfg.seed),
                              cfg, self.space.skeleton_arch(), table)
        if self.target is None:
            self.target = self._measure_target(evaluator)
            self._write_settings()
        evaluator.objective = objective(cfg.constraint, self.target["ratio"], cfg.w)
        stop = should_stop or (lambda: False)

        baselines = self._run_baselines(evaluator, on_child, stop)
        children = self._run_sampler(cfg.sampler, CHILDREN_LOG, cfg.budget_children, evaluator,
                                     on_child, stop, time_budget=True)
        random_children = []
        if cfg.compare_random and cfg.sampler != "random":
            random_children = self._run_sampler("random", RANDOM_LOG, len(children), evaluator,
                                                on_child, stop, time_budget=False)
        if table is not None:
            atomic_write_text(table_path, json.dumps(table.to_dict(), indent=1))
        from .report import write_report

        summary = write_report(self.output_dir, self.space, self.target, cfg, children,
                               random_children, baselines)
        return SearchResult(self.output_dir, children, random_children, baselines, summary)

    def _run_baselines(self, evaluator: Evaluator, on_child, stop) -> list[dict]:
        log = ChildLog(self.output_dir / BASELINES_LOG)
        done = log.read()
        finished = {r["width"] for r in done}
        widths = self.config.baseline_widths
        for index, width in enumerate(widths):
            if width in finished or stop():
                continue
            record = evaluator(self.space.skeleton_arch(width), self._child_seed(index, 10_000),
                               should_stop=stop)
            if record is None:
                break
            record = {"step": index, "sampler": f"b1_x{width:g}", "width": width, **record}
            log.append(record)
            done.append(record)
            if on_child:
                on_child("baseline", record, index, len(widths))
        return [r for r in done if r["width"] in widths]

    def _run_sampler(self, name: str, log_name: str, budget: int, evaluator: Evaluator, on_child,
                     stop, time_budget: bool) -> list[dict]:
        log = ChildLog(self.output_dir / log_name)
        records = log.read()
        sampler = make_sampler(name, self.space, self.config)
        replay(sampler, self.space, records)
        minutes = self.config.budget_minutes if time_budget else 0.0
        while len(records) < budget and not stop():
            if minutes and sum(r["seconds"] for r in records) >= minutes * 60:
                break
            step = len(records)
            actions, log_prob, entropy = sampler.propose()
            decisions = self.space.decisions(actions)
            record = evaluator(self.space.arch(decisions), self._child_seed(step), should_stop=stop)
            if record is None:  # stopped mid-training: the child is not finished, nothing logged
                break
            record = {"step": step, "sampler": name, "decisions": decisions, "entropy": entropy,
                      "log_prob": log_prob, **record}
            log.append(record)  # durable before the controller learns from it
            sampler.observe(actions, log_prob, record["reward"])
            records.append(record)
            if on_child:
                on_child(name, record, step, budget)
        if name == "rl":
            atomic_torch_save(sampler.state(), self.output_dir / "controller.pt")
        return records

    def _child_seed(self, index: int, offset: int = 0) -> int:
        return self.config.seed * 1_000_003 + offset + index
