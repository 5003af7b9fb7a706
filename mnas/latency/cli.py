"""``python -m mnas summary``: every named variant's parameters, MACs and latency measured here."""

from __future__ import annotations

import argparse
import os

from mnas.latency.meter import ENGINES, measure_latency
from mnas.models import VARIANTS, count_macs, count_params, create_model
from mnas.preprocess import MAX_INPUT_SIZE, MIN_IMAGE_SIDE
from mnas.settings import DeprecatedOption


def variant_table(input_size: int = 224, threads: int = 1, repeats: int = 20, engine: str = "torch"):
    """One row per named variant: name, params, MACs, median latency (ms) and its CV."""
    rows = []
    for name, variant in VARIANTS.items():
        model = create_model(name, input_size=input_size).eval()
        latency = measure_latency(model, input_size, engine=engine, threads=threads, repeats=repeats)
        rows.append({"model": name, "description": variant.description, "params": count_params(model),
                     "macs": count_macs(model, input_size), "latency_ms": latency.median_ms,
                     "latency_cv": latency.cv})
    return rows


def format_variant_table(rows, input_size: int, threads: int, engine: str) -> str:
    """`variant_table`'s rows as the text table the command prints."""
    lines = [f"MnasNet variants at {input_size} px, batch 1, {threads} thread(s), {engine}, "
             f"this machine ({os.cpu_count()} cores)",
             f"{'model':<14} {'params':>10} {'MACs':>8} {'latency':>10} {'cv':>6}  description"]
    for r in rows:
        lines.append(f"{r['model']:<14} {r['params']:>10,} {r['macs'] / 1e6:>7.1f}M "
                     f"{r['latency_ms']:>8.2f}ms {r['latency_cv']:>6.1%}  {r['description']}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--latency-threads", type=int, default=1,
                        help="CPU threads of the latency measurement (default 1)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--latency-engine", choices=ENGINES, default="torch",
                        help="runtime the latency is measured with (default torch)")
    # the earlier names, as the search's settings now say latency_threads and latency_engine
    parser.add_argument("--threads", dest="latency_threads", type=int, default=argparse.SUPPRESS,
                        action=DeprecatedOption, new_flag="--latency-threads", help=argparse.SUPPRESS)
    parser.add_argument("--engine", dest="latency_engine", choices=ENGINES, default=argparse.SUPPRESS,
                        action=DeprecatedOption, new_flag="--latency-engine", help=argparse.SUPPRESS)


def check_arguments(args: argparse.Namespace) -> None:
    """A `ValueError` naming the first option out of range (reported as ``error: ...`` by mnas.__main__)."""
    checks = [("--input-size", args.input_size, MIN_IMAGE_SIDE <= args.input_size <= MAX_INPUT_SIZE,
               f"an integer >= {MIN_IMAGE_SIDE} and <= {MAX_INPUT_SIZE}"),
              ("--latency-threads", args.latency_threads, args.latency_threads >= 1, "an integer >= 1"),
              ("--repeats", args.repeats, args.repeats >= 3, "an integer >= 3 (a median needs repeats)")]
    for option, value, ok, expected in checks:
        if not ok:
            raise ValueError(f"{option} must be {expected}, got {value}")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    rows = variant_table(args.input_size, args.latency_threads, args.repeats, args.latency_engine)
    print(format_variant_table(rows, args.input_size, args.latency_threads, args.latency_engine))
    return 0
