"""Command line: ``mnas <command> ...`` (or ``python -m mnas``; ``--version``); each command lives in its own module.

A command module defines ``add_arguments(parser)`` and ``run(args) -> int``; it is imported only when
its command is used, so one command's dependencies never slow down another. Every command reports a bad
input the same way: ``error: <what is wrong and what was expected>`` on stderr, exit status 2 (what
argparse does for a malformed option); the errors are `ValueError` s (`FileNotFoundError` for a missing
file) raised with that message.

Stopping a command: Ctrl-C (SIGINT) and SIGTERM (``kill``, a service manager, a batch scheduler) both
unwind the command like a `KeyboardInterrupt`, so its cleanup runs (the output folder's lock released,
a Ray instance it started shut down, the finished epochs or children kept); the command prints one line
saying what is kept and how to resume, and the exit status is 128 + the signal's number (130, 143), as a
shell reports a process killed by it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
from pathlib import Path

COMMANDS = {
    # name: (module, one-line help)
    "summary": ("mnas.latency.cli", "params, MACs and measured latency of every named variant"),
    "infer": ("mnas.infer.cli", "classify image files with a variant or a trained weights file"),
    "train": ("mnas.train.cli", "train or fine-tune an architecture on a folder dataset"),
    "evaluate": ("mnas.evaluation.cli", "a model file's report on labelled images (confusion matrix, F1, intervals)"),
    "search": ("mnas.search.cli", "run the miniature MnasNet platform-aware search"),
    "table": ("mnas.search.table.cli", "build, pack and inspect the benchmark table of a search sub-space"),
    "surrogate": ("mnas.search.surrogate.cli", "measure the surrogate benchmark of the whole search space"),
    "export": ("mnas.export", "export a trained model for phones (ExecuTorch), checked against torch and timed"),
    "lessons": ("mnas.lessons.cli", "copy the lessons for a class; build the teacher's edition (HTML)"),
    "data": ("mnas.data.cli", "put a dataset on this machine: data cifar10 [FOLDER] (torchvision download)"),
    "weights": ("mnas.weights.cli", "the published ImageNet weights: weights list, weights fetch [NAMES] (online)"),
    "docs": ("mnas.docs.cli", "render the documentation's result tables from bench/results (--check)"),
}


DISTRIBUTION = "mnasnet-ikomia"


def _program() -> str:
    """How the user started us: the installed ``mnas`` command, or ``python -m mnas``."""
    return "mnas" if Path(sys.argv[0] if sys.argv else "").name == "mnas" else "python -m mnas"


def version() -> str:
    """The installed distribution's version ("unknown" in a source tree that was never installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _usage() -> str:
    program = _program()
    lines = [f"usage: {program} <command> [options]   ({program} --version)", "", "commands:"]
    lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines.append(f"\n'{program} <command> --help' for a command's options")
    return "\n".join(lines)


@contextlib.contextmanager
def _sigterm_unwinds():
    """SIGTERM raises `KeyboardInterrupt` in the main thread for the block (the default would end the
    process at once: lock file left, Ray's own handler aborts the driver); yields the signals received.
    Only the first one raises: a second SIGTERM must not break the cleanup the first one started."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be set from the main thread
        return

    def unwind(signum, frame):
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, unwind)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)  # main() called in-process (tests) leaves no trace


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"{DISTRIBUTION} {version()}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"{_program()} {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    from mnas.utils.fileio import WriteError
    with _sigterm_unwinds() as received:
        try:
            status = int(module.run(args) or 0)
        # a bad input, or a write the storage refused (disk full): the message says what to fix
        except (ValueError, FileNotFoundError, ConnectionError, WriteError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # a command with nothing of its own to say about being stopped
            print("\ninterrupted", file=sys.stderr)
            status = 130
    # the commands answer an interruption with 130 (SIGINT's); a SIGTERM says 143
    return 128 + signal.SIGTERM if status == 130 and received else status


if __name__ == "__main__":
    sys.exit(main())
