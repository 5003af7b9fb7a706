"""``python -m mnas table build|pack|info``: the benchmark table of a MnasNet sub-space (resumable)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mnas.search.config import EXECUTORS, SearchConfig
from mnas.search.log import ChildLog
from mnas.search.table.build import ENTRIES_LOG, BuildPlan, build_table, table_space
from mnas.search.table.file import DEFAULT_TABLE, load_table, pack_table, seed_noise


def load_entries(folder: str) -> list[dict]:
    return ChildLog(Path(folder) / ENTRIES_LOG).read()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="action", required=True)
    build = commands.add_parser("build", help="measure the table (or go on measuring it: resumable)")
    build.add_argument("--data", default=None, help="dataset folder (default: CIFAR-10 from ../shared/datasets)")
    build.add_argument("--output", default="bench/results/table", help="build folder (table.jsonl, table_build.json)")
    build.add_argument("--limit", type=int, default=0, help="stop after this many entries in all (0: every one)")
    build.add_argument("--executor", choices=EXECUTORS, default="local")
    build.add_argument("--ray-address", default="")
    build.add_argument("--seeds", type=int, default=BuildPlan.seeds, help="seeds of the repeated entries")
    build.add_argument("--repeat-fraction", type=float, default=BuildPlan.repeat_fraction,
                       help="share of the entries trained with --seeds seeds")
    pack = commands.add_parser("pack", help="write the shipped, checksummed table file from a build folder")
    pack.add_argument("--input", default="bench/results/table")
    pack.add_argument("--output", default=str(DEFAULT_TABLE))
    info = commands.add_parser("info", help="what a packed table holds")
    info.add_argument("--table", default=str(DEFAULT_TABLE))


def run(args: argparse.Namespace) -> int:
    if args.action == "build":
        from mnas.data.cifar10 import cifar10_root
        from mnas.utils.progress import Progress

        config = SearchConfig(executor=args.executor, ray_address=args.ray_address)
        plan = BuildPlan(seeds=args.seeds, repeat_fraction=args.repeat_fraction)
        total = args.limit or table_space(config.width).size
        done_before = len(load_entries(args.output))
        with Progress(total - done_before, "table", unit="entry") as progress:
            def on_entry(entry, done, _total):
                progress.step(f"acc {entry['accuracy'][0]:.3f} lat {entry['latency_ratio'][0]:.2f}xT")

            entries = build_table(args.data or cifar10_root(), args.output, config, plan, args.limit, on_entry)
        print(f"{len(entries)} of {table_space(config.width).size} entries measured in {args.output}")
    elif args.action == "pack":
        header = pack_table(args.input, args.output)
        print(f"{header['entries']} of {header['space_size']} entries packed into {args.output}")
    else:
        header, entries = load_table(args.table)
        print(json.dumps({"entries": len(entries), "space_size": header["space_size"],
                          "machines": [m["cpu"] for m in header["machines"]], **seed_noise(entries)}, indent=1))
    return 0
