"""``python -m mnas lessons copy <folder>``: a working copy of the lessons for a class;
``python -m mnas lessons build``: the teacher's edition, every lesson executed with its solutions, as
HTML (see mnas.lessons.copies)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mnas.lessons.teacher import TEACHER_DIR, TEACHER_RUNS

    actions = parser.add_subparsers(dest="action", required=True, metavar="{copy,build}")
    copy = actions.add_parser("copy", help="copy the lesson notebooks into a folder outside the repository",
                              description="Copy the lesson notebooks into FOLDER (created if needed) "
                                          "for a student or a class to run; the repository's lessons "
                                          "stay untouched.")
    copy.add_argument("folder", help="where the copies go: outside the repository and the system folders; a "
                                     "link where a lesson goes is refused")
    copy.add_argument("--overwrite", action="store_true",
                      help="replace lessons already in FOLDER (their outputs and edits are lost)")
    build = actions.add_parser("build", help="the teacher's edition: run every lesson with its solutions, "
                                             "write HTML with the outputs",
                               description="Execute the lessons (full mode unless --fast) with the "
                                           "exercise solutions appended, in a temporary working copy, and "
                                           "write one HTML per lesson, index.html and times.json.")
    build.add_argument("--output", default=str(TEACHER_DIR),
                       help=f"folder for the HTML files (default: {TEACHER_DIR}): new, empty or "
                            "of an earlier build; a folder of other files is refused")
    build.add_argument("--fast", action="store_true", help="fast mode (MNAS_FAST=1): minutes instead of "
                                                           "the full lessons' tens of minutes")
    build.add_argument("--lessons", type=int, nargs="+", metavar="N",
                       help="lesson numbers to build (default: all; 5 and 6 use what 4 and 5 wrote, "
                            "and make a stand-in when it is missing)")
    build.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    build.add_argument("--results", metavar="FILE", default="",
                       help="also write the lessons' times and stated figures (their claims.json) to FILE; "
                            f"{TEACHER_RUNS} is the one the docs quote (python -m mnas docs tables)")


def run(args: argparse.Namespace) -> int:
    from mnas.lessons.copies import copy_lessons, jupyterlab_command
    from mnas.lessons.teacher import build_teacher_edition, write_teacher_runs

    if args.action == "build":
        records = build_teacher_edition(args.output, fast=args.fast, lessons=args.lessons, timeout=args.timeout)
        if args.results:
            write_teacher_runs(args.results, records)
        failed = [r for r in records if r["error"]]
        print(f"{len(records)} lessons built into {records[0]['html'].rsplit('/', 1)[0]}; open index.html"
              + (f"; {len(failed)} stopped on an error: {', '.join(r['name'] for r in failed)}" if failed else ""))
        return 1 if failed else 0
    copies = copy_lessons(args.folder, overwrite=args.overwrite)  # a LessonCopyError: mnas.__main__ says it
    print(f"{len(copies)} lessons copied to {copies[0].parent}\n"
          f"open them with: {jupyterlab_command(copies[0].parent)}")
    return 0
