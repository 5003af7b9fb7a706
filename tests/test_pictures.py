"""The lessons' pictures (mnas.lessons.pictures): each function returns a figure holding what it is meant to draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

import mnas.lessons.pictures as pictures
from mnas.search.space import SearchSpace


def _texts(fig) -> str:
    return "\n".join(text.get_text() for axis in fig.axes for text in axis.texts)


def _patches(fig, kind) -> list:
    return [patch for axis in fig.axes for patch in axis.patches if isinstance(patch, kind)]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_blocks_draw_the_three_columns_with_their_layers():
    fig = pictures.draw_blocks()
    texts = _texts(fig)
    for label in ("depthwise separable", "MBConv", "squeeze-and-excitation", "expand", "project",
                  "global average pool", "sigmoid", "identity skip"):
        assert label in texts, f"{label!r} missing from the blocks picture"
    assert len(_patches(fig, FancyBboxPatch)) == 4 + 7 + 6  # one box per layer of each column
    assert len(_patches(fig, FancyArrowPatch)) >= 3 + 6 + 5 + 2  # joined in order, plus the two bypasses


def test_search_loop_joins_controller_trainer_phone_and_reward():
    fig = pictures.draw_search_loop()
    texts = _texts(fig)
    for label in ("Controller", "Trainer", "Mobile phone", "Multi-objective reward", "PPO"):
        assert label in texts
    assert len(_patches(fig, FancyBboxPatch)) == 4
    assert len(_patches(fig, FancyArrowPatch)) == 5  # sample x2, accuracy, latency, reward back


def test_search_space_opens_one_block_into_the_spaces_own_decisions():
    fig = pictures.draw_search_space(blocks=7, opened=3)
    assert len(_patches(fig, FancyBboxPatch)) == 7 + len(SearchSpace().steps[:6])
    assert "block 7" in _texts(fig) and "ConvOp" in _texts(fig)
    with pytest.raises(ValueError, match="opened"):
        pictures.draw_search_space(blocks=7, opened=8)


def test_reward_isolines_mark_the_front_and_each_rules_best_model():
    points = [(0.5, 0.30), (0.8, 0.30), (1.0, 0.35), (1.3, 0.40), (2.5, 0.41)]
    fig = pictures.draw_reward_isolines(points, accuracy_range=(0.1, 0.5))
    soft, hard = fig.axes[:2]
    assert "soft" in soft.get_title() and "hard" in hard.get_title()
    for axis in (soft, hard):
        assert axis.collections, "no iso-lines drawn"
        assert [line.get_label() for line in axis.lines].count("Pareto front") == 1
    assert pictures.pareto_points(points) == [(0.5, 0.30), (1.0, 0.35), (1.3, 0.40), (2.5, 0.41)]
    # the hard rule's best is the most accurate model at or under T; soft pays 5 % per doubling
    best = {axis: axis.collections[-1].get_offsets()[0].tolist() for axis in (soft, hard)}
    assert best[hard] == [1.0, 0.35]
    assert best[soft] == [1.3, 0.40]
    with pytest.raises(ValueError, match="ratio_range"):
        pictures.draw_reward_isolines(ratio_range=(1.5, 3))
