"""Latency benchmark (not a test): does the search's latency figure repeat on this machine?

Two shuffled passes over the same random children of the search space (and the B1 skeleton widths),
each child measured in both passes by both engines, side by side in one run:

- paired: the search's meter (`mnas.latency.meter.PairedMeter`), the child's latency as a ratio to the
  resident reference (B1 skeleton at the base width) in interleaved bursts;
- raw: the median of plain back-to-back calls (`measure_latency`), what the search used before.

For each engine it reports the pass-to-pass Spearman rank correlation and the largest relative change
of the paired ratio, of the paired absolute ms and of the raw median (goals for the paired ratio:
Spearman >= 0.95, largest change <= 10 %), the seconds one paired measurement costs, and the
lookup-table predictor's Spearman against the paired ratio. Run it as it is on a loaded machine: the
paired figure is meant to survive load.

    python bench/latency_bench.py                    # 30 children + 4 widths, both engines (~4 min)
    python bench/latency_bench.py --children 10 --engines onnxruntime
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import torch

from mnas.latency.meter import ENGINES, LatencyTable, PairedMeter, measure_latency, spearman, torch_threads
from mnas.models import create_model
from mnas.search.config import INPUT_SIZE, SearchConfig
from mnas.search.space import SearchSpace
from mnas.utils.machine import machine_record

WIDTHS = (0.35, 0.5, 0.75, 1.0)


def largest_change(first, second) -> float:
    return max(abs(b - a) / a for a, b in zip(first, second))


def measure_pass(order, models, meters, raw_repeats):
    """One pass over `order`: every child by every engine, paired then raw, engines interleaved."""
    figures = {}
    for index in order:
        for engine, meter in meters.items():
            started = time.perf_counter()
            paired = meter.measure(models[index])
            seconds = time.perf_counter() - started
            raw = measure_latency(models[index], INPUT_SIZE, engine=engine, threads=meter.threads,
                                  repeats=raw_repeats)
            figures[engine, index] = {"ratio": paired.ratio, "paired_ms": paired.median_ms,
                                      "raw_ms": raw.median_ms, "seconds": seconds, "spread": paired.spread,
                                      "rounds": {"ratios": paired.ratios, "child_ms": paired.child_ms,
                                                 "reference_ms": paired.reference_ms}}
    return figures


def summarise(engine, archs, passes, table_ratios) -> dict:
    def column(pass_figures, key):
        return [pass_figures[engine, i][key] for i in range(len(archs))]

    row = {"engine": engine, "children": len(archs)}
    for key in ("ratio", "paired_ms", "raw_ms"):
        first, second = column(passes[0], key), column(passes[1], key)
        row[f"{key}_spearman"] = spearman(first, second)
        row[f"{key}_largest_change"] = largest_change(first, second)
    row["seconds_per_paired_measurement"] = statistics.fmean(
        column(passes[0], "seconds") + column(passes[1], "seconds"))
    row["median_spread"] = statistics.median(column(passes[0], "spread") + column(passes[1], "spread"))
    mean_ratio = [(a + b) / 2 for a, b in zip(column(passes[0], "ratio"), column(passes[1], "ratio"))]
    row["predictor_spearman"] = spearman(table_ratios, mean_ratio)
    row["predictor_mape"] = statistics.fmean(abs(p - m) / m for p, m in zip(table_ratios, mean_ratio))
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=30, help="random children (plus the B1 widths)")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--raw-repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=None, help="paired rounds (default: the search's)")
    parser.add_argument("--burst", type=int, default=None, help="calls per burst (default: the search's)")
    parser.add_argument("--output", default="runs/bench/latency_bench.json")
    args = parser.parse_args(argv)

    config = SearchConfig()
    space = SearchSpace(width=config.width)
    generator = torch.Generator().manual_seed(args.seed)
    archs = [space.skeleton_arch(w) for w in WIDTHS]
    archs += [space.arch(space.random_actions(generator)) for _ in range(args.children)]
    models = [create_model(arch, 10, INPUT_SIZE) for arch in archs]
    reference = create_model(space.skeleton_arch(), 10, INPUT_SIZE)
    meters = {engine: PairedMeter(reference, INPUT_SIZE, engine=engine, threads=config.latency_threads,
                                  rounds=args.rounds or config.latency_rounds,
                                  burst=args.burst or config.latency_burst)
              for engine in args.engines}
    machine = machine_record()
    print(f"{len(archs)} models, engines {args.engines}; {machine['cpu']}, {machine['usable_cores']} cores, "
          f"load {machine['load_average_1min']}")

    shuffler = random.Random(args.seed)
    passes = []
    started = time.perf_counter()
    for number in range(2):
        order = list(range(len(archs)))
        shuffler.shuffle(order)
        passes.append(measure_pass(order, models, meters, args.raw_repeats))
        print(f"pass {number + 1} done, {time.perf_counter() - started:.0f} s")

    rows = []
    for engine in args.engines:
        table = LatencyTable(engine, config.latency_threads)
        with torch_threads(config.latency_threads):
            reference_ms = table.predict(space.skeleton_arch(), INPUT_SIZE, 10)
            predicted = [table.predict(arch, INPUT_SIZE, 10) / reference_ms for arch in archs]
        rows.append(summarise(engine, archs, passes, predicted))

    print("\n| engine | figure | pass-to-pass Spearman | largest change |")
    print("|---|---|---|---|")
    for row in rows:
        for key, label in (("ratio", "paired ratio (the search's)"), ("paired_ms", "paired, absolute ms"),
                           ("raw_ms", "raw median ms")):
            print(f"| {row['engine']} | {label} | {row[f'{key}_spearman']:.3f} | "
                  f"{row[f'{key}_largest_change']:.1%} |")
    print("\n| engine | seconds per paired measurement | median spread (IQR/median) of rounds | "
          "predictor Spearman vs paired | predictor MAPE |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['engine']} | {row['seconds_per_paired_measurement']:.2f} | {row['median_spread']:.1%} | "
              f"{row['predictor_spearman']:.3f} | {row['predictor_mape']:.1%} |")
    machine_after = machine_record()
    result = {"rows": rows, "archs": archs, "machine": machine,
              "load_average_after": machine_after["load_average_1min"],
              "passes": [{f"{e}:{i}": v for (e, i), v in p.items()} for p in passes]}
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1))
    print(f"\nload average {machine['load_average_1min']} -> {machine_after['load_average_1min']}; "
          f"figures in {output}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
