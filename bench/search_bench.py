"""Search benchmark (not a test): prints measured figures of the miniature MnasNet search on this machine.

1. Throughput: children per minute of an RL search at the default settings (goal: >= 6 on 2 cores),
   with one proxy-training thread (the default) and with all cores.
2. RL against random search at equal budget and trainer, over several seeds: mean and best reward,
   mean reward of the second half of each run (live children; the statistics over many seeds belong
   to bench/strategies.py on the benchmark table).

The latency figures (paired vs raw, both engines, the predictor) are bench/latency_bench.py's; Ray's
speed-up is bench/ray_bench.py's.

Run it on a quiet machine (figures are wall-clock):
    python bench/search_bench.py                       # the full benchmark (about 20 min on a quiet machine)
    python bench/search_bench.py --tiny                # a check that every part runs (about 2 min)
    python bench/search_bench.py --parts throughput
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from mnas.data.cifar10 import cifar10_root
from mnas.search.config import SearchConfig
from mnas.search.loop import Search

PARTS = ("throughput", "rl_vs_random")


def throughput(data, out: Path, config: SearchConfig) -> dict:
    started = time.perf_counter()
    result = Search(data, out / "throughput", config).run()
    wall = time.perf_counter() - started
    children = result.children
    seconds = sum(r["seconds"] for r in children)
    return {"children": len(children), "children_per_minute": 60 * len(children) / seconds,
            "mean_child_seconds": seconds / len(children),
            "mean_train_seconds": statistics.fmean(r["train_seconds"] for r in children),
            "wall_seconds_with_baselines": wall,
            "mean_accuracy": statistics.fmean(r["accuracy"] for r in children),
            "predictor": result.summary["predictor"]}


def rl_vs_random(data, out: Path, config: SearchConfig, seeds: int) -> dict:
    rows = []
    for seed in range(seeds):
        cfg = dataclasses.replace(config, seed=seed, compare_random=True, baseline_widths=())
        result = Search(data, out / f"seed{seed}", cfg).run()
        row = {"seed": seed}
        for name, records in (("rl", result.children), ("random", result.random_children)):
            rewards = [r["reward"] for r in records]
            half = rewards[len(rewards) // 2:]
            row[name] = {"mean": statistics.fmean(rewards), "best": max(rewards),
                         "second_half_mean": statistics.fmean(half)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    summary = {}
    for name in ("rl", "random"):
        for key in ("mean", "best", "second_half_mean"):
            summary[f"{name}_{key}"] = statistics.fmean(r[name][key] for r in rows)
    summary["rl_better_best_in_seeds"] = sum(r["rl"]["best"] > r["random"]["best"] for r in rows)
    summary["rl_better_second_half_in_seeds"] = sum(
        r["rl"]["second_half_mean"] > r["random"]["second_half_mean"] for r in rows)
    return {"seeds": rows, "summary": summary}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="dataset folder (default: CIFAR-10 from ../shared)")
    parser.add_argument("--output", default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: check that every part runs")
    parser.add_argument("--budget", type=int, default=None, help="children per search")
    parser.add_argument("--seeds", type=int, default=None, help="seeds of RL vs random")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="what to measure (default: everything)")
    args = parser.parse_args(argv)

    data = args.data or cifar10_root()
    out = Path(args.output or tempfile.mkdtemp(prefix="search-bench-"))
    if args.tiny:
        config = SearchConfig(budget_children=args.budget or 3, train_images=60, val_images=30,
                              batch_size=16, baseline_widths=(0.5,), latency_rounds=3, latency_burst=2)
        seeds = args.seeds or 2
    else:
        config = SearchConfig(budget_children=args.budget or 24)
        seeds = args.seeds or 3
    print(f"search bench on {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
          f"latency threads {config.latency_threads}; work folder {out}", flush=True)
    figures = {"conditions": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                              "loadavg_at_start": os.getloadavg(), "tiny": args.tiny}}
    for threads in (1, 0) if "throughput" in args.parts else ():  # the default (one thread), all cores
        key = f"throughput_train_threads_{threads or 'all'}"
        figures[key] = throughput(data, out / key, dataclasses.replace(config, train_threads=threads))
        print(key, json.dumps(figures[key]), flush=True)
    if "rl_vs_random" in args.parts:
        figures["rl_vs_random"] = rl_vs_random(data, out, config, seeds)
        print(json.dumps(figures["rl_vs_random"]["summary"]), flush=True)
    figures["conditions"]["loadavg_at_end"] = os.getloadavg()
    (out / "search_bench.json").write_text(json.dumps(figures, indent=2))
    print(f"all figures: {out / 'search_bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
