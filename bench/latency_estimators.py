"""Which estimator makes the paired latency repeat? (not a test; reads bench/latency_bench.py's output)

`python bench/latency_bench.py --rounds 40` saves every round of every paired measurement (the child's
and the reference's fastest call of each burst). This script recomputes each child's latency ratio from
those rounds with several estimators, and from the first N rounds only (what a meter with N rounds would
have measured), and reports for each the pass-to-pass Spearman and the largest, 90th-percentile and
median relative change between the two passes. It is how the search's meter was chosen (docs: the
search's latency meter): 40 rounds, the median ratio over the quieter half (`PairedLatency.ratio`).
With ``--json`` the figures are written to a file too; the documentation's meter table is rendered
from ``bench/results/latency/estimators.json`` (``python -m mnas docs tables``).

    python bench/latency_estimators.py runs/bench/latency_bench.json [more.json ...] [--rounds 10 20 40]
    python bench/latency_estimators.py bench/results/latency/*.json.gz --json bench/results/latency/estimators.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from mnas.latency.meter import PairedLatency, spearman  # noqa: E402


def _arrays(rounds: dict, n: int):
    return (np.asarray(rounds["ratios"][:n]), np.asarray(rounds["child_ms"][:n]),
            np.asarray(rounds["reference_ms"][:n]))


def quieter_half(rounds: dict, n: int) -> float:
    """The search's estimator, as `mnas.latency.meter.PairedLatency` computes it."""
    ratios, child, reference = _arrays(rounds, n)
    return PairedLatency(tuple(ratios), tuple(child), tuple(reference), "", 1).ratio


def near_fastest_reference(rounds: dict, n: int, tolerance: float = 0.05, least: int = 8) -> float:
    """Median ratio of the rounds whose reference ran within `tolerance` of its fastest."""
    ratios, _, reference = _arrays(rounds, n)
    keep = np.flatnonzero(reference <= (1 + tolerance) * reference.min())
    if len(keep) < least:
        keep = np.argsort(reference)[:least]
    return float(np.median(ratios[keep]))


ESTIMATORS = {
    "median of the ratios": lambda r, n: float(np.median(_arrays(r, n)[0])),
    "median over the quieter half": quieter_half,
    "fastest child / fastest reference": lambda r, n: float(_arrays(r, n)[1].min() / _arrays(r, n)[2].min()),
    "ratio of the medians": lambda r, n: float(np.median(_arrays(r, n)[1]) / np.median(_arrays(r, n)[2])),
    "lower quartile of the ratios": lambda r, n: float(np.quantile(_arrays(r, n)[0], 0.25)),
    "rounds near the fastest reference": near_fastest_reference,
}


def compare(path: Path, rounds_wanted: list[int]) -> dict:
    """Print the estimators' figures for the run in `path`; returns them (with the run's load average)."""
    data = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
    first, second = data["passes"]
    figures = {"run": path.name, "load_average": [data["machine"]["load_average_1min"], data["load_average_after"]],
               "models": len(data["archs"]), "rows": []}
    for engine in sorted({key.split(":")[0] for key in first}):
        keys = [key for key in first if key.startswith(engine + ":")]
        if "rounds" not in first[keys[0]]:
            raise SystemExit(f"{path}: no per-round figures (made before the bench saved them)")
        available = len(first[keys[0]]["rounds"]["ratios"])
        print(f"\n{path.name}, {engine}: {len(keys)} models, {available} rounds each, load "
              f"{data['machine']['load_average_1min']} -> {data['load_average_after']}")
        print(f"  {'rounds':>6}  {'estimator':<36} {'Spearman':>8} {'largest':>8} {'p90':>7} {'median':>7}")
        for n in [n for n in rounds_wanted if n <= available]:
            for name, estimate in ESTIMATORS.items():
                a = [estimate(first[key]["rounds"], n) for key in keys]
                b = [estimate(second[key]["rounds"], n) for key in keys]
                changes = [abs(y - x) / x for x, y in zip(a, b)]
                row = {"engine": engine, "rounds": n, "estimator": name, "spearman": spearman(a, b),
                       "largest_change": max(changes), "p90_change": float(np.quantile(changes, 0.9)),
                       "median_change": statistics.median(changes)}
                figures["rows"].append(row)
                print(f"  {n:>6}  {name:<36} {row['spearman']:8.3f} {row['largest_change']:8.1%} "
                      f"{row['p90_change']:7.1%} {row['median_change']:7.1%}")
    return figures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="outputs of bench/latency_bench.py")
    parser.add_argument("--rounds", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    runs = [compare(path, args.rounds) for path in args.files]
    if args.json:
        args.json.write_text(json.dumps({"estimators": list(ESTIMATORS), "runs": runs}, indent=1) + "\n")
        print(f"\nfigures in {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
