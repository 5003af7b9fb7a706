"""Pictures for the lessons, drawn by the project with matplotlib: MnasNet's blocks, its search loop,
its factorized search space, and the reward's iso-lines on the accuracy-latency plane.

Every function returns a new `matplotlib.figure.Figure` and never calls ``plt.show``; the lessons show
and save it. Formulas are matplotlib mathtext (LaTeX syntax, no TeX installation needed).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mnas.search.reward import SOFT_W, objective

# one colour per kind of layer, shared by every picture
COLORS = {"conv": "#9ecae1", "depthwise": "#fdd0a2", "pointwise": "#c7e9c0", "se": "#dadaeb",
          "add": "#fcbba1", "data": "#f0f0f0", "loop": "#fee391"}


def _figure(width: float, height: float):
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(width, height))
    axis.set_axis_off()
    return fig, axis


def _box(axis, x: float, y: float, text: str, color: str, width: float = 1.6, height: float = 0.5,
         fontsize: int = 9) -> tuple[float, float]:
    """A rounded box centred on (x, y) with `text`; returns its centre."""
    from matplotlib.patches import FancyBboxPatch

    axis.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                  boxstyle="round,pad=0.03,rounding_size=0.08", facecolor=color,
                                  edgecolor="black", linewidth=0.8))
    axis.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return x, y


def _arrow(axis, start: tuple[float, float], end: tuple[float, float], text: str = "",
           curve: float = 0.0, fontsize: int = 8, color: str = "black") -> None:
    """An arrow between two points (box edges, not centres: it is not shortened)."""
    from matplotlib.patches import FancyArrowPatch

    axis.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, linewidth=1.0,
                                   color=color, connectionstyle=f"arc3,rad={curve}", shrinkA=1, shrinkB=1))
    if text:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        axis.annotate(text, middle, xytext=(6, 0), textcoords="offset points", fontsize=fontsize,
                      ha="left", va="center", style="italic")


BOX_WIDTH, BOX_HEIGHT = 1.6, 0.5


def _column(axis, x: float, top: float, layers: Sequence[tuple[str, str]], step: float = 0.8) -> list:
    """Boxes (text, colour) stacked downward from `top`, joined by arrows; their centres."""
    centres = [_box(axis, x, top - i * step, text, color) for i, (text, color) in enumerate(layers)]
    for (x0, y0), (x1, y1) in zip(centres, centres[1:]):
        _arrow(axis, (x0, y0 - BOX_HEIGHT / 2), (x1, y1 + BOX_HEIGHT / 2))
    return centres


def _bypass(axis, start: tuple[float, float], end: tuple[float, float], side: int, label: str,
            color: str) -> None:
    """A path around a column, from box `start` out to one side (`side` +1 right, -1 left), down, and
    into box `end`: a residual connection or SE's copy of the map."""
    edge, out = start[0] + side * BOX_WIDTH / 2, start[0] + side * (BOX_WIDTH / 2 + 0.3)
    axis.plot([edge, out, out], [start[1], start[1], end[1]], color=color, linewidth=1.0)
    _arrow(axis, (out, end[1]), (edge, end[1]), color=color)
    axis.text(out + side * 0.12, (start[1] + end[1]) / 2, label, rotation=90, va="center",
              ha="left" if side > 0 else "right", fontsize=8, color=color)


