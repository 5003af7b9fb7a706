"""``python -m mnas search``: the miniature MnasNet search on a folder dataset (resumable, tqdm bar)."""

from __future__ import annotations

import argparse
import dataclasses
import json

from .config import EVALUATORS
from .loop import EXECUTORS, SAMPLERS, Search, SearchConfig

_DEFAULTS = SearchConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None,
                        help="dataset folder with train/<class>/ (default: CIFAR-10 from ../shared/datasets "
                             "or $MNAS_CIFAR10; --download fetches it through torchvision when online)")
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 when not found")
    parser.add_argument("--output", default="runs/search",
                        help="output folder; an unfinished search there resumes (default: runs/search)")
    parser.add_argument("--budget-children", type=int, default=_DEFAULTS.budget_children)
    parser.add_argument("--budget-minutes", type=float, default=_DEFAULTS.budget_minutes,
                        help="no new child starts after this many minutes of children (0: no limit)")
    parser.add_argument("--target-latency-ms", type=float, default=_DEFAULTS.target_latency_ms,
                        help="T of the reward; 0 measures the B1 skeleton at the base width (default)")
    parser.add_argument("--constraint", choices=("soft", "hard"), default=_DEFAULTS.constraint)
    parser.add_argument("--w", type=float, default=_DEFAULTS.w, help="soft-constraint exponent (-0.07)")
    parser.add_argument("--proxy-epochs", type=int, default=_DEFAULTS.proxy_epochs)
    parser.add_argument("--train-images", type=int, default=_DEFAULTS.train_images)
    parser.add_argument("--val-images", type=int, default=_DEFAULTS.val_images)
    parser.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size)
    parser.add_argument("--lr", type=float, default=_DEFAULTS.lr, help="proxy training learning rate")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    parser.add_argument("--sampler", choices=SAMPLERS, default=_DEFAULTS.sampler)
    parser.add_argument("--latency-engine", choices=("torch", "onnxruntime"),
                        default=_DEFAULTS.latency_engine)
    parser.add_argument("--threads", type=int, default=_DEFAULTS.threads, help="latency threads (1)")
    parser.add_argument("--latency-rounds", type=int, default=_DEFAULTS.latency_rounds,
                        help="paired rounds per latency measurement: a burst of the reference, one of the child")
    parser.add_argument("--latency-burst", type=int, default=_DEFAULTS.latency_burst,
                        help="calls per burst (the fastest counts; the median ratio over rounds is reported)")
    parser.add_argument("--train-threads", type=int, default=_DEFAULTS.train_threads,
                        help="proxy-training threads (0: all cores)")
    parser.add_argument("--device", default=_DEFAULTS.device,
                        help="proxy training on auto (CUDA when available, default), cpu, cuda or cuda:N")
    parser.add_argument("--width", type=float, default=_DEFAULTS.width, help="skeleton base width")
    parser.add_argument("--baseline-widths", type=lambda s: tuple(float(w) for w in s.split(",") if w),
                        default=_DEFAULTS.baseline_widths, help="B1 skeleton widths, comma-separated")
    parser.add_argument("--executor", choices=EXECUTORS, default=_DEFAULTS.executor,
                        help="local: children one at a time here; ray: in parallel on Ray (see --ray-address)")
    parser.add_argument("--ray-address", default=_DEFAULTS.ray_address,
                        help="ray: empty starts a local instance; 'auto' or ray://host:port joins a cluster")
    parser.add_argument("--max-retries", type=int, default=_DEFAULTS.max_retries,
                        help="ray: retries of a child whose worker died")
    parser.add_argument("--evaluator", choices=EVALUATORS, default=_DEFAULTS.evaluator,
                        help="live: train and time every child; table: look children up in a benchmark table")
    parser.add_argument("--table-file", default=_DEFAULTS.table_file,
                        help="table: a packed table (python -m mnas table pack); empty: the shipped one")
    parser.add_argument("--population", type=int, default=_DEFAULTS.population, help="evolution: population")
    parser.add_argument("--tournament", type=int, default=_DEFAULTS.tournament,
                        help="evolution: members drawn per tournament")
    parser.add_argument("--final-top-k", type=int, default=_DEFAULTS.final_top_k,
                        help="after the search, retrain this many top children and >= 3 B1 widths identically "
                             "and compare them on test/ (final.md, final.png); 0: no final comparison")
    parser.add_argument("--final-b1-widths", type=int, default=_DEFAULTS.final_b1_widths)
    parser.add_argument("--final-epochs", type=int, default=_DEFAULTS.final_epochs)
    parser.add_argument("--final-train-per-class", type=int, default=_DEFAULTS.final_train_per_class)
    parser.add_argument("--final-val-per-class", type=int, default=_DEFAULTS.final_val_per_class)
    parser.add_argument("--final-test-per-class", type=int, default=_DEFAULTS.final_test_per_class,
                        help="test images per class (0: all)")
    parser.add_argument("--compare-random", action="store_true",
                        help="also run random search with the same budget and trainer")
    parser.add_argument("--no-predictor", action="store_true", help="skip the lookup-table predictor")


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    fields = {f.name for f in dataclasses.fields(SearchConfig)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    return SearchConfig(**values, predictor=not args.no_predictor)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..data import cifar10_root

    config = config_from_args(args)
    data_root = args.data or cifar10_root(download=args.download)
    search = Search(data_root, args.output, config)
    total = len(config.baseline_widths) + config.budget_children * (2 if config.compare_random else 1)
    with tqdm(total=total, unit="child", desc="search") as bar:
        def on_child(phase: str, record: dict, index: int, count: int) -> None:
            bar.update(1)
            bar.write(f"{phase} {index}: acc {record['accuracy']:.3f} lat {record['latency_ratio']:.3f}xT "
                      f"reward {record['reward']:.4f}  {record['arch']}")
            bar.set_postfix_str(f"{phase} acc {record['accuracy']:.3f} "
                                f"lat {record['latency_ratio']:.3f}xT reward {record['reward']:.4f}")

        result = search.run(on_child=on_child)
    summary = result.summary
    print(f"space: {summary['space']}")
    print(f"T = {summary['target_ratio']:.3f} x the reference ({summary['target_latency_ms']:.3f} ms at the "
          f"start); {summary['children']} children "
          f"({summary['children_per_minute'] or 0:.2f} per minute)")
    if summary["best"]:
        best = summary["best"]
        print(f"best child: reward {best['reward']:.4f}, accuracy {best['accuracy']:.3f}, "
              f"latency {best['latency_ratio']:.3f} x reference ({best['latency_ms']:.2f} ms), "
              f"{best['params']:,} params, "
              f"{best['macs'] / 1e6:.1f}M MACs")
        print(f"  {best['arch']}")
    print(f"predictor: {json.dumps(summary['predictor'])}")
    if "final" in summary:
        print(summary["final"]["words"])
    print(f"outputs in {result.output_dir}: summary.json, pareto.png, curves.png, children.jsonl")
    return 0
