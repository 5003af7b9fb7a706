"""What the classroom notebooks share, and the working copies a class runs them in.

The lessons in ``notebooks/`` are the project's sources; a class works in copies made by
``python -m mnas lessons copy <folder>`` (``copy_lessons``), so running cells never writes outputs
into the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
LESSONS_DIR = REPO_ROOT / "notebooks"


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
    """The working-copy folder cannot take the lessons (inside the repository, or already has them)."""


def copy_lessons(folder: str | Path, overwrite: bool = False) -> list[Path]:
    """Copy every lesson notebook into ``folder`` (created if needed) for a class to work in.

    Each copy is the lesson as committed, with its kernel metadata set for this interpreter and without
    the jupytext pairing, so saving it writes only that ``.ipynb``. The copies find the project's code
    (``mnas`` is installed in the environment) and data (``mnas.data`` looks beside the repository)
    from any folder. Lessons already in ``folder`` are kept unless ``overwrite``. A README.md saying how
    to open them is added when the folder has none.
    """
    import nbformat

    target = Path(folder).expanduser().resolve()
    if target == REPO_ROOT or REPO_ROOT in target.parents:
        raise LessonCopyError(f"lesson folder {target} is inside the repository {REPO_ROOT}: choose a "
                              "folder outside it, so that class work never shows up in git")
    if target.exists() and not target.is_dir():
        raise LessonCopyError(f"lesson folder {target} exists and is not a folder")
    sources = lesson_notebooks()
    if not sources:
        raise LessonCopyError(f"no lesson notebooks (NN_name.ipynb) in {LESSONS_DIR}")
    existing = [target / source.name for source in sources if (target / source.name).exists()]
    if existing and not overwrite:
        raise LessonCopyError(f"{target} already holds {', '.join(p.name for p in existing)}: a student's "
                              "work is kept; pass --overwrite to replace the lessons with fresh copies")
    target.mkdir(parents=True, exist_ok=True)
    metadata = kernel_metadata()
    copies = []
    for source in sources:
        notebook = nbformat.read(source, as_version=4)
        notebook.metadata.pop("jupytext", None)
        notebook.metadata.update(metadata)
        copies.append(target / source.name)
        nbformat.write(notebook, copies[-1])
    readme = target / "README.md"
    if not readme.exists():  # never replace a README of the folder's own
        readme.write_text(_copy_readme(target), encoding="utf-8")
    return copies


def jupyterlab_command(folder: Path) -> str:
    """The shell command that opens JupyterLab, from this environment, on ``folder``."""
    return f"cd {folder} && {Path(sys.executable).parent / 'jupyter'} lab"


def _copy_readme(target: Path) -> str:
    return (f"# MnasNet lessons: a working copy\n\n"
            f"Made by `python -m mnas lessons copy` from {LESSONS_DIR}. Open the lessons with\n\n"
            f"    {jupyterlab_command(target)}\n\n"
            "and double-click a `.ipynb`. What the lessons write goes to `outputs/` here. For fresh\n"
            "lessons, make a new copy; this folder can be deleted at any time.\n")
