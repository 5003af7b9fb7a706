"""bench/claims.py: the paper's claims on the shipped surrogate, in its fast mode, and the determinism of
the searches it is made of."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _claims_module():
    spec = importlib.util.spec_from_file_location("claims_bench", ROOT / "bench" / "claims.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["claims_bench"] = module
    spec.loader.exec_module(module)
    return module


claims = _claims_module()
SURROGATE = str(claims.DEFAULT_SURROGATE)


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_fast_mode_writes_every_claim_and_resumes_without_rerunning(tmp_path, capsys):
    assert claims.main(["--fast", "--output", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "claims.json").read_text())
    for picture in ("regret.png", "constraints.png", "platforms.png"):
        assert (tmp_path / picture).stat().st_size > 10_000
    strategies = result["strategies"]
    assert strategies["optimum"]["queries"] >= claims.FAST.optimum_queries
    labels = {row["strategy"] for row in strategies["rows"]}
    assert {"rl", "rl (greedy)", "random", "evolution"} <= labels
    for row in strategies["rows"]:
        mean, low, high = row["regret_points"]
        # no answer beats the optimum the local search found (it may tie it)
        assert low <= mean <= high and low >= -1e-6, row
        if row["strategy"] != "random":
            assert 0 <= row["p_vs_random"] <= 1
    constraints = result["constraints"]
    assert -0.3 < constraints["calibration"]["w"] < 0
    hard = constraints["rules"]["hard"]
    assert hard["samples"] == claims.FAST.constraint_seeds * claims.FAST.constraint_budget // 2
    assert set(constraints["goals"]) == {"hard_at_or_below_T_>=85%", "soft_iqr_>=2x_hard", "soft_above_1.1T_>=20%",
                                         "sweep_monotone_in_>=4_of_5_seeds"}
    platforms = result["platforms"]
    for label in ("onnxruntime", "torch", "macs"):
        timed = platforms["searches"][label]["onnxruntime"]
        assert len(timed["live_ratio"]) == claims.FAST.platform_seeds
        assert all(0.1 < ratio < 10 for ratio in timed["live_ratio"])
    macs_answers = platforms["searches"]["macs"]["answers"]
    assert 7 <= macs_answers["layers"] <= 7 * 5 and 0 <= macs_answers["share_se"] <= 1
    # the docs' claim-by-claim table from these results: every claim a row, and no verdict from a smoke run
    from mnas.docs.tables import claims_verdicts

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "claims").symlink_to(tmp_path)
    table = claims_verdicts(tmp_path / "results")
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| claim")]
    assert {row.split(" | ")[0] for row in rows} == {"| 1", "| 2", "| 3", "| 4"}
    assert all(row.endswith("no verdict: a --fast smoke run |") for row in rows if not row.startswith("| 1 "))
    assert "not measured yet" in rows[0]  # claim 1 has no results here
    assert "RL minus random" in table and "at or below T" in table and "foreign answers" in table
    searches = [json.loads(line) for line in (tmp_path / "searches.jsonl").read_text().splitlines()]
    capsys.readouterr()
    # a second run finds every search done on the same measurements: nothing is searched again
    assert claims.main(["--fast", "--output", str(tmp_path), "--claims", "constraints"]) == 0
    assert "searches to run" not in capsys.readouterr().out
    assert len((tmp_path / "searches.jsonl").read_text().splitlines()) == len(searches)


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_searches_of_the_papers_size_are_deterministic_for_a_seed():
    evolution = claims.Job("test", "evolution", 3, 8000, claims.hard(sampler="evolution"), probes=(100, 8000))
    assert claims.run_job(evolution, SURROGATE)["answers"] == claims.run_job(evolution, SURROGATE)["answers"]
    rl = claims.Job("test", "rl", 3, 1000, claims.hard(), probes=(100, 1000))
    first, second = claims.run_job(rl, SURROGATE), claims.run_job(rl, SURROGATE)
    assert first["answers"] == second["answers"] and "greedy" in first["answers"]["1000"]
    other_seed = claims.run_job(claims.Job("test", "rl", 4, 1000, claims.hard(), probes=(1000,)), SURROGATE)
    assert other_seed["answers"]["1000"] != first["answers"]["1000"]


def test_macs_cost_is_the_macs_ratio_to_the_skeleton():
    config = claims.SearchConfig(evaluator="surrogate", surrogate_file=SURROGATE, constraint="hard")
    executor = claims.MacsExecutor(config)
    skeleton = executor.space.skeleton_arch()
    wider = {label: 1.25 if label.endswith("_filters") else choice
             for label, choice in executor.space.skeleton_decisions().items()}
    figures = executor.truth([skeleton, executor.space.arch(wider)])
    assert math.isclose(figures[0]["latency_ratio"], 1.0)
    assert figures[1]["latency_ratio"] > 1.3  # MACs grow about with the square of the filters
    assert figures[1]["latency_ratio"] == figures[1]["macs"] / figures[0]["macs"]


def test_the_optimum_found_beats_every_random_network_scored_alike():
    scorer = claims.Scorer(SURROGATE)
    optimum = claims.hard_optimum(scorer, "onnxruntime", queries=1500, seed=1)
    import torch

    space = scorer.executors["onnxruntime"].space
    generator = torch.Generator().manual_seed(9)
    randoms = [space.arch(space.random_actions(generator)) for _ in range(300)]
    assert optimum["reward"] >= scorer.rewards(randoms).max()
    assert math.isclose(float(scorer.rewards([optimum["arch"]])[0]), optimum["reward"])
