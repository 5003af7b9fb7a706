"""The surrogate benchmark's measurements: architectures of the whole search space trained at recipe F.

NAS-Bench-301's way for a space far too large to tabulate (432^7 networks): measure a few thousand
architectures for real, fit a surrogate on them, report its held-out quality.  The build measures, in
one fixed order (so a partial build is a uniform sample of what is planned):

- **random** architectures, uniform over the space and de-aliased (`mnas.arch.network_signature`: a
  skip or layer choice that builds the same network as another, or filters that round to the same
  channels, count once); stage A holds the first 400, stage B the next 400; every 10th of them is
  trained with 3 seeds, so the seed noise is known;
- **reference** families, MnasNet-B1 and MobileNetV2 at 4 widths x 3 seeds (`mnas.search.references`),
  spread through stage A one training every 16 random architectures, so their curves grow with it;
- stage B's **trajectory** architectures, proposed by searches on the stage-A surrogate (read from
  ``trajectories.json`` in the build folder when it is there), interleaved with its random ones at the
  ratio of the held-out counts the acceptance needs (`mnas.search.surrogate.acceptance`), so the
  held-out figures become measurable after the fewest trainings.

Every training is `mnas.search.evaluate.train_child` with recipe F (`RECIPE_F.search_config()`), the
local or the Ray executor; every architecture (its first seed) is timed by the search's paired meter
against the resident B1 skeleton on ONNX Runtime and on eager torch, one thread each.  One JSON line
per training, fsync'ed (`ChildLog`); a rerun resumes after the last one; the folder's lock is held; the
machine of each session is recorded in ``surrogate_build.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import torch

from mnas.arch import network_signature
from mnas.search.evaluate import ChildTimer, load_proxy_data
from mnas.search.executor import make_executor
from mnas.search.log import ChildLog
from mnas.search.recipe import RECIPE_F, Recipe
from mnas.search.references import FAMILIES, REFERENCE_WIDTHS, family_arch
from mnas.search.space import SearchSpace
from mnas.search.surrogate.acceptance import HELD_OUT_RANDOMS, HELD_OUT_TRAJECTORIES
from mnas.utils.fileio import atomic_write_text
from mnas.utils.locks import expand_folder, output_folder_lock
from mnas.utils.machine import machine_record

RUNS_LOG, BUILD_FILE, TRAJECTORIES_FILE = "runs.jsonl", "surrogate_build.json", "trajectories.json"
STAGES = ("A", "B")
ENGINES = ("onnxruntime", "torch")
BASE_WIDTH = 0.5  # the search space's (SearchConfig().width): children are 0.75-1.25 x this


@dataclasses.dataclass(frozen=True)
class Job:
    """One training of the build: an architecture, a seed, why it is measured, and whether to time it."""

    arch: str
    seed: int
    role: str                       # random, reference, trajectory
    index: int                      # position within its role (random: the order of the sample)
    stage: str
    time_it: bool                   # the architecture's first training: its latency is measured then
    decisions: dict | None = None   # random and trajectory: the search-space decisions
    family: str | None = None       # reference: b1 or mobilenetv2
    width: float | None = None

    def record(self) -> dict:
        fields = {"arch": self.arch, "seed": self.seed, "role": self.role, "index": self.index, "stage": self.stage}
        optional = {"decisions": self.decisions, "family": self.family, "width": self.width}
        return {**fields, **{k: v for k, v in optional.items() if v is not None}}


@dataclasses.dataclass(frozen=True)
class BuildPlan:
    """What the build measures, in which order; every field is recorded with the build and checked on resume."""

    randoms_per_stage: int = 400
    repeat_every: int = 10          # every 10th random architecture of stage A: `repeat_seeds` seeds
    repeat_seeds: int = 3
    reference_seeds: int = 3
    reference_widths: tuple[float, ...] = REFERENCE_WIDTHS
    reference_every: int = 16       # one reference training after every 16 random architectures
    order_seed: int = 0

    def __post_init__(self):
        if min(self.randoms_per_stage, self.repeat_every, self.repeat_seeds, self.reference_seeds,
               self.reference_every) < 1 or not self.reference_widths:
            raise ValueError(f"surrogate build plan: counts must be >= 1 and widths non-empty, got {self}")

    def random_decisions(self, space: SearchSpace, count: int) -> list[dict]:
        """The first `count` distinct networks of a uniform sample of `space` (seeded by `order_seed`)."""
        generator = torch.Generator().manual_seed(self.order_seed)
        seen, sample = set(), []
        while len(sample) < count:
            decisions = space.decisions(space.random_actions(generator))
            signature = network_signature(space.arch(decisions))
            if signature not in seen:
                seen.add(signature)
                sample.append(decisions)
        return sample

    def reference_jobs(self) -> list[Job]:
        """Seed-major (every family and width at seed 0 first), so both curves exist early."""
        return [Job(family_arch(family, width), seed, "reference", n, "A", seed == 0, family=family, width=width)
                for seed in range(self.reference_seeds)
                for n, (family, width) in enumerate((f, w) for f in FAMILIES for w in self.reference_widths)]

    def jobs(self, stage: str, space: SearchSpace, trajectories: list[dict] = ()) -> list[Job]:
        if stage not in STAGES:
            raise ValueError(f"surrogate build stage {stage!r}: expected one of {', '.join(STAGES)}")
        first = STAGES.index(stage) * self.randoms_per_stage
        sample = self.random_decisions(space, first + self.randoms_per_stage)[first:]
        references = self.reference_jobs() if stage == "A" else []
        jobs = []
        for offset, decisions in enumerate(sample):
            index = first + offset
            seeds = self.repeat_seeds if stage == "A" and index % self.repeat_every == 0 else 1
            jobs += [Job(space.arch(decisions), seed, "random", index, stage, seed == 0, decisions)
                     for seed in range(seeds)]
            if references and (offset + 1) % self.reference_every == 0:
                jobs.append(references.pop(0))
        jobs += references
        trajectory_jobs = [Job(space.arch(t["decisions"]), 0, "trajectory", n, stage, True, t["decisions"])
                           for n, t in enumerate(trajectories)]
        return _interleave(jobs, trajectory_jobs, HELD_OUT_TRAJECTORIES / HELD_OUT_RANDOMS)


def _interleave(jobs: list[Job], extra: list[Job], ratio: float) -> list[Job]:
    """`extra` placed through `jobs` at `ratio` extra per job until it runs out, so a partial stage B
    holds random and trajectory architectures in the proportion the acceptance checks them in.
    (Resuming is by (arch, seed), so the order may change between sessions without losing or repeating one.)"""
    mixed, placed = [], 0
    for number, job in enumerate(jobs, 1):
        mixed.append(job)
        while placed < len(extra) and placed < number * ratio:
            mixed.append(extra[placed])
            placed += 1
    return mixed + extra[placed:]


def build_surrogate(data_root: str | os.PathLike, output: str | os.PathLike, stage: str = "A", *,
                    plan: BuildPlan | None = None, recipe: Recipe = RECIPE_F, executor: str = "local",
                    ray_address: str = "", latency_rounds: int = 40, latency_burst: int = 10, limit: int = 0,
                    on_run: Callable[[dict, int, int], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> list[dict]:
    """Measure (or go on measuring) `stage` into `output`; `limit` > 0 stops after that many new
    trainings; `on_run(run, number, planned)` after each. Returns every run logged in the folder."""
    plan, output = plan or BuildPlan(), expand_folder(output)
    stop = should_stop or (lambda: False)
    config = recipe.search_config(executor=executor, ray_address=ray_address, width=BASE_WIDTH,
                                  latency_rounds=latency_rounds, latency_burst=latency_burst)
    with output_folder_lock(output, "surrogate build"):
        _check_or_write_build(output, data_root, recipe, plan, executor, (latency_rounds, latency_burst))
        space = SearchSpace(width=BASE_WIDTH)
        log = ChildLog(output / RUNS_LOG)
        runs = log.read()
        done = {(run["arch"], run["seed"]) for run in runs}
        todo = [job for job in plan.jobs(stage, space, _trajectories(output)) if (job.arch, job.seed) not in done]
        if limit:
            todo = todo[:limit]
        if not todo:
            return runs
        data = load_proxy_data(data_root, recipe.train_images, recipe.val_images, config.seed)
        trainer = make_executor(data, config, space.skeleton_arch())
        torch_timer = ChildTimer(dataclasses.replace(config, latency_engine="torch"), space.skeleton_arch(),
                                 data.train.num_classes)
        try:
            for number, (job, result) in enumerate(_evaluate(trainer, todo, stop), 1):
                run = {**job.record(), **_figures(result)}
                if job.time_it:
                    run["latency"] = {"onnxruntime": _latency(result), "torch": _latency(torch_timer.time(job.arch))}
                log.append(run)
                runs.append(run)
                if on_run:
                    on_run(run, number, len(todo))
        finally:
            trainer.close()
    return runs


def _evaluate(trainer, todo: list[Job], stop: Callable[[], bool]) -> Iterator[tuple[Job, dict]]:
    """(job, the executor's figures) in plan order, a batch of 2 per worker at a time, until stopped."""
    batch = 2 * trainer.workers
    for start in range(0, len(todo), batch):
        if stop():
            return
        chunk = todo[start:start + batch]
        for job, result in zip(chunk, trainer.evaluate([(job.arch, job.seed) for job in chunk], stop)):
            if result is None:
                return
            yield job, result


def _figures(result: dict) -> dict:
    keys = ("accuracy", "macs", "params", "train_seconds", "diverged")
    return {key: result[key] for key in keys if key in result}


def _latency(timed: dict) -> dict:
    keys = ("latency_ratio", "latency_spread", "latency_ms", "reference_ms", "predicted_latency_ratio")
    return {key.removeprefix("latency_"): timed[key] for key in keys if key in timed}


def _trajectories(output: Path) -> list[dict]:
    path = output / TRAJECTORIES_FILE
    return json.loads(path.read_text(encoding="utf-8"))["architectures"] if path.is_file() else []


def _check_or_write_build(output: Path, data_root, recipe: Recipe, plan: BuildPlan, executor: str,
                          meter: tuple[int, int]) -> None:
    """The build's settings are fixed by its first session; each session's machine is appended."""
    path = output / BUILD_FILE
    settings = json.loads(json.dumps({"recipe": dataclasses.asdict(recipe),
                                      "plan": dataclasses.asdict(plan), "engines": list(ENGINES),
                                      "latency_rounds_burst": list(meter), "base_width": BASE_WIDTH}))
    sessions = []
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
        different = [key for key in settings if stored.get(key) != settings[key]]
        if different:
            raise ValueError(f"output folder {output} holds a surrogate build with other settings "
                             f"({', '.join(different)}): resume with the same settings or choose another folder")
        sessions = stored["sessions"]
    sessions.append({**machine_record(latency_threads=1, train_threads=1, executor=executor),
                     "data_root": str(Path(data_root).resolve()),
                     "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    atomic_write_text(path, json.dumps({**settings, "sessions": sessions}, indent=2))
