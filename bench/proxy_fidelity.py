"""Proxy fidelity (not a test): does the search's short proxy training rank children like a long one?

Random children of the search space and the B1 skeleton widths are trained
- by several candidate proxies (images, epochs, learning rate, batch), each with >= 2 seeds,
  scored on the search's own held-out split of train/ (what the live search sees), and
- by a long training, recipe F's (`mnas.search.recipe.RECIPE_F`: 3 epochs on 10,000 images of train/),
  scored on 2,000 other held-out images of train/ (recipe F's 5,000 came later; this log keeps its
  2,000; test/ is never read),
and the bench reports, per proxy: Kendall tau and Spearman of its mean accuracy against the long
accuracy, the share of the proxy's variance across children that is seed noise, and the CPU-seconds
per child, so that the proxy defaults can be chosen by ranking quality per CPU-second.

Hours of work on 2 cores: it appends one JSON line per finished training to its log (fsync'ed) and
resumes where it stopped; `--report` prints the figures of what is there. Either way the figures are
written to ``report.json`` beside the log, which the documentation's proxy table is rendered from
(``python -m mnas docs tables``).

    python bench/proxy_fidelity.py                      # run / resume (one training thread)
    python bench/proxy_fidelity.py --report             # figures so far
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from mnas.data.cifar10 import cifar10_root
from mnas.data.decode import load_split
from mnas.data.folders import find_dataset_splits
from mnas.data.splits import stratified_split
from mnas.latency.meter import spearman, torch_threads
from mnas.models import create_model
from mnas.search.config import INPUT_SIZE, SearchConfig
from mnas.search.evaluate import load_proxy_data
from mnas.search.log import ChildLog
from mnas.search.recipe import RECIPE_F
from mnas.search.space import SearchSpace
from mnas.train.engine import train
from mnas.utils.fileio import atomic_write_text
from mnas.utils.machine import machine_record
from mnas.utils.stats import bootstrap_interval, kendall_tau

WIDTHS = (0.35, 0.5, 0.75, 1.0)


@dataclasses.dataclass(frozen=True)
class Fidelity:
    name: str
    train_images: int
    epochs: int
    seeds: int
    lr: float | None = None          # None: the search's
    batch_size: int | None = None    # None: the search's


PROXIES = (Fidelity("p1600x1", 1600, 1, 2),   # the search's default
           Fidelity("p3200x1", 3200, 1, 2),
           Fidelity("p1600x2", 1600, 2, 2),
           Fidelity("p800x1", 800, 1, 2),
           Fidelity("p1600x1-lr0.05", 1600, 1, 2, lr=0.05),
           Fidelity("p1600x1-b64", 1600, 1, 2, batch_size=64))
DEFAULT_PROXY = PROXIES[0]
LONG = Fidelity("long", RECIPE_F.train_images, RECIPE_F.epochs, 1, RECIPE_F.lr, RECIPE_F.batch_size)
LONG_VAL_IMAGES = 2_000


def archs(children: int, seed: int) -> list[str]:
    space = SearchSpace(width=SearchConfig().width)
    generator = torch.Generator().manual_seed(seed)
    return [space.skeleton_arch(w) for w in WIDTHS] + [space.arch(space.random_actions(generator))
                                                      for _ in range(children)]


def long_data(root: Path):
    splits = find_dataset_splits(root)
    per_class = (LONG.train_images + LONG_VAL_IMAGES) // len(splits.class_names)
    pool = load_split(splits.train_dir, classes=splits.class_names, limit_per_class=per_class)
    counts = [LONG_VAL_IMAGES // len(splits.class_names)] * len(splits.class_names)
    return stratified_split(pool, counts=counts, seed=0)


def train_once(arch: str, data, fidelity: Fidelity, seed: int) -> dict:
    config = SearchConfig()
    train_set, val_set = data
    torch.manual_seed(seed)
    model = create_model(arch, train_set.num_classes, INPUT_SIZE)
    train_config = dataclasses.replace(config.train_config(seed), epochs=fidelity.epochs,
                                       learning_rate=fidelity.lr or config.learning_rate,
                                       batch_size=fidelity.batch_size or config.batch_size)
    started = time.process_time()
    result = train(model, train_set, val_set, train_config)
    return {"accuracy": float(result.final.top1), "cpu_seconds": time.process_time() - started}


def run(args) -> None:
    root = Path(args.data) if args.data else cifar10_root()
    log = ChildLog(Path(args.output) / "fidelity.jsonl")
    done = {(r["arch"], r["fidelity"], r["seed"]) for r in log.read()}
    candidates = archs(args.children, args.seed)
    proxy_sets = {p.train_images: None for p in PROXIES}
    long_set = None
    machine = machine_record(train_threads=1)
    with torch_threads(1):
        for number, arch in enumerate(candidates):
            for fidelity in (*PROXIES, LONG):
                for seed in range(fidelity.seeds):
                    if (arch, fidelity.name, seed) in done:
                        continue
                    if fidelity is LONG:
                        long_set = long_set or long_data(root)
                        data = long_set
                    else:
                        if proxy_sets[fidelity.train_images] is None:
                            proxy = load_proxy_data(root, fidelity.train_images, SearchConfig().val_images)
                            proxy_sets[fidelity.train_images] = (proxy.train, proxy.val)
                        data = proxy_sets[fidelity.train_images]
                    figures = train_once(arch, data, fidelity, seed)
                    log.append({"arch": arch, "index": number, "fidelity": fidelity.name, "seed": seed,
                                **figures, "machine": machine["cpu"]})
                    print(f"{number + 1}/{len(candidates)} {fidelity.name} seed {seed}: "
                          f"{figures['accuracy']:.3f} ({figures['cpu_seconds']:.0f} CPU-s)", flush=True)


def seed_matrix(by_arch: dict, archs: list[str], proxy: Fidelity) -> np.ndarray:
    """children x seeds accuracies of `proxy`."""
    return np.array([[r["accuracy"] for r in by_arch[a][proxy.name][:proxy.seeds]] for a in archs])


def one_seed_tau(rows: np.ndarray) -> float:
    """Mean over the seed rows of Kendall tau against the last row (the long training)."""
    return statistics.fmean(kendall_tau(rows[s], rows[-1]) for s in range(len(rows) - 1))


def paired_difference(by_arch: dict, archs: list[str], proxy: Fidelity) -> dict:
    """tau(proxy) - tau(default) on the same children (one seed each), with its bootstrap interval."""
    archs = [a for a in archs if len(by_arch[a].get(DEFAULT_PROXY.name, [])) >= DEFAULT_PROXY.seeds]
    default, other = seed_matrix(by_arch, archs, DEFAULT_PROXY), seed_matrix(by_arch, archs, proxy)
    rows = np.vstack([default.T, other.T, [by_arch[a][LONG.name][0]["accuracy"] for a in archs]])
    split = default.shape[1]

    def difference(sample: np.ndarray) -> float:
        return one_seed_tau(sample[split:]) - one_seed_tau(np.vstack([sample[:split], sample[-1:]]))

    low, high = bootstrap_interval(rows, difference)
    return {"difference": difference(rows), "low": low, "high": high, "children": len(archs)}


def report(output: str) -> dict:
    records = ChildLog(Path(output) / "fidelity.jsonl").read()
    by_arch: dict[str, dict[str, list[dict]]] = {}
    for r in records:
        by_arch.setdefault(r["arch"], {}).setdefault(r["fidelity"], []).append(r)
    complete = [a for a, f in by_arch.items() if LONG.name in f]
    long_accuracy = [by_arch[a][LONG.name][0]["accuracy"] for a in complete]
    print(f"{len(complete)} children with a long training ({len(by_arch)} started)")
    rows = []
    for proxy in PROXIES:
        usable = [a for a in complete if len(by_arch[a].get(proxy.name, [])) >= proxy.seeds]
        if len(usable) < 3:
            continue
        runs = seed_matrix(by_arch, usable, proxy)
        long = [by_arch[a][LONG.name][0]["accuracy"] for a in usable]
        seed_variance = float(np.mean(np.var(runs, axis=1, ddof=1)))
        total_variance = float(np.var(runs.ravel(), ddof=1))
        # children are the sampling unit: intervals resample them, the same children for every row
        with_long = np.vstack([runs.T, long])
        low, high = bootstrap_interval(with_long, one_seed_tau)
        row = {"proxy": proxy.name, "children": len(usable),
               "kendall_tau_mean_of_seeds": kendall_tau(runs.mean(axis=1), long),
               "kendall_tau_one_seed": one_seed_tau(with_long), "tau_interval": (low, high),
               "spearman_mean_of_seeds": spearman(runs.mean(axis=1), long),
               "seed_noise_share": seed_variance / total_variance if total_variance else float("nan"),
               "seed_to_seed_tau": kendall_tau(runs[:, 0], runs[:, 1]) if proxy.seeds > 1 else float("nan"),
               "cpu_seconds_per_run": statistics.fmean(r["cpu_seconds"] for a in usable
                                                       for r in by_arch[a][proxy.name][:proxy.seeds])}
        row["tau_per_cpu_minute"] = row["kendall_tau_one_seed"] / (row["cpu_seconds_per_run"] / 60)
        if proxy is not DEFAULT_PROXY:
            row["versus_default"] = paired_difference(by_arch, usable, proxy)
        rows.append(row)
    if long_accuracy:
        print(f"long training ({LONG.epochs} epochs on {LONG.train_images:,} images, {LONG_VAL_IMAGES:,} held out): "
              f"accuracy {min(long_accuracy):.3f}-{max(long_accuracy):.3f}, "
              f"{statistics.fmean(r['cpu_seconds'] for a in complete for r in by_arch[a][LONG.name]):.0f} CPU-s each")
    print(f"| proxy | children | tau, one seed (95 % CI) | vs {DEFAULT_PROXY.name}, paired (95 % CI) | "
          "tau (mean of 2 seeds) | Spearman (mean) | seed-to-seed tau | seed-noise share of variance | "
          "CPU-s per run | tau per CPU-minute |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        low, high = r["tau_interval"]
        versus = r.get("versus_default")
        paired = f"{versus['difference']:+.3f} ({versus['low']:+.3f} to {versus['high']:+.3f})" if versus else "-"
        print(f"| {r['proxy']} | {r['children']} | {r['kendall_tau_one_seed']:.3f} ({low:.2f}-{high:.2f}) | "
              f"{paired} | {r['kendall_tau_mean_of_seeds']:.3f} | {r['spearman_mean_of_seeds']:.3f} | "
              f"{r['seed_to_seed_tau']:.3f} | {r['seed_noise_share']:.0%} | {r['cpu_seconds_per_run']:.0f} | "
              f"{r['tau_per_cpu_minute']:.3f} |")
    result = {"rows": rows, "children_complete": len(complete), "children_started": len(by_arch),
              "default_proxy": DEFAULT_PROXY.name, "proxies": [dataclasses.asdict(p) for p in PROXIES],
              "long": {**dataclasses.asdict(LONG), "val_images": LONG_VAL_IMAGES,
                       "accuracy_range": [min(long_accuracy), max(long_accuracy)] if long_accuracy else None,
                       "cpu_seconds": statistics.fmean(r["cpu_seconds"] for a in complete
                                                       for r in by_arch[a][LONG.name]) if complete else None}}
    atomic_write_text(Path(output) / "report.json", json.dumps(result, indent=1))
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="dataset folder (default: CIFAR-10 from ../shared)")
    parser.add_argument("--children", type=int, default=30, help="random children besides the B1 widths")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="bench/results/proxy_fidelity")
    parser.add_argument("--report", action="store_true", help="only print the figures of the log so far")
    args = parser.parse_args(argv)
    if not args.report:
        run(args)
    report(args.output)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
