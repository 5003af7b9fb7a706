"""The teacher's edition: the lessons executed with their solutions, as HTML with an index page."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mnas.lessons.copies import INSTALLED, LESSONS_DIR, SOURCE_ROOT, copy_lessons, lesson_notebooks
from mnas.utils.paths import FAST_ENV, output_root

SOLUTIONS_DIR = LESSONS_DIR / "solutions"


# a clone: outputs/teacher (git-ignored); installed: beside the other runs (mnas.utils.paths.output_root)
TEACHER_DIR = output_root() / "teacher" if INSTALLED else SOURCE_ROOT / "outputs" / "teacher"
# the teacher's runs the docs quote (docs/lessons.md), relative to a clone's root
TEACHER_RUNS = "bench/results/lessons/teacher.json"


def lesson_number(notebook: Path) -> int:
    return int(Path(notebook).name[:2])


def with_solutions(notebook, number: int):
    """`notebook` with its exercise solutions (``notebooks/solutions/NN.py``, jupytext py:percent)
    appended under a heading; the solutions run in the lesson's kernel, after the lesson."""
    import jupytext
    import nbformat

    source = SOLUTIONS_DIR / f"{number:02d}.py"
    if not source.is_file():
        raise FileNotFoundError(f"no solutions for lesson {number}: expected {source}")
    heading = nbformat.v4.new_markdown_cell("## Solutions to the exercises (teacher's edition only)\n\n"
                                            "Not in the students' notebooks.")
    notebook.cells += [heading] + list(jupytext.read(source).cells)
    return notebook


class _Environment:
    """Set environment variables for the kernels started inside the block, then restore them."""

    def __init__(self, **values: str):
        self.values, self.saved = values, {}

    def __enter__(self):
        import os

        self.saved = {key: os.environ.get(key) for key in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc):
        import os

        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def build_teacher_edition(output: str | Path = TEACHER_DIR, *, fast: bool = False,
                          lessons: list[int] | None = None, timeout: int = 1800,
                          log: Callable[[str], None] = print) -> list[dict]:
    """Execute the lessons with their solutions, in full mode (``fast``: MNAS_FAST=1) in a temporary
    working copy, and write one HTML per lesson with its outputs into `output`, plus ``index.html``
    and ``times.json``. The repository's notebooks are only read. Returns one record per lesson
    (``lesson``, ``html``, ``seconds``, ``error``, and ``claims``: the figures its text states, from its
    ``claims.json``, so that the docs can quote a teacher's run); a lesson that fails is written up to its error and
    the build goes on with the next. `output` is locked and marked for the build (`mnas.utils.locks`): a folder
    of another kind of run, or holding files of its own (a user's index.html), is refused up front."""
    import datetime
    import json
    import os
    import tempfile
    import time

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter

    from mnas.utils.fileio import atomic_write_text
    from mnas.utils.locks import output_folder_lock

    available = {lesson_number(p): p for p in lesson_notebooks()}
    chosen = sorted(set(lessons)) if lessons else sorted(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise ValueError(f"lessons {unknown} do not exist: expected numbers among {sorted(available)}")
    output = Path(output).expanduser().resolve()
    mode = "fast" if fast else "full"
    records = []
    kernels_env = _Environment(**{FAST_ENV: "1" if fast else "0"})  # what the lessons' kernels read
    # the lock refuses a folder of another kind of run or of the user's own files before any lesson runs
    with output_folder_lock(output, "lessons build", owns=_built_by_a_build), \
            tempfile.TemporaryDirectory(prefix="mnas-teacher-") as work, kernels_env:
        copy_lessons(work)  # one folder for all: lessons 5 and 6 use what 4 and 5 wrote
        for number in chosen:
            copy = Path(work) / available[number].name
            notebook = with_solutions(nbformat.read(copy, as_version=4), number)
            client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                    resources={"metadata": {"path": work}})
            log(f"lesson {number}: executing {copy.name} in {mode} mode ...")
            start, error = time.perf_counter(), None
            try:
                client.execute()
            except CellExecutionError as failure:
                error = str(failure).splitlines()[-1] if str(failure) else type(failure).__name__
            seconds = time.perf_counter() - start
            load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
            stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
            notebook.cells.insert(0, nbformat.v4.new_markdown_cell(
                f"**Teacher's edition** ({mode} mode): executed {stamp} in **{seconds:.0f} s**, load average "
                f"{load} at the end" + (f". **It stopped on an error:** `{error}`" if error else "") + "."))
            html = output / f"{copy.stem}.html"
            atomic_write_text(html, HTMLExporter().from_notebook_node(notebook)[0])
            records.append({"lesson": number, "name": copy.stem, "html": str(html), "mode": mode, "executed": stamp,
                            "seconds": round(seconds, 1), "load_average": load, "error": error,
                            "claims": _claims(Path(work), number)})
            log(f"lesson {number}: {seconds:.0f} s{' (ERROR: ' + error + ')' if error else ''} -> {html}")
        atomic_write_text(output / "times.json", json.dumps(records, indent=2))
        atomic_write_text(output / "index.html", _index_html(records))
    return records


