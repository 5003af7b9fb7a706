"""Search benchmark (not a test): prints measured figures of the miniature MnasNet search on this machine.

1. Throughput: children per minute of an RL search at the default settings (goal: >= 6 on 2 cores).
2. Latency repeatability: the coefficient of variation of the per-call samples of one measurement,
   and of the medians of repeated measurements of the same model (goal: <= 5 %).
3. Predictor: the per-layer lookup table's mean absolute error and Spearman rank correlation against
   measured latency over random children (goal: rank correlation >= 0.9), and the ceiling the machine
   sets on it: the same children measured again in a second pass, ranked against the first.
4. RL against random search at equal budget and trainer, over several seeds: mean and best reward,
   mean reward of the second half of each run.

Run it on a quiet machine (figures are wall-clock):
    python bench/search_bench.py                       # the full benchmark (about 25 min on a quiet machine)
    python bench/search_bench.py --tiny                # a check that every part runs (about 2 min)
    python bench/search_bench.py --parts repeatability predictor   # the latency figures alone (~2 min)
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

from mnas.data import cifar10_root
from mnas.latency import LatencyTable, measure_latency, predictor_report, spearman
from mnas.models import create_model
from mnas.search.loop import Search, SearchConfig
from mnas.search.space import SearchSpace


PARTS = ("repeatability", "predictor", "throughput", "rl_vs_random")


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


def repeatability(space: SearchSpace, models: int, measurements: int, repeats: int, threads: int) -> dict:
    generator = torch.Generator().manual_seed(123)
    archs = [space.skeleton_arch()] + [space.arch(space.random_actions(generator)) for _ in range(models - 1)]
    within, between = [], []
    for arch in archs:
        model = create_model(arch, 10, 32)
        latencies = [measure_latency(model, 32, threads=threads, repeats=repeats)
                     for _ in range(measurements)]
        within += [lat.cv for lat in latencies]
        medians = [lat.median_ms for lat in latencies]
        between.append(statistics.pstdev(medians) / statistics.fmean(medians))
    return {"models": len(archs), "measurements_per_model": measurements, "repeats": repeats,
            "median_cv_within_measurement": statistics.median(within),
            "median_cv_of_medians": statistics.median(between), "max_cv_of_medians": max(between)}


def predictor(space: SearchSpace, children: int, repeats: int, threads: int) -> dict:
    """The table's predictions against measured latency, and the ceiling the machine sets on that: the
    rank correlation of the same children measured again in a second pass."""
    generator = torch.Generator().manual_seed(321)
    archs = [space.arch(space.random_actions(generator)) for _ in range(children)]
    table = LatencyTable(threads=threads, repeats=repeats)
    predicted = [table.predict(arch, 32, 10) for arch in archs]
    passes = [[measure_latency(create_model(arch, 10, 32), 32, threads=threads, repeats=repeats).median_ms
               for arch in archs] for _ in range(2)]
    measured = passes[0]
    return {**predictor_report(predicted, measured), "table_entries": len(table.entries),
            "mean_ratio_measured_to_predicted": statistics.fmean(m / p for m, p in zip(measured, predicted)),
            "spearman_second_pass_vs_predicted": spearman(predicted, passes[1]),
            "spearman_measured_twice": spearman(passes[0], passes[1]),
            "max_change_between_passes": max(abs(b - a) / a for a, b in zip(*passes))}


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
                              batch_size=16, baseline_widths=(0.5,), latency_repeats=5)
        seeds, models, measurements, predictor_children = args.seeds or 2, 2, 2, 4
    else:
        config = SearchConfig(budget_children=args.budget or 24)
        seeds, models, measurements, predictor_children = args.seeds or 3, 5, 5, 30
    print(f"search bench on {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
          f"latency threads {config.threads}; work folder {out}", flush=True)
    space = SearchSpace(width=config.width)
    figures = {"conditions": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                              "loadavg_at_start": os.getloadavg(), "tiny": args.tiny}}
    if "repeatability" in args.parts:
        figures["latency_repeatability"] = repeatability(space, models, measurements,
                                                         config.latency_repeats, config.threads)
        print(json.dumps(figures["latency_repeatability"]), flush=True)
    if "predictor" in args.parts:
        figures["predictor"] = predictor(space, predictor_children, config.latency_repeats, config.threads)
        print(json.dumps(figures["predictor"]), flush=True)
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
