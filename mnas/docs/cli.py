"""``mnas docs``: render the documentation's result tables from bench/results (``--check``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mnas.docs.tables import RENDER_COMMAND, REPOSITORY, refresh


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="action", required=True)
    tables = commands.add_parser("tables", help="render the docs' result tables from bench/results")
    tables.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when a page disagrees with the results")
    tables.add_argument("--root", type=Path, default=REPOSITORY,
                        help="the repository (docs/ and bench/results/ in it; default: this checkout)")


def run(args: argparse.Namespace) -> int:
    differing = refresh(args.root, check=args.check)
    names = ", ".join(str(p.relative_to(args.root)) for p in differing)
    if args.check:
        if differing:
            print(f"pages that disagree with bench/results: {names}; run '{RENDER_COMMAND}'", file=sys.stderr)
            return 1
        print("every results table agrees with bench/results")
    else:
        print(f"rewrote {names}" if differing else "every results table was up to date")
    return 0
