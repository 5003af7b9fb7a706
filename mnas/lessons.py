"""What the classroom notebooks share, and the working copies a class runs them in.

The lessons in ``notebooks/`` are the project's sources; a class works in copies made by
``python -m mnas lessons copy <folder>`` (``copy_lessons``), so running cells never writes outputs
into the repository. The lessons and their solutions also ship inside the package, as package data
``mnas/notebooks/`` (pyproject.toml maps ``notebooks/`` there), so the same command works after a plain
``pip install``: `LESSONS_DIR` is the package's copy when there is one, else the clone's ``notebooks/``.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent   # the clone (or site-packages, once installed)
PACKAGED_LESSONS = Path(__file__).resolve().parent / "notebooks"  # in an installed package only
INSTALLED = PACKAGED_LESSONS.is_dir()
LESSONS_DIR = PACKAGED_LESSONS if INSTALLED else REPO_ROOT / "notebooks"


def lesson_outputs(lesson: int) -> Path:
    """``outputs/lessonNN`` beside the notebooks (git-ignored), created if needed."""
    folder = Path("outputs") / f"lesson{lesson:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def figure_shower(folder: Path) -> Callable[[object, str], None]:
    """``show(fig, name)``: save the figure as ``folder/name.png``, then display it."""
    import matplotlib.pyplot as plt

    def show(fig, name: str) -> None:
        fig.savefig(Path(folder) / f"{name}.png", dpi=100, bbox_inches="tight")
        plt.show()

    return show


def record_claims(folder: Path, **claims) -> Path:
    """Merge `claims` (JSON values) into ``folder/claims.json``: the figures a lesson's text states,
    which tests/test_notebooks.py checks after running the lesson."""
    import json

    path = Path(folder) / "claims.json"
    stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    stored.update(json.loads(json.dumps(claims)))  # keys as JSON makes them (int keys become strings)
    path.write_text(json.dumps(stored, indent=2), encoding="utf-8")
    return path


def lesson_notebooks(folder: Path = LESSONS_DIR) -> list[Path]:
    """The lessons' ``NN_name.ipynb`` files in ``folder``, in lesson order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def kernel_metadata() -> dict:
    """``kernelspec`` and ``language_info`` exactly as JupyterLab writes them for this interpreter's kernel.

    JupyterLab replaces both the moment a notebook's kernel starts; when they already hold these values
    nothing changes, so the notebook does not open as modified.
    """
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    spec = get_kernel_dict()
    return {"kernelspec": {"display_name": spec["display_name"], "language": spec["language"],
                           "name": KERNEL_NAME},
            "language_info": dict(IPythonKernel.language_info)}


class LessonCopyError(ValueError):
    """The working-copy folder cannot take the lessons (inside the repository or a system folder, already
    has them, or holds a link where a lesson goes)."""


# Never a class's working folder: the system's own trees (and / itself). Resolved paths are compared, so
# /bin -> /usr/bin and the like are covered.
SYSTEM_FOLDERS = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
                  "/sbin", "/sys", "/usr", "/var")


def copy_lessons(folder: str | Path, overwrite: bool = False) -> list[Path]:
    """Copy every lesson notebook into ``folder`` (created if needed) for a class to work in.

    Each copy is the lesson as committed, with its kernel metadata set for this interpreter and without
    the jupytext pairing, so saving it writes only that ``.ipynb``. The copies find the project's code
    (``mnas`` is installed in the environment) and data (``mnas.data`` looks beside the repository)
    from any folder. Lessons already in ``folder`` are kept unless ``overwrite``; a symbolic link where a
    lesson goes is always refused (a copy never writes through a link: a planted one would make or replace
    a file elsewhere), and each copy replaces the old one by a rename. A README.md saying how to open them
    is added when the folder has none.
    """
    import nbformat

    from .fileio import atomic_path

    target = _check_lesson_folder(folder)
    sources = lesson_notebooks()
    if not sources:
        raise LessonCopyError(f"no lesson notebooks (NN_name.ipynb) in {LESSONS_DIR}")
    _check_destinations(target, [target / source.name for source in sources], overwrite)
    target.mkdir(parents=True, exist_ok=True)
    metadata = kernel_metadata()
    copies = []
    for source in sources:
        notebook = nbformat.read(source, as_version=4)
        notebook.metadata.pop("jupytext", None)
        notebook.metadata.update(metadata)
        copies.append(target / source.name)
        with atomic_path(copies[-1]) as tmp:  # a rename replaces the entry itself, never what it points to
            nbformat.write(notebook, tmp)
    _write_readme(target)
    return copies


