"""``python -m mnas search``: the miniature MnasNet search on a folder dataset (resumable, tqdm bar)."""

from __future__ import annotations

import argparse
import json
import sys

from mnas.search.config import SearchConfig
from mnas.search.loop import CHILDREN_LOG, Search
from mnas.settings import add_arguments as add_setting_arguments
from mnas.settings import build, deprecated_flag, values_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None,
                        help="dataset folder with train/<class>/ (default: CIFAR-10 from ../shared/datasets "
                             "or $MNAS_CIFAR10; --download-data fetches it through torchvision when online)")
    # --download-data: the dataset (infer's --download-weights: the ImageNet weights); --download was both
    parser.add_argument("--download-data", dest="download", action="store_true",
                        help="download CIFAR-10 when not found")
    deprecated_flag(parser, "--download", "--download-data", "download")
    parser.add_argument("--output", default=None,
                        help="output folder; an unfinished search there resumes (default: search under "
                             "$MNAS_OUTPUT_DIR or ~/mnas-runs)")
    add_setting_arguments(parser, SearchConfig)  # every setting, as SearchConfig declares it


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    return build(SearchConfig, values_from_args(SearchConfig, args))  # errors say learning_rate, not lr


def _run_with_progress(search: Search, config: SearchConfig):
    from mnas.utils.progress import Progress

    with Progress(config.evaluations(), "search", unit="child") as progress:
        def on_child(phase: str, record: dict, index: int, count: int) -> None:
            progress.message(f"{phase} {index}: {record['arch']}")
            progress.step(f"{phase} {index}: acc {record['accuracy']:.3f} lat {record['latency_ratio']:.3f}xT "
                          f"reward {record['reward']:.4f}")

        return search.run(on_child=on_child)


def run(args: argparse.Namespace) -> int:
    from mnas.data.cifar10 import cifar10_root
    from mnas.utils.paths import output_root

    config = config_from_args(args)
    data_root = args.data or cifar10_root(download=args.download)
    search = Search(data_root, args.output or output_root() / "search", config)
    try:
        result = _run_with_progress(search, config)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (mnas.__main__): the lock and a Ray instance are released
        print(f"\nsearch stopped: every finished child is kept in {search.output_dir / CHILDREN_LOG}; run the "
              f"same command (--output {search.output_dir}) to resume it", file=sys.stderr)
        return 130
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
