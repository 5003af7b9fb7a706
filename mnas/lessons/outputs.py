"""What a running lesson writes: its outputs folder (git-ignored beside the notebook), its figures, its claims."""

from __future__ import annotations

from pathlib import Path
from typing import Callable


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
