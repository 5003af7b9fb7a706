"""What the classroom notebooks share: each lesson's output folder, and its figures saved there as PNG."""

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
