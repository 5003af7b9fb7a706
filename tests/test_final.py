"""The fair final comparison's choices and statistics (mnas.search.final, mnas.utils.stats)."""

import math

import numpy as np
import pytest

from mnas.search.final import choose_b1_widths, choose_finalists, final_comparison
from mnas.search.space import SearchSpace
from mnas.utils.stats import bootstrap_interval, interpolate_curve, mcnemar_exact, mean_interval


def test_finalists_are_the_top_k_distinct_architectures_by_proxy_reward():
    children = [{"step": i, "arch": arch, "reward": reward}
                for i, (arch, reward) in enumerate([("a", 0.3), ("b", 0.5), ("a", 0.6), ("c", 0.4), ("d", 0.1)])]
    assert [r["step"] for r in choose_finalists(children, 3)] == [2, 1, 3]
    assert len(choose_finalists(children, 10)) == 4


def test_b1_widths_bracket_the_finalists_latencies():
    baselines = [{"width": w, "latency_ratio": r} for w, r in ((0.35, 0.7), (0.5, 1.0), (0.75, 1.6), (1.0, 2.5))]
    assert choose_b1_widths(baselines, [1.1, 1.4]) == [0.35, 0.5, 0.75]   # 0.5 and 0.75 bracket, + nearest
    assert choose_b1_widths(baselines, [0.8, 2.0]) == [0.35, 0.5, 0.75, 1.0]
    assert choose_b1_widths(baselines, [3.0]) == [0.5, 0.75, 1.0]          # beyond the widest: the nearest
    with pytest.raises(ValueError, match="baseline"):
        choose_b1_widths([], [1.0])


def test_mcnemar_and_interpolation():
    a = np.array([1, 1, 1, 1, 0, 0], dtype=bool)
    b = np.array([0, 0, 0, 1, 0, 1], dtype=bool)
    result = mcnemar_exact(a, b)
    assert (result["only_a"], result["only_b"]) == (3, 1)
    assert result["p_value"] == pytest.approx(2 * (1 + 4) / 16)
    assert mcnemar_exact(a, a)["p_value"] == 1.0
    assert interpolate_curve([1.0, 2.0], [0.5, 0.7], 1.5) == (pytest.approx(0.6), True)
    assert interpolate_curve([2.0, 1.0], [0.7, 0.5], 3.0) == (pytest.approx(0.7), False)


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_images():
    generator = np.random.default_rng(0)
    small = generator.random(200) < 0.6
    large = generator.random(5000) < 0.6
    mean, low, high = mean_interval(small)
    assert low < mean < high
    _, low_large, high_large = mean_interval(large)
    assert high_large - low_large < (high - low) / 3
    with pytest.raises(ValueError, match="images"):
        bootstrap_interval(np.ones((2, 1)), lambda s: 0.0)


@pytest.mark.parametrize("winner_hits, position", [(0.9, "above"), (0.3, "below")])
def test_verdict_places_the_winner_against_b1s_curve(winner_hits, position, one_thread):
    """A clear margin either way gives that verdict; the winner is chosen on validation, not test."""
    space = SearchSpace()
    generator = np.random.default_rng(1)
    children = [{"step": 0, "arch": space.skeleton_arch(0.6), "reward": 0.5, "accuracy": 0.5, "latency_ratio": 1.2},
                {"step": 1, "arch": space.skeleton_arch(0.65), "reward": 0.4, "accuracy": 0.4,
                 "latency_ratio": 1.3}]
    baselines = [{"width": w, "latency_ratio": r, "accuracy": 0.5} for w, r in ((0.35, 0.6), (0.5, 1.0), (1.0, 3.0))]
    test_hits = {space.skeleton_arch(0.6): 0.2,  # the better proxy child does worse on test...
                 space.skeleton_arch(0.65): winner_hits}
    val = {space.skeleton_arch(0.6): 0.1, space.skeleton_arch(0.65): 0.9}  # ...and on validation

    def trainer(name, arch):
        return {"model_file": arch, "val_accuracy": val.get(arch, 0.5)}

    def tester(model_file):
        return generator.random(2000) < test_hits.get(model_file, 0.6)

    result = final_comparison(children, baselines, space, 10, trainer, tester, top_k=2, rounds=3, burst=2,
                              resamples=300, log=lambda *_: None)
    verdict = result["verdict"]
    assert verdict["winner"] == "child 1"  # best validation, although child 0 had the best proxy reward
    assert verdict["position"] == position
    assert (verdict["interval"][0] > 0) == (position == "above")
    assert math.isclose(verdict["margin"], result["entries"][1]["test_accuracy"] - verdict["b1_accuracy_at_winner"])


def test_kendall_tau():
    from mnas.utils.stats import kendall_tau

    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # 6 pairs: 5 concordant, 1 discordant -> (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(4 / 6)
    assert math.isnan(kendall_tau([1, 1], [2, 3]))
