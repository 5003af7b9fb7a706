"""The search loop: sample a batch -> proxy-train -> time -> reward -> PPO update, resumable.

The sampler (`mnas.search.samplers`: the PPO-trained controller ``rl`` or uniform ``random``) proposes
a batch of children, one PPO batch (``ppo_batch``) at a time; an executor (`mnas.search.executor`:
``local``, one child at a time, or ``ray``, the batch in parallel) proxy-trains each child on a split of
the dataset's ``train/`` folder and times it as a paired ratio to the B1 skeleton at the base width
(`mnas.search.evaluate`), and the reward ACC x (LAT/T)^w goes back to the sampler in the batch's order.
The batch is a PPO hyper-parameter, not the number of workers, so a seed gives the same children on any
cluster size; proposals made before a batch's rewards are the ones interleaved sampling would make,
because the controller changes only at a PPO update, at the end of a batch.

The log (``children.jsonl``) is the search's single source of truth: one JSON line per finished child,
appended, flushed and fsync'ed in step order.  Resuming replays the log into a fresh sampler (same seed:
the controller samples the same children, receives the same logged rewards and takes the same PPO
steps, bit for bit) and completes the interrupted batch first, so a resumed search, local or Ray, equals
an uninterrupted one where the rewards are equal; a child interrupted mid-training is simply redone.

Output folder::

    search_config.json   settings, the target T and the machine of every session (settings checked on resume)
    children.jsonl       the searched children       random.jsonl   random search at equal budget
    baselines.jsonl      the B1 skeleton at several widths, same proxy training
    latency_table.json   per-layer lookup table (predictor)
    controller.pt        controller + PPO state at the end (weights_only loadable)
    summary.json         best child, Pareto front, predictor quality, throughput
    pareto.png           accuracy vs paired latency, baselines drawn in
    curves.png           reward and controller entropy over the children
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Callable

from mnas.search.config import EXECUTORS, INPUT_SIZE, LOOKUP_EVALUATORS, RESUMABLE_CHANGES, SAMPLERS, SearchConfig
from mnas.search.evaluate import ProxyData, load_proxy_data, train_child
from mnas.search.executor import TrainFn, make_executor, parse_ray_address
from mnas.search.log import ChildLog
from mnas.search.reward import objective
from mnas.search.samplers import RandomSampler, RLSampler, make_sampler, replay
from mnas.search.space import SearchSpace
from mnas.search.table.build import table_space
from mnas.search.table.executor import TableExecutor
from mnas.settings import stored_fields
from mnas.utils.fileio import atomic_torch_save, atomic_write_text
from mnas.utils.locks import expand_folder, output_folder_lock
from mnas.utils.machine import machine_record

__all__ = ["EXECUTORS", "INPUT_SIZE", "SAMPLERS", "ChildLog", "ProxyData", "RLSampler", "RandomSampler", "Search",
           "SearchConfig", "SearchResult", "load_proxy_data", "child_seed", "make_sampler", "replay", "run_children"]


logger = logging.getLogger(__name__)

CHILDREN_LOG, RANDOM_LOG, BASELINES_LOG = "children.jsonl", "random.jsonl", "baselines.jsonl"
CONFIG_FILE, TABLE_FILE, SUMMARY_FILE = "search_config.json", "latency_table.json", "summary.json"


@dataclasses.dataclass
class SearchResult:
    output_dir: Path
    children: list[dict]
    random_children: list[dict]
    baselines: list[dict]
    summary: dict


ChildCallback = Callable[[str, dict, int, int], None]  # (phase, record, index, total)


class Search:
    """A resumable search in `output_dir` over the dataset folder `data_root` (None when nothing reads data:
    children looked up in the benchmark table or the surrogate; `benchmark_search` makes one).

    `train_fn` replaces the proxy training (`mnas.search.evaluate.train_child`'s signature): tests use
    it to make a deterministic or failing evaluator; everything else stays real.
    """

    def __init__(self, data_root: str | os.PathLike | None, output_dir: str | os.PathLike,
                 config: SearchConfig | None = None, train_fn: TrainFn = train_child):
        self.config = config or SearchConfig()
        self.reads_data = self.config.evaluator not in LOOKUP_EVALUATORS  # lookup modes retrain nothing either
        if data_root is None and self.reads_data:
            raise ValueError(f"data_root: a dataset folder with train/<class>/ is needed (evaluator "
                             f"{self.config.evaluator!r} trains its children)")
        self.data_root = Path(data_root) if data_root is not None else None
        self.output_dir = expand_folder(output_dir)
        parse_ray_address(self.config.ray_address)  # a malformed address: refused before anything is written
        self.table_mode = self.config.evaluator == "table"
        self.lookup_mode = self.config.evaluator in LOOKUP_EVALUATORS  # children looked up, not trained
        self.space = table_space(self.config.width) if self.table_mode else SearchSpace(width=self.config.width)
        self.train_fn = train_fn
        with output_folder_lock(self.output_dir, "search"):  # refused while another search runs there
            self._check_or_write_settings()

    # settings ---------------------------------------------------------------------------------
    def _settings(self) -> dict:
        root = str(self.data_root.resolve()) if self.data_root is not None else None
        return {"data_root": root, "config": dataclasses.asdict(self.config)}

    def _check_or_write_settings(self) -> None:
        path = self.output_dir / CONFIG_FILE
        settings = self._settings()
        self.target: dict | None = None  # {"ratio": T / the reference's latency, "ms": T, ...}
        self.machines: list[dict] = []   # the machine of every session that ran this search
        if path.is_file():
            stored = json.loads(path.read_text(encoding="utf-8"))
            old, new = stored_fields(SearchConfig, stored["config"]), settings["config"]
            different = sorted(k for k in new if k not in RESUMABLE_CHANGES and old.get(k) != new[k])
            if self.reads_data and stored["data_root"] != settings["data_root"]:
                different.insert(0, "data_root")
            if different:
                raise ValueError(f"output folder {self.output_dir} holds a search with other settings "
                                 f"({', '.join(f'{k}: {old.get(k, stored.get(k))!r}' for k in different)}): "
                                 "resume with the same settings or choose another output folder")
            self.target, self.machines = stored.get("target"), stored.get("machines", [])
        cfg = self.config
        self.machines.append(machine_record(latency_engine=cfg.latency_engine, latency_threads=cfg.latency_threads,
                                            train_threads=cfg.train_threads, executor=cfg.executor))
        self._write_settings()

    def _write_settings(self) -> None:
        atomic_write_text(self.output_dir / CONFIG_FILE, json.dumps(
            {**self._settings(), "target": self.target, "machines": self.machines}, indent=2))

    # running ------------------------------------------------------------------------------------
    def run(self, on_child: ChildCallback | None = None,
            should_stop: Callable[[], bool] | None = None) -> SearchResult:
        """Run (or resume) the search, the baselines and the random comparison; write the outputs.

        The output folder's lock is held throughout (`mnas.utils.locks`): a second search there is refused.
        """
        with output_folder_lock(self.output_dir, "search"):
            return self._run_locked(on_child, should_stop or (lambda: False))

    def _run_locked(self, on_child: ChildCallback | None, stop) -> SearchResult:
        cfg = self.config
        table_path = self.output_dir / TABLE_FILE
        entries = json.loads(table_path.read_text())["entries"] if table_path.is_file() else None
        if self.table_mode:
            executor = TableExecutor(cfg)
        elif self.lookup_mode:
            from mnas.search.surrogate.executor import SurrogateExecutor

            executor = SurrogateExecutor(cfg)
        else:
            data = load_proxy_data(self.data_root, cfg.train_images, cfg.val_images, cfg.seed)
            executor = make_executor(data, cfg, self.space.skeleton_arch(), entries, self.train_fn)
        try:
            if self.target is None:
                self.target = executor.target(cfg.target_latency_ms)
                self._write_settings()
            reward = objective(cfg.constraint, self.target["ratio"], cfg.w)
            # the B1 widths are not in a table's sub-space: no baselines there; the surrogate has them as
            # measured at recipe F (mnas.search.surrogate.executor: the reference families)
            baselines = [] if self.table_mode else self._run_baselines(executor, reward, on_child, stop)
            children = self._run_sampler(cfg.sampler, CHILDREN_LOG, cfg.budget_children, executor, reward,
                                         on_child, stop, time_budget=True)
            random_children = []
            if cfg.compare_random and cfg.sampler != "random":
                random_children = self._run_sampler("random", RANDOM_LOG, len(children), executor, reward,
                                                    on_child, stop, time_budget=False)
            table = executor.table_entries()
        finally:
            executor.close()
        if table is not None:
            atomic_write_text(table_path, json.dumps({"engine": cfg.latency_engine, "threads": cfg.latency_threads,
                                                      "entries": table}, indent=1))
        from mnas.search.report import write_report

        summary = write_report(self.output_dir, self.space, self.target, cfg, children,
                               random_children, baselines)
        if cfg.final_top_k and children and not stop():
            from mnas.search.final import folder_final_comparison

            final = folder_final_comparison(self.output_dir, self.data_root, children, baselines, self.space, cfg,
                                            log=logger.info)
            summary["final"] = final["verdict"]
            atomic_write_text(self.output_dir / SUMMARY_FILE, json.dumps(summary, indent=2, default=str))
        return SearchResult(self.output_dir, children, random_children, baselines, summary)

    def _run_baselines(self, executor, reward, on_child, stop) -> list[dict]:
        log = ChildLog(self.output_dir / BASELINES_LOG)
        done = log.read()
        finished = {r["width"] for r in done}
        widths = self.config.baseline_widths
        todo = [(index, width) for index, width in enumerate(widths) if width not in finished]
        jobs = [(self.space.skeleton_arch(width), self._child_seed(index, 10_000)) for index, width in todo]
        for (index, width), figures in zip(todo, executor.evaluate(jobs, stop) if not stop() else ()):
            if figures is None:
                break
            record = {"step": index, "sampler": f"b1_x{width:g}", "width": width, **figures,
                      "reward": reward(figures["accuracy"], figures["latency_ratio"])}
            log.append(record)
            done.append(record)
            if on_child:
                on_child("baseline", record, index, len(widths))
        return [r for r in done if r["width"] in widths]

    def _run_sampler(self, name: str, log_name: str, budget: int, executor, reward, on_child,
                     stop, time_budget: bool) -> list[dict]:
        log = ChildLog(self.output_dir / log_name)
        records = log.read()
        sampler = make_sampler(name, self.space, self.config)
        pending = replay(sampler, self.space, records, self.config.ppo_batch)  # proposals of an interrupted batch
        minutes = self.config.budget_minutes if time_budget else 0.0
        seconds = sum(r["seconds"] for r in records)

        def keep(record: dict) -> None:
            nonlocal seconds
            log.append(record)  # durable before the controller learns from it
            records.append(record)
            seconds += record["seconds"]
            if on_child:
                on_child(name, record, record["step"], budget)

        def out_of_time() -> bool:
            return bool(minutes and seconds >= minutes * 60)

        run_children(sampler, self.space, executor, reward, budget, self.config.ppo_batch, self._child_seed,
                     keep, done=len(records), pending=pending, stop=stop, no_new_batch=out_of_time)
        if name == "rl":
            atomic_torch_save(sampler.state(), self.output_dir / "controller.pt")
        return records

    def _child_seed(self, index: int, offset: int = 0) -> int:
        return child_seed(self.config.seed, index, offset)


def child_seed(seed: int, index: int, offset: int = 0) -> int:
    """The training seed of the search's `index`-th child (baselines at `offset` 10,000): distinct per child
    and per search seed, so a lookup's noise draw or a live training is the same on every resume."""
    return seed * 1_000_003 + offset + index


def run_children(sampler, space: SearchSpace, executor, reward, budget: int, batch: int,
                 child_seed: Callable[[int], int], keep: Callable[[dict], None], done: int = 0,
                 pending: list[tuple] = (), stop: Callable[[], bool] = lambda: False,
                 no_new_batch: Callable[[], bool] = lambda: False) -> None:
    """The loop itself: from step `done` up to `budget`, propose up to the end of the current batch of
    `batch` children (a resumed search completes its interrupted batch, whose `pending` proposals come
    first), evaluate them, reward them, hand each record to `keep` and only then to the sampler, which
    learns from it. `stop` is asked before each batch and by the executor during it (a child stopped
    mid-training is not kept); `no_new_batch` (a time budget) only before a batch."""
    pending = list(pending)
    while done < budget and not stop() and not no_new_batch():
        size = min(batch - done % batch, budget - done)
        proposals = (pending + [sampler.propose() for _ in range(size - len(pending))])[:size]
        pending = []
        decisions = [space.decisions(actions) for actions, _, _ in proposals]
        jobs = [(space.arch(d), child_seed(done + i)) for i, d in enumerate(decisions)]
        for offset, figures in enumerate(executor.evaluate(jobs, stop)):
            if figures is None:  # stopped mid-training: the child is not finished, nothing kept
                return
            actions, log_prob, entropy = proposals[offset]
            record = {"step": done, "sampler": sampler.name, "decisions": decisions[offset],
                      "entropy": entropy, "log_prob": log_prob, **figures,
                      "reward": reward(figures["accuracy"], figures["latency_ratio"])}
            keep(record)
            sampler.observe(actions, log_prob, record["reward"])
            done += 1


def benchmark_search(root: str | os.PathLike, *, evaluator: str = "surrogate", name: str | None = None,
                     fresh: bool = False, **settings) -> Search:
    """A search on a benchmark (`evaluator` "surrogate": the whole space at recipe F, or "table": the
    proxy-measured sub-space; no data read, seconds for thousands of children) in ``root/<name>``;
    `settings` change SearchConfig's defaults (``sampler``, ``seed``, ``budget_children``, ...). The
    default name is ``<sampler>-<seed>`` followed by the other changed settings (`settings_tag`), so that
    each variant has its own folder. `fresh`: a search already in that folder is deleted first (a lesson
    or a bench that reruns from scratch)."""
    if evaluator not in ("surrogate", "table"):
        raise ValueError(f"benchmark_search evaluator {evaluator!r}: expected 'surrogate' or 'table' "
                         "(a live search needs a dataset: Search(data_root, ...))")
    config = SearchConfig(evaluator=evaluator, **settings)
    others = {k: v for k, v in settings.items()
              if k not in ("sampler", "seed", "table_file", "surrogate_file", "budget_children")}
    folder = Path(root).expanduser() / (name or f"{config.sampler}-{config.seed}{settings_tag(others)}")
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
    return Search(None, folder, config)


def settings_tag(settings: dict) -> str:
    """``_key=value`` for each setting, sorted: a folder name that says what differs."""
    return "".join(f"_{key}={value}" for key, value in sorted(settings.items()))
