"""Stage B's trajectory architectures: where searches on the stage-A surrogate actually go.

A surrogate fitted on uniform random networks is checked where they are, not where an optimizer
drives; NAS-Bench-301 therefore added the architectures of optimizer trajectories to its training data.
Here RL (the paper's PPO controller) and regularised evolution each run `searches` seeds on the packed
stage-A measurements (`evaluator="surrogate"`, the soft reward at T = the skeleton), and from the second
half of every run (the learned part) the build takes networks not measured yet, distinct by
`network_signature`, in a fixed round-robin over the runs until `count` are chosen.  The result goes to
``trajectories.json`` in the build folder, which `BuildPlan.jobs("B", ...)` reads.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from mnas.arch import network_signature
from mnas.search.config import SearchConfig
from mnas.search.log import ChildLog
from mnas.search.loop import Search
from mnas.search.surrogate.build import RUNS_LOG, TRAJECTORIES_FILE
from mnas.search.surrogate.shipped import pack_runs
from mnas.utils.fileio import atomic_write_text
from mnas.utils.locks import output_folder_lock

STRATEGIES = ("rl", "evolution")


def propose(build_folder: str | os.PathLike, count: int = 150, searches: int = 5, children: int = 1000,
            seed: int = 0) -> list[dict]:
    """Choose `count` trajectory architectures from `searches` seeds of each strategy; write them once
    (stage B's plan must not change under a build that has started it)."""
    build_folder = Path(build_folder)
    with output_folder_lock(build_folder, "surrogate build"):
        if (build_folder / TRAJECTORIES_FILE).exists():
            raise ValueError(f"{build_folder / TRAJECTORIES_FILE} exists: stage B's trajectory architectures are "
                             "chosen once; delete the file only if stage B has not started")
        runs = _search_runs(build_folder, searches, children, seed)
        measured = {network_signature(run["arch"]) for run in ChildLog(build_folder / RUNS_LOG).read()}
        chosen = _round_robin(runs, measured, count)
        atomic_write_text(build_folder / TRAJECTORIES_FILE, json.dumps(
            {"searches_per_strategy": searches, "children": children, "seed": seed,
             "measured_before": len(measured), "architectures": chosen}, indent=1))
    return chosen


def _search_runs(build_folder: Path, searches: int, children: int, seed: int) -> dict[tuple[str, int], list[dict]]:
    """The learned half (second half) of each strategy's search per seed, on the packed measurements."""
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        packed = scratch / "stage_a.json.gz"
        pack_runs(build_folder, packed)
        runs = {}
        for strategy in STRATEGIES:
            for number in range(searches):
                config = SearchConfig(evaluator="surrogate", surrogate_file=str(packed), sampler=strategy,
                                      seed=seed + number, budget_children=children,
                                      baseline_widths=())  # only the children are proposed
                result = Search(None, scratch / f"{strategy}-{number}", config).run()
                runs[(strategy, seed + number)] = result.children[children // 2:]
    return runs


def _round_robin(runs: dict[tuple[str, int], list[dict]], measured: set, count: int) -> list[dict]:
    """One new network from each run in turn (in step order within a run) until `count` are chosen."""
    chosen, seen = [], set(measured)
    queues = {key: list(children) for key, children in runs.items()}
    while len(chosen) < count and any(queues.values()):
        for (strategy, run_seed), queue in queues.items():
            while queue:
                record = queue.pop(0)
                signature = network_signature(record["arch"])
                if signature not in seen:
                    seen.add(signature)
                    chosen.append({"arch": record["arch"], "decisions": record["decisions"], "strategy": strategy,
                                   "seed": run_seed, "step": record["step"], "reward": record["reward"]})
                    break
            if len(chosen) == count:
                break
    return chosen
