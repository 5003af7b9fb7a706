"""``python -m mnas lessons copy <folder>``: a working copy of the lessons for a class (see mnas.lessons)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="copy")
    copy = actions.add_parser("copy", help="copy the lesson notebooks into a folder outside the repository",
                              description="Copy the lesson notebooks into FOLDER (created if needed) "
                                          "for a student or a class to run; the repository's lessons "
                                          "stay untouched.")
    copy.add_argument("folder", help="where the copies go, outside the repository")
    copy.add_argument("--overwrite", action="store_true",
                      help="replace lessons already in FOLDER (their outputs and edits are lost)")


def run(args: argparse.Namespace) -> int:
    from mnas.lessons import LessonCopyError, copy_lessons, jupyterlab_command

    try:
        copies = copy_lessons(args.folder, overwrite=args.overwrite)
    except LessonCopyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(copies)} lessons copied to {copies[0].parent}\n"
          f"open them with: {jupyterlab_command(copies[0].parent)}")
    return 0
