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

from mnas.utils.paths import PACKAGE_DIR

SOURCE_ROOT = PACKAGE_DIR.parent  # the clone, or site-packages once installed
PACKAGED_LESSONS = PACKAGE_DIR / "notebooks"  # in an installed package only
INSTALLED = PACKAGED_LESSONS.is_dir()
LESSONS_DIR = PACKAGED_LESSONS if INSTALLED else SOURCE_ROOT / "notebooks"


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
    (``mnas`` is installed in the environment) and data (``mnas.data.folders`` looks beside the repository)
    from any folder. Lessons already in ``folder`` are kept unless ``overwrite``; a symbolic link where a
    lesson goes is always refused (a copy never writes through a link: a planted one would make or replace
    a file elsewhere), and each copy replaces the old one by a rename. A README.md saying how to open them
    is added when the folder has none.
    """
    import nbformat

    from mnas.utils.fileio import atomic_path

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
    if target == SOURCE_ROOT or SOURCE_ROOT in target.parents:
        where, why = (("the installed packages' folder", "class work does not belong among the packages")
                      if INSTALLED else ("the repository", "class work never shows up in git"))
        raise LessonCopyError(f"lesson folder {str(target)!r} is inside {where} {str(SOURCE_ROOT)!r}: "
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
