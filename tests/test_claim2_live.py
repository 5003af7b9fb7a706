"""bench/claim2_live.py: which answers claim 2's live check trains, its interval, and a fast run on real
CIFAR-10 that resumes without retraining."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT
from mnas.search.space import SearchSpace


@pytest.fixture(scope="module")
def live():
    sys.path.insert(0, str(REPO_ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("claim2_live", REPO_ROOT / "bench" / "claim2_live.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["claim2_live"] = module
    spec.loader.exec_module(module)
    return module


def _searches(seeds=3):
    space, generator = SearchSpace(), torch.Generator().manual_seed(9)
    return [{"claim": "strategies", "label": label, "seed": seed, "budget": 120,
             "answers": {b: {"best_logged": space.arch(space.random_actions(generator))} for b in ("40", "120")}}
            for label in ("rl", "random", "evolution") for seed in range(seeds)]


def test_the_answers_are_each_strategys_first_seeds_at_the_budget(live):
    searches = _searches()
    chosen = live.answers(searches, live.Plan(budget=40, searches=2))
    assert [a["seed"] for a in chosen["rl"]] == [0, 1] and set(chosen) == {"rl", "random"}
    assert chosen["random"][1]["arch"] == searches[4]["answers"]["40"]["best_logged"]
    assert {a["budget"] for a in chosen["rl"]} == {40}
    assert {a["budget"] for a in live.answers(searches, live.Plan(budget=3000, searches=2))["rl"]} == {120}
    with pytest.raises(ValueError, match="needs 8 'rl' searches of bench/claims.py, found 3"):
        live.answers(searches, live.Plan())


def test_the_gap_interval_brackets_the_gap_and_narrows_with_more_answers(live):
    rng = np.random.default_rng(0)
    groups = {n: (rng.normal(0.45, 0.01, n), rng.normal(0.44, 0.01, n)) for n in (8, 200)}
    intervals = {n: live.gap_interval(a, b, 2000) for n, (a, b) in groups.items()}
    for n, (a, b) in groups.items():
        assert intervals[n][0] < a.mean() - b.mean() < intervals[n][1]
    assert intervals[200][1] - intervals[200][0] < intervals[8][1] - intervals[8][0]
    assert intervals[200][0] < 0.01 < intervals[200][1]  # 200 answers a side: the true gap is inside


@pytest.mark.slow
def test_a_fast_run_trains_the_answers_and_resumes_without_retraining(live, cifar10_root, tmp_path, capsys,
                                                                      one_thread):
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "searches.jsonl").write_text("".join(json.dumps(s) + "\n" for s in _searches()))
    argv = ["--fast", "--claims", str(tmp_path / "claims"), "--output", str(tmp_path / "out"),
            "--data", str(cifar10_root)]
    assert live.main(argv) == 0
    result = json.loads((tmp_path / "out" / "claim2_live.json").read_text())
    plan = live.FAST_PLAN
    assert all(len(result["live_accuracy"][k]) == plan.searches for k in ("rl", "random"))
    low, high = result["live_gap_interval_points"]
    assert low <= result["live_gap_points"] <= high and 0 <= result["p_rl_greater"] <= 1
    assert set(result["goals"]) == {"rl_live_mean_above_random_p<0.05", "predicted_gap_inside_live_interval"}
    capsys.readouterr()
    assert live.main(argv) == 0
    assert f"[claim2] 0 of {2 * plan.searches * plan.seeds} trainings to run" in capsys.readouterr().out
    from mnas.docs.tables import claims_verdicts  # the docs' live row for claim 2, from these results

    (tmp_path / "results" / "claims").mkdir(parents=True)
    (tmp_path / "results" / "claims" / "live").symlink_to(tmp_path / "out")
    rows = [line for line in claims_verdicts(tmp_path / "results").splitlines() if "live: RL minus random" in line]
    assert len(rows) == 1 and rows[0].endswith("no verdict: a --fast smoke run |")