def _check_lesson_folder(folder: str | Path) -> Path:
    """`folder` resolved; refused when it is the repository (the installed packages' folder) or inside
    it, a system folder, or a file."""
    target = Path(folder).expanduser().resolve()
    if target == REPO_ROOT or REPO_ROOT in target.parents:
        where, why = (("the installed packages' folder", "class work does not belong among the packages")
                      if INSTALLED else ("the repository", "class work never shows up in git"))
        raise LessonCopyError(f"lesson folder {str(target)!r} is inside {where} {str(REPO_ROOT)!r}: "
                              f"choose a folder outside it, so that {why}")
    system = [Path(p).resolve() for p in SYSTEM_FOLDERS]
    if target == Path(target.anchor) or any(target == p or p in target.parents for p in system):
        raise LessonCopyError(f"lesson folder {str(target)!r} is a system folder: choose a folder of your own "
                              "(e.g. ~/mnas-lessons)")
    if target.exists() and not target.is_dir():
        raise LessonCopyError(f"lesson folder {str(target)!r} exists and is not a folder: choose a folder")
    return target


def _check_destinations(target: Path, destinations: list[Path], overwrite: bool) -> None:
    """Links and non-files where a lesson goes are refused; lessons already there need `overwrite`."""
    links = [p for p in destinations if p.is_symlink()]
    if links:
        raise LessonCopyError(f"{str(target)!r}: {', '.join(f'{p.name} -> {os.readlink(p)}' for p in links)} "
                              "is a symbolic link: a copy never writes through a link; remove it first")
    others = [p for p in destinations if p.exists() and not p.is_file()]
    if others:
        raise LessonCopyError(f"{str(target)!r}: {', '.join(p.name for p in others)} is not a file: remove it "
                              "first")
    existing = [p for p in destinations if p.exists()]
    if existing and not overwrite:
        raise LessonCopyError(f"{str(target)!r} already holds {', '.join(p.name for p in existing)}: a "
                              "student's work is kept; pass --overwrite to replace the lessons with fresh copies")


def _write_readme(target: Path) -> None:
    """README.md, only when the folder has none: never a README of the folder's own, nor through a link
    (O_EXCL refuses any existing name, a dangling link included)."""
    try:
        with open(target / "README.md", "x", encoding="utf-8") as readme:
            readme.write(_copy_readme(target))
    except FileExistsError:
        pass


def jupyterlab_command(folder: Path) -> str:
    """The shell command that opens JupyterLab, from this environment, on ``folder`` (quoted for the
    shell: a folder name may hold spaces or quotes)."""
    jupyter = Path(sys.executable).parent / "jupyter"
    return f"cd {shlex.quote(str(folder))} && {shlex.quote(str(jupyter))} lab"


def _copy_readme(target: Path) -> str:
    return (f"# MnasNet lessons: a working copy\n\n"
            f"Made by `python -m mnas lessons copy` from {LESSONS_DIR}. Open the lessons with\n\n"
            f"    {jupyterlab_command(target)}\n\n"
            "and double-click a `.ipynb`. What the lessons write goes to `outputs/` here. For fresh\n"
            "lessons, make a new copy; this folder can be deleted at any time.\n")


# ------------------------------------------------------------------------- the teacher's edition

SOLUTIONS_DIR = LESSONS_DIR / "solutions"
# a clone: outputs/teacher (git-ignored); installed: beside the other runs (mnas.train_job.default_output_root)
TEACHER_DIR = (Path(os.environ.get("MNAS_OUTPUT_DIR") or Path.home() / "mnas-runs") / "teacher" if INSTALLED
               else REPO_ROOT / "outputs" / "teacher")


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
    (``lesson``, ``html``, ``seconds``, ``error``); a lesson that fails is written up to its error and
    the build goes on with the next. `output` is locked and marked for the build (`mnas.locks`): a folder
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

    from .fileio import atomic_write_text
    from .locks import output_folder_lock

    available = {lesson_number(p): p for p in lesson_notebooks()}
    chosen = sorted(set(lessons)) if lessons else sorted(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise ValueError(f"lessons {unknown} do not exist: expected numbers among {sorted(available)}")
    output = Path(output).expanduser().resolve()
    mode = "fast" if fast else "full"
    records = []
    # the lock refuses a folder of another kind of run or of the user's own files before any lesson runs
    with output_folder_lock(output, "lessons build", owns=_built_by_a_build), \
            tempfile.TemporaryDirectory(prefix="mnas-teacher-") as work, _Environment(MNAS_FAST="1" if fast else "0"):
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
            records.append({"lesson": number, "name": copy.stem, "html": str(html), "mode": mode,
                            "seconds": round(seconds, 1), "load_average": load, "error": error})
            log(f"lesson {number}: {seconds:.0f} s{' (ERROR: ' + error + ')' if error else ''} -> {html}")
        atomic_write_text(output / "times.json", json.dumps(records, indent=2))
        atomic_write_text(output / "index.html", _index_html(records))
    return records


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