def write_teacher_runs(path: str | Path, records: list[dict]) -> None:
    """Merge the build's records (less their HTML paths, which are this machine's) into `path`, one
    entry per lesson and mode: a build of some lessons replaces theirs and keeps the others'."""
    import json

    from mnas.utils.fileio import atomic_write_text

    path = Path(path)
    kept = json.loads(path.read_text()) if path.is_file() else []
    new = [{k: v for k, v in record.items() if k != "html"} for record in records]
    replaced = {(r["lesson"], r["mode"]) for r in new}
    merged = [r for r in kept if (r["lesson"], r["mode"]) not in replaced] + new
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(sorted(merged, key=lambda r: (r["mode"], r["lesson"])), indent=1) + "\n")


def _claims(work: Path, number: int) -> dict:
    """The figures lesson `number` recorded (`mnas.lessons.record_claims`), empty for a lesson that records none."""
    import json

    path = work / "outputs" / f"lesson{number:02d}" / "claims.json"
    return json.loads(path.read_text()) if path.is_file() else {}


INDEX_TITLE = "<title>MnasNet lessons: teacher's edition</title>"


EDITION_MARKS = ("Teacher&#39;s edition", "Teacher's edition")  # the first cell of every lesson's HTML


def _built_by_a_build(path: Path) -> bool:
    """Whether `path` is what a build wrote: by content, as index.html and times.json are anybody's names."""
    import json
    import re

    try:
        if path.name == "times.json":
            records = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(records, list) and all(isinstance(r, dict) and "lesson" in r for r in records)
        if path.name == "index.html":
            return INDEX_TITLE in path.read_text(encoding="utf-8")[:500]
        if re.fullmatch(r"\d\d_\w+\.html", path.name):
            text = path.read_text(encoding="utf-8")
            return any(mark in text for mark in EDITION_MARKS)
    except (OSError, ValueError):  # unreadable, not UTF-8, not JSON: not ours
        pass
    return False


def _index_html(records: list[dict]) -> str:
    rows = "\n".join(f"<tr><td><a href=\"{Path(r['html']).name}\">{r['name']}</a></td><td>{r['mode']}</td>"
                     f"<td>{r['seconds']:.0f} s</td><td>{r['load_average']}</td><td>{r['error'] or 'ok'}</td></tr>"
                     for r in records)
    return ("<!doctype html><meta charset=\"utf-8\">" + INDEX_TITLE + "\n"
            "<h1>MnasNet lessons: teacher's edition</h1>\n<table border=\"1\" cellpadding=\"4\">\n"
            "<tr><th>lesson</th><th>mode</th><th>execution time</th><th>load average (1, 5, 15 min)</th>"
            f"<th>status</th></tr>\n{rows}\n</table>\n")
