"""``python -m mnas surrogate build``: measure the surrogate benchmark's architectures (resumable)."""

from __future__ import annotations

import argparse
import sys
import time

from ..config import EXECUTORS
from .build import STAGES, build_surrogate

DEFAULT_FOLDER = "bench/results/surrogate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="action", required=True)
    build = commands.add_parser("build", help="train and time the planned architectures at recipe F (resumable)")
    build.add_argument("--stage", choices=STAGES, default="A", help="A: 400 random + the reference families; "
                       "B: 400 more random + the trajectory architectures")
    build.add_argument("--data", default=None, help="dataset folder (default: CIFAR-10 from ../shared/datasets)")
    build.add_argument("--output", default=DEFAULT_FOLDER, help="build folder (runs.jsonl, surrogate_build.json)")
    build.add_argument("--limit", type=int, default=0, help="stop after this many new trainings (0: the whole stage)")
    build.add_argument("--executor", choices=EXECUTORS, default="local")
    build.add_argument("--ray-address", default="")


def _progress(planned_unit: str):
    """A tqdm bar in a terminal; in a log, one line per training with the time left."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(unit=planned_unit)

        def update(run, number, planned):
            bar.total = planned
            bar.n = number
            bar.set_postfix_str(f"{run['role']} acc {run['accuracy']:.3f}")
            bar.refresh()
        return update
    started = time.monotonic()

    def line(run, number, planned):
        left = (time.monotonic() - started) / number * (planned - number)
        print(f"[surrogate] {number}/{planned} {run['role']} {run['index']} seed {run['seed']}: top-1 "
              f"{run['accuracy']:.4f} in {run['train_seconds']:.0f} s; about {left / 3600:.1f} h left", flush=True)
    return line


def run(args: argparse.Namespace) -> int:
    from ...data import cifar10_root

    if args.limit < 0:
        raise ValueError(f"--limit must be >= 0, got {args.limit}")
    runs = build_surrogate(args.data or cifar10_root(), args.output, args.stage, executor=args.executor,
                           ray_address=args.ray_address, limit=args.limit, on_run=_progress("training"))
    print(f"{len(runs)} trainings logged in {args.output}")
    return 0
