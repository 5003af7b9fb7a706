"""Draw the three plugins' icons (128 x 128 PNG, matplotlib Agg) into <plugin>/icons/mnasnet.png.

    python scripts/make_icons.py

One family look: a dark rounded tile with MnasNet's stages as coloured bars of their relative widths
(MnasNet-B1's output channels 16..320, log-scaled), and one sign per task: a label tag (infer), a
rising loss-to-accuracy curve (train), a magnifying glass (search).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch, Polygon  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SIZE_PX = 128
TILE = "#1f3b57"
SIGN = "#ffffff"
STAGE_COLOURS = ("#4fc3f7", "#4db6ac", "#81c784", "#dce775", "#ffb74d", "#ff8a65", "#f06292")
B1_CHANNELS = (16, 24, 40, 80, 96, 192, 320)


def _tile(ax) -> None:
    ax.add_patch(FancyBboxPatch((0.04, 0.04), 0.92, 0.92, boxstyle="round,pad=0,rounding_size=0.16",
                                facecolor=TILE, edgecolor="none"))


def _stages(ax, left: float = 0.12, bottom: float = 0.14, width: float = 0.5, height: float = 0.72) -> None:
    """MnasNet-B1's seven stages, bottom (input) to top, bar length ~ log of the stage's channels."""
    bar = height / len(B1_CHANNELS)
    low, high = math.log(B1_CHANNELS[0]), math.log(B1_CHANNELS[-1])
    for n, (channels, colour) in enumerate(zip(B1_CHANNELS, STAGE_COLOURS)):
        length = width * (0.35 + 0.65 * (math.log(channels) - low) / (high - low))
        ax.add_patch(FancyBboxPatch((left, bottom + n * bar + bar * 0.18), length, bar * 0.64,
                                    boxstyle="round,pad=0,rounding_size=0.02", facecolor=colour,
                                    edgecolor="none"))


def _tag(ax) -> None:
    """A price-tag shape with a hole: 'a label for the image'."""
    x, y = 0.62, 0.26
    points = [(x, y + 0.2), (x + 0.12, y + 0.4), (x + 0.28, y + 0.4), (x + 0.28, y), (x + 0.12, y)]
    ax.add_patch(Polygon(points, closed=True, facecolor=SIGN, edgecolor="none"))
    ax.add_patch(Circle((x + 0.11, y + 0.2), 0.035, facecolor=TILE, edgecolor="none"))


def _rising_curve(ax) -> None:
    """An accuracy curve rising then flattening, with an arrow head: 'training'."""
    xs = [0.62 + 0.28 * t / 20 for t in range(21)]
    ys = [0.22 + 0.5 * (1 - math.exp(-4 * t / 20)) for t in range(21)]
    ax.plot(xs, ys, color=SIGN, linewidth=5, solid_capstyle="round")
    ax.add_patch(Polygon([(xs[-1] + 0.05, ys[-1]), (xs[-1] - 0.03, ys[-1] + 0.05),
                          (xs[-1] - 0.03, ys[-1] - 0.05)], closed=True, facecolor=SIGN, edgecolor="none"))


def _magnifier(ax) -> None:
    """A magnifying glass over the stages: 'searching the architecture'."""
    centre, radius = (0.66, 0.56), 0.16
    ax.add_patch(Circle(centre, radius, facecolor="none", edgecolor=SIGN, linewidth=6))
    start = (centre[0] + radius * 0.72, centre[1] - radius * 0.72)
    ax.plot([start[0], start[0] + 0.17], [start[1], start[1] - 0.17], color=SIGN, linewidth=9,
            solid_capstyle="round")


SIGNS = {"infer_mnasnet": _tag, "train_mnasnet": _rising_curve, "search_mini": _magnifier}


def draw_icon(plugin: str, path: Path) -> Path:
    figure = plt.figure(figsize=(1, 1), dpi=SIZE_PX)
    ax = figure.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.axis("off")
    _tile(ax)
    _stages(ax)
    SIGNS[plugin](ax)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, transparent=True)
    plt.close(figure)
    return path


def main() -> int:
    for plugin in SIGNS:
        if (REPO_ROOT / plugin).is_dir():
            path = draw_icon(plugin, REPO_ROOT / plugin / "icons" / "mnasnet.png")
            print(f"[make_icons] {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
