"""``python -m mnas surrogate build``: measure the surrogate benchmark's architectures (resumable)."""

from __future__ import annotations

import argparse

from mnas.search.config import EXECUTORS
from mnas.search.surrogate.build import STAGES, build_surrogate

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
    report = commands.add_parser("report", help="the surrogate's held-out quality and the reference curves "
                                 "(report.json, learning_curve.png, references.png in the build folder)")
    report.add_argument("--input", default=DEFAULT_FOLDER, help="build folder")
    trajectories = commands.add_parser("trajectories", help="choose stage B's architectures from RL and evolution "
                                       "searches on the stage-A surrogate (trajectories.json, written once)")
    trajectories.add_argument("--input", default=DEFAULT_FOLDER, help="build folder")
    trajectories.add_argument("--count", type=int, default=150)
    trajectories.add_argument("--searches", type=int, default=5, help="seeds per strategy")
    trajectories.add_argument("--children", type=int, default=1000, help="children per search")
    pack = commands.add_parser("pack", help="write the shipped, checksummed measurements from a build folder")
    pack.add_argument("--input", default=DEFAULT_FOLDER, help="build folder")
    pack.add_argument("--output", default=None, help="packed file (default: the one shipped with mnas)")
    pack.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                      help="the stages whose trainings are shipped (default: all; A: the stage-A surrogate that "
                           "stage B's held-out figures judge)")


def run(args: argparse.Namespace) -> int:
    if args.action == "trajectories":
        from mnas.search.surrogate.trajectories import propose

        if min(args.count, args.searches, args.children) < 1:
            raise ValueError("--count, --searches and --children must be >= 1")
        chosen = propose(args.input, args.count, args.searches, args.children)
        print(f"{len(chosen)} trajectory architectures written to {args.input}/trajectories.json")
        return 0
    if args.action == "pack":
        from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, pack_runs

        header = pack_runs(args.input, args.output or DEFAULT_SURROGATE, stages=args.stages)
        print(f"{header['runs']} trainings packed into {args.output or DEFAULT_SURROGATE}")
        return 0
    if args.action == "report":
        import json

        from mnas.search.surrogate.report import report

        print(json.dumps(report(args.input), indent=1))
        return 0
    from mnas.data.cifar10 import cifar10_root

    if args.limit < 0:
        raise ValueError(f"--limit must be >= 0, got {args.limit}")
    from mnas.utils.progress import Progress

    progress = Progress(0, "surrogate", unit="training", terminal=False)  # a bar needs its total up front

    def on_run(run: dict, number: int, planned: int) -> None:
        progress.total = planned
        progress.step(f"{run['role']} {run['index']} seed {run['seed']}: top-1 {run['accuracy']:.4f} in "
                      f"{run['train_seconds']:.0f} s")

    runs = build_surrogate(args.data or cifar10_root(), args.output, args.stage, executor=args.executor,
                           ray_address=args.ray_address, limit=args.limit, on_run=on_run)
    print(f"{len(runs)} trainings logged in {args.output}")
    return 0