def draw_blocks():
    """Three columns: the depthwise separable conv, the MBConv block with SE and residual, and the SE
    module itself; shapes as H x W x C with expansion e."""
    fig, axis = _figure(12, 6.2)
    top = 5.6
    axis.text(0, top + 0.7, "depthwise separable conv\n(MBConv e1: 'e1' in a block string)", ha="center",
              fontsize=10, weight="bold")
    _column(axis, 0, top, [(r"$H\times W\times C_{in}$", COLORS["data"]),
                           (r"depthwise $k\times k$, BN, ReLU", COLORS["depthwise"]),
                           (r"pointwise $1\times 1$, BN", COLORS["pointwise"]),
                           (r"$H\times W\times C_{out}$", COLORS["data"])])
    axis.text(0, top - 3.9, r"MACs/pixel: $k^2 C_{in} + C_{in} C_{out}$" "\n"
              r"(regular conv: $k^2 C_{in} C_{out}$)", ha="center", fontsize=9)

    axis.text(3.6, top + 0.7, "MBConv e (inverted residual)\nwith squeeze-and-excitation", ha="center",
              fontsize=10, weight="bold")
    mbconv = _column(axis, 3.6, top, [(r"$H\times W\times C$", COLORS["data"]),
                                      (r"expand $1\times 1$ to $eC$, BN, ReLU", COLORS["pointwise"]),
                                      (r"depthwise $k\times k$, BN, ReLU", COLORS["depthwise"]),
                                      ("SE (optional)", COLORS["se"]),
                                      (r"project $1\times 1$ to $C$, BN (linear)", COLORS["pointwise"]),
                                      ("+", COLORS["add"]), (r"$H\times W\times C$", COLORS["data"])],
                     step=0.75)
    _bypass(axis, mbconv[0], mbconv[5], +1, "identity skip (same shape only)", "tab:red")
    axis.text(3.6, top - 5.3, r"MACs/pixel: $C\cdot eC + k^2 eC + eC\cdot C$", ha="center", fontsize=9)

    axis.text(7.6, top + 0.7, "squeeze-and-excitation (SE)\nratio $r$ (0.25 in MnasNet-A1)", ha="center",
              fontsize=10, weight="bold")
    se = _column(axis, 7.6, top, [(r"$H\times W\times C'$", COLORS["data"]),
                                  (r"global average pool $\to 1\times 1\times C'$", COLORS["se"]),
                                  (r"FC $C'\to rC'$, ReLU", COLORS["se"]),
                                  (r"FC $rC'\to C'$, sigmoid", COLORS["se"]),
                                  (r"$\times$ (gate each channel)", COLORS["add"]),
                                  (r"$H\times W\times C'$", COLORS["data"])], step=0.75)
    _bypass(axis, se[0], se[4], -1, "the map itself", "tab:purple")
    axis.set(xlim=(-1.6, 9.6), ylim=(top - 5.7, top + 1.3))
    fig.tight_layout()
    return fig


def draw_search_loop():
    """The paper's Figure 1: controller -> trainer and mobile phone -> multi-objective reward -> controller."""
    fig, axis = _figure(10, 4.2)
    _box(axis, 0, 2, "Controller\n(RNN, one softmax per decision)", COLORS["loop"], 2.6, 0.9, 10)
    _box(axis, 4.2, 3.2, "Trainer\n(proxy training: accuracy ACC)", COLORS["pointwise"], 2.8, 0.9, 10)
    _box(axis, 4.2, 0.8, "Mobile phone\n(measured latency LAT)", COLORS["conv"], 2.8, 0.9, 10)
    _box(axis, 8.4, 2, "Multi-objective reward\n"
                  r"$ACC(m)\times\left[LAT(m)/T\right]^{w}$", COLORS["add"], 3.0, 0.9, 10)
    _arrow(axis, (1.3, 2.2), (2.8, 3.2), "sample model m")
    _arrow(axis, (1.3, 1.8), (2.8, 0.8))
    _arrow(axis, (5.6, 3.2), (6.9, 2.2), "accuracy")
    _arrow(axis, (5.6, 0.8), (6.9, 1.8), "latency")
    axis.plot([8.4, 8.4, 0], [1.55, -0.2, -0.2], color="tab:red", linewidth=1.2)
    _arrow(axis, (0, -0.2), (0, 1.55), color="tab:red")
    axis.text(4.2, -0.45, "reward -> policy-gradient (PPO) update of the controller", ha="center",
              fontsize=9, color="tab:red", style="italic")
    axis.set(xlim=(-1.6, 10.2), ylim=(-0.9, 4.0))
    fig.tight_layout()
    return fig


# the six per-block decisions of mnas.search.space, in the controller's order
DECISIONS = (("ConvOp", "conv, dconv, MBConv e3, MBConv e6"), ("KernelSize", "3x3, 5x5"),
             ("SERatio", "0, 0.25"), ("SkipOp", "pooling, identity, none"),
             ("Filters $F_i$", "x0.75, x1.0, x1.25 of the skeleton's"),
             ("Layers $N_i$", "-1, +0, +1 on the skeleton's"))


