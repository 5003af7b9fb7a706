"""bench/claim_curves.py (claim 1): width scaling in the grammar, the curve margins and their bootstrap,
and a whole fast run on real CIFAR-10 that resumes without retraining anything."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT
from mnas.arch import parse_arch
from mnas.search.space import SearchSpace


@pytest.fixture(scope="module")
def curves():
    spec = importlib.util.spec_from_file_location("claim_curves", REPO_ROOT / "bench" / "claim_curves.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["claim_curves"] = module
    spec.loader.exec_module(module)
    return module


def test_scaling_by_width_scales_every_block_but_the_head(curves):
    arch = SearchSpace().skeleton_arch()
    blocks, wider = parse_arch(arch), parse_arch(curves.scale_arch(arch, 1.5))
    assert curves.scale_arch(arch, 1.0) == arch
    assert wider[-1].out_ch == blocks[-1].out_ch  # the 1x1 head keeps its width
    assert [b.out_ch for b in wider[:-1]] == [max(8, int(b.out_ch * 1.5 + 4) // 8 * 8) for b in blocks[:-1]]
    assert all(b.in_ch == a.out_ch for a, b in zip(wider, wider[1:]))  # channels chained


def _family(accuracy_by_latency, images=4000, seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    return {latency: rng.random((seeds, images)) < accuracy for latency, accuracy in accuracy_by_latency.items()}


def test_a_model_on_a_curve_has_a_margin_near_zero_and_one_above_it_is_above(curves):
    b1 = _family({0.5: 0.40, 1.0: 0.45, 2.0: 0.50})
    mnv2 = _family({0.5: 0.36, 1.0: 0.42, 2.0: 0.46}, seed=1)
    models, correct, latency = [], {}, {}
    for role, family in (("b1", b1), ("mobilenetv2", mnv2)):
        for ratio, table in family.items():
            name = f"{role} {ratio}"
            models.append({"name": name, "role": role})
            correct[name], latency[name] = table, ratio
    rng = np.random.default_rng(7)
    for name, accuracy, ratio in (("on b1", 0.475, 2 ** 0.5), ("above", 0.53, 1.0), ("too fast", 0.5, 0.3)):
        models.append({"name": name, "role": "winner"})
        correct[name], latency[name] = rng.random((3, 4000)) < accuracy, ratio
    rows = {(r["model"], r["family"]): r for r in curves.margins(models, correct, latency,
                                                                 ["on b1", "above", "too fast"], resamples=300)}
    on = rows["on b1", "b1"]
    assert abs(on["margin_points"]) < 2 and on["interval_points"][0] < 0 < on["interval_points"][1]
    assert on["verdict"] in ("on", "below") and on["inside_curve"]
    assert rows["above", "b1"]["verdict"] == "above" and rows["above", "mobilenetv2"]["verdict"] == "above"
    assert rows["above", "b1"]["interval_points"][0] > 0
    assert rows["too fast", "b1"]["verdict"] == "outside the curve's latency range"
    assert curves.verdict("b1", -0.005, True) == "on"
    assert curves.verdict("mobilenetv2", -0.005, True) == "not shown above"


@pytest.mark.slow
def test_a_fast_run_trains_tests_times_and_resumes_without_retraining(curves, cifar10_root, tmp_path, capsys,
                                                                      one_thread):
    space, generator = SearchSpace(), torch.Generator().manual_seed(5)
    archs = [space.arch(space.random_actions(generator)) for _ in range(3)]
    claims = tmp_path / "claims"
    claims.mkdir()
    lines = [{"claim": "strategies", "label": "rl", "seed": seed, "budget": 100,
              "answers": {"100": {"best_logged": arch}}} for seed, arch in enumerate([*archs, archs[0]])]
    lines.append({"claim": "strategies", "label": "random", "seed": 0, "budget": 100,
                  "answers": {"100": {"best_logged": archs[1]}}})  # not RL: never an answer here
    argv = ["--fast", "--claims", str(claims), "--output", str(tmp_path / "out"), "--data", str(cifar10_root)]
    plan = curves.FAST_PLAN
    references = 2 * len(plan.reference_widths) * plan.reference_seeds
    assert curves.main([*argv, "--references-only"]) == 0  # the families need no search
    assert len((tmp_path / "out" / "trainings.jsonl").read_text().splitlines()) == references
    assert not (tmp_path / "out" / "claim1.json").exists()
    (claims / "searches.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert curves.main(argv) == 0
    result = json.loads((tmp_path / "out" / "claim1.json").read_text())
    assert len(result["answers"]) == plan.answers and result["winner"] in {a["name"] for a in result["answers"]}
    assert result["test_images"] == 10_000  # every test/ image
    trainings = (tmp_path / "out" / "trainings.jsonl").read_text().splitlines()
    assert len(trainings) == plan.answers * plan.answer_seeds + len(plan.scale_factors) * plan.scaled_seeds + references
    assert {(r["model"], r["family"]) for r in result["margins"]} == {
        (f"answer x{f:g}", family) for f in (1.0, *plan.scale_factors) for family in ("b1", "mobilenetv2")}
    for row in result["margins"]:
        low, high = row["interval_points"]
        assert low <= row["margin_points"] <= high and row["verdict"]
    assert (tmp_path / "out" / "claim1_curves.png").stat().st_size > 10_000
    from mnas.docs.tables import claims_verdicts  # the docs' row for claim 1, from these results

    (tmp_path / "results" / "claims").mkdir(parents=True)
    (tmp_path / "results" / "claims" / "curves").symlink_to(tmp_path / "out")
    claim1 = [line for line in claims_verdicts(tmp_path / "results").splitlines() if line.startswith("| 1 ")]
    assert len(claim1) == 2 and all("margin to" in row and row.endswith("a --fast smoke run |") for row in claim1)
    capsys.readouterr()
    assert curves.main(argv) == 0  # resumed: nothing trained again, the same answer
    out = capsys.readouterr().out
    counts = [line for line in out.splitlines() if line.startswith("[claim1]")]
    assert counts == [f"[claim1] 0 of {references} trainings to run",
                      f"[claim1] 0 of {plan.answers * plan.answer_seeds} trainings to run",
                      f"[claim1] 0 of {len(plan.scale_factors) * plan.scaled_seeds + references} trainings to run"]
    assert json.loads((tmp_path / "out" / "claim1.json").read_text())["margins"] == result["margins"]