def draw_search_space(blocks: int = 7, opened: int = 4):
    """The factorized hierarchical space: the network as `blocks` blocks, each repeating one layer N_i
    times; block `opened` (1-based) is opened to show its own six decisions."""
    if not 1 <= opened <= blocks:
        raise ValueError(f"opened must be a block number from 1 to blocks={blocks}, got {opened}")
    fig, axis = _figure(12, 4.6)
    width = 1.2
    for number in range(1, blocks + 1):
        x = (number - 1) * (width + 0.25)
        _box(axis, x, 3.6, f"block {number}", COLORS["loop"] if number == opened else COLORS["data"],
             width, 0.6, 9)
        if number > 1:
            _arrow(axis, (x - width / 2 - 0.25, 3.6), (x - width / 2, 3.6))
    axis.text(-0.9, 3.6, "image", ha="right", va="center", fontsize=9)
    axis.text((blocks - 1) * (width + 0.25) + 0.9, 3.6, "head", ha="left", va="center", fontsize=9)
    centre = (opened - 1) * (width + 0.25)
    for i, (name, choices) in enumerate(DECISIONS):
        x = -0.4 + i * 1.7
        _box(axis, x, 1.6, f"{name}\n{choices.replace(', ', chr(10))}", COLORS["pointwise"], 1.6, 1.1, 8)
        axis.plot([centre, x], [3.3, 2.15], color="grey", linewidth=0.7, linestyle=":")
    axis.text(3.9, 0.6, r"block $i$ = layer $\times N_i$, all alike; blocks differ from each other: "
              r"$|S|^{B}$ choices instead of $|S|^{B\cdot N}$", ha="center", fontsize=9)
    axis.text(3.9, 0.15, "the controller emits the six decisions of block 1, then block 2, ..., "
              "one softmax each", ha="center", fontsize=9, style="italic")
    axis.set(xlim=(-1.5, blocks * (width + 0.25) + 0.2), ylim=(-0.1, 4.2))
    fig.tight_layout()
    return fig


def draw_reward_isolines(points: Sequence[tuple[float, float]] = (), w: float = SOFT_W,
                         levels: Sequence[float] | None = None, ratio_range: tuple[float, float] = (0.3, 3.0),
                         accuracy_range: tuple[float, float] = (0.0, 1.0)):
    """Iso-lines of ACC x (LAT/T)^w on the (latency / T, accuracy) plane: soft (alpha = beta = `w`) on
    the left, hard (alpha = 0, beta = -1) on the right. `points` (latency ratio, accuracy), e.g. a
    search's children, are drawn with their Pareto front on both."""
    import matplotlib.pyplot as plt

    low, high = ratio_range
    if not 0 < low < 1 < high or not 0 <= accuracy_range[0] < accuracy_range[1] <= 1:
        raise ValueError(f"ratio_range must bracket 1 with a low end > 0 and accuracy_range lie in [0, 1], "
                         f"got {ratio_range} and {accuracy_range}")
    ratios = np.geomspace(low, high, 200)
    accuracies = np.linspace(*accuracy_range, 200)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    front = pareto_points(points)
    for axis, constraint, formula in ((axes[0], "soft", rf"soft: $w={w:g}$ on both sides of $T$"),
                                      (axes[1], "hard", r"hard: $w=0$ under $T$, $w=-1$ over it")):
        rule = objective(constraint, 1.0, w)
        grid = np.array([[rule(a, r) for r in ratios] for a in accuracies])
        chosen = levels or np.round(np.linspace(accuracy_range[0], accuracy_range[1], 9)[1:-1], 3)
        contours = axis.contour(ratios, accuracies, grid, levels=chosen, cmap="viridis")
        axis.clabel(contours, fontsize=7, fmt="%.2f")
        axis.axvline(1.0, color="grey", linestyle=":", label="T")
        if len(points):
            xs, ys = zip(*points)
            axis.scatter(xs, ys, s=14, color="tab:grey", label="models")
            axis.step([p[0] for p in front], [p[1] for p in front], where="post", color="black",
                      linestyle="--", label="Pareto front")
            best = max(points, key=lambda p: rule(p[1], p[0]))
            axis.scatter([best[0]], [best[1]], s=90, facecolors="none", edgecolors="tab:red", linewidths=2,
                         label="highest reward")
        axis.set_xscale("log")
        ticks = [t for t in (0.25, 0.5, 1, 2, 4) if low <= t <= high]
        axis.set_xticks(ticks, [f"{t:g}" for t in ticks])
        axis.minorticks_off()
        axis.set(xlabel=r"latency / $T$ (log scale)", title=formula)
        axis.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("accuracy")
    fig.suptitle(r"iso-lines of the reward $ACC\times(LAT/T)^{w}$: every model on one line earns the same")
    fig.tight_layout()
    return fig


def pareto_points(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(latency, accuracy) points that no other point beats on both: faster *and* more accurate."""
    front, best = [], -np.inf
    for latency, accuracy in sorted(points, key=lambda p: (p[0], -p[1])):
        if accuracy > best:
            front.append((latency, accuracy))
            best = accuracy
    return front
