"""The surrogate: analytic costs equal the built network's, the fit is held-out checked, the packed
measurements are checksummed, and a search in surrogate mode is deterministic and resumes exactly.
The search tests fit on synthetic measurements whose accuracy is a known function of the network plus
seed noise (the loop and the fit are what is tested); the shipped measurements are checked as shipped."""

import json
import math
import random

import numpy as np
import pytest
import torch

from mnas.arch import parse_arch
from mnas.latency.meter import spearman
from mnas.models import count_macs, count_params, create_model
from mnas.search.config import SearchConfig
from mnas.search.loop import Search
from mnas.search.references import family_arch
from mnas.search.space import SearchSpace
from mnas.search.surrogate.build import BUILD_FILE, RUNS_LOG, BuildPlan
from mnas.search.surrogate.executor import SurrogateExecutor
from mnas.search.surrogate.features import (
    LATENCY_FEATURES,
    SpaceIndex,
    arch_costs,
    features,
    latency_features,
    operator_inventory,
)
from mnas.search.surrogate.model import AdditiveLatency, Surrogate, cross_validated, measured_architectures, seed_noise
from mnas.search.surrogate.report import report
from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, load_runs, pack_runs


@pytest.mark.slow
def test_analytic_costs_equal_the_built_networks():
    space, generator = SearchSpace(width=0.5), torch.Generator().manual_seed(3)
    archs = [space.arch(space.random_actions(generator)) for _ in range(12)]
    archs += [family_arch(family, width) for family in ("b1", "mobilenetv2") for width in (0.35, 1.0)]
    for arch in archs:
        model = create_model(arch, num_classes=10, input_size=32)
        assert arch_costs(parse_arch(arch), 32, 10) == (count_macs(model, 32), count_params(model))


def test_operator_inventory_counts_what_the_network_runs():
    space = SearchSpace(width=0.5)
    skeleton = space.skeleton_arch()
    inventory = operator_inventory(skeleton)
    blocks = parse_arch(skeleton)
    layers = [layer for block in blocks for layer in block.layers()]
    assert inventory["macs"] == arch_costs(blocks, 32, 10)[0] - blocks[-1].out_ch * 10    # all but the classifier
    assert inventory["full_convs"] == sum(layer.op == "conv" for layer in layers)
    assert inventory["depthwise"] == inventory["projections"] == sum(layer.op != "conv" for layer in layers)
    assert inventory["se_modules"] == sum(layer.se_ratio > 0 for layer in layers)
    assert inventory["residual_adds"] == sum(layer.has_residual for layer in layers)
    parts = ("conv_macs", "depthwise_macs", "pointwise_macs", "se_macs")
    assert sum(inventory[name] for name in parts) == inventory["macs"]    # every MAC is of one kind
    assert list(latency_features(skeleton)) == [inventory[name] for name in LATENCY_FEATURES]
    # a latency that is a known non-negative sum of operator costs is recovered out of fold
    generator = torch.Generator().manual_seed(5)
    x = np.stack([latency_features(space.arch(space.random_actions(generator))) for _ in range(60)])
    weights = np.zeros(len(LATENCY_FEATURES))
    weights[[LATENCY_FEATURES.index("depthwise"), LATENCY_FEATURES.index("macs")]] = (0.01, 2e-8)
    y = 0.1 + x @ weights
    assert spearman(cross_validated("additive", x, y), y) > 0.99
    assert np.all(AdditiveLatency(x, y).model.coef_ >= 0)


def test_space_index_knows_the_space_and_aliases_share_features():
    space = SearchSpace(width=0.5)
    index = SpaceIndex(space)
    assert index.contains(space.skeleton_arch()) and index.contains(family_arch("b1", 0.5))
    assert not index.contains(family_arch("b1", 1.0)) and not index.contains(family_arch("mobilenetv2", 0.5))
    skeleton = space.skeleton_decisions()
    alias = dict(skeleton, b6_skip="identity", b0_layers=-1)    # builds the skeleton's network
    assert np.array_equal(features(space.arch(alias)), features(space.arch(skeleton)))


def _synthetic_build(folder, architectures=150, repeated=20, noise=0.01, seed=0):
    """A build folder whose recipe-F accuracy is a known function of the network plus seed noise."""
    space, rng = SearchSpace(width=0.5), random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / BUILD_FILE).write_text(json.dumps({"recipe": {"name": "synthetic"}, "base_width": 0.5,
                                                 "sessions": [{"cpu": "synthetic"}]}))
    with open(folder / RUNS_LOG, "w") as log:
        for index, decisions in enumerate(BuildPlan(order_seed=seed).random_decisions(space, architectures)):
            arch = space.arch(decisions)
            macs, params = arch_costs(parse_arch(arch), 32, 10)
            heavy = sum(decisions[f"b{n}_op"] == "mbconv6" for n in range(7))
            truth = 0.30 + 0.04 * math.log(macs / 1.5e7) + 0.01 * heavy
            ratio = (macs / 1.6e7) ** 0.8
            for run_seed in range(3 if index < repeated else 1):
                run = {"arch": arch, "seed": run_seed, "role": "random", "index": index, "stage": "A",
                       "decisions": decisions, "accuracy": truth + rng.gauss(0, noise), "macs": macs,
                       "params": params, "train_seconds": 60.0}
                if run_seed == 0:
                    run["latency"] = {engine: {"ratio": ratio * rng.uniform(0.97, 1.03), "reference_ms": 0.25}
                                      for engine in ("onnxruntime", "torch")}
                log.write(json.dumps(run) + "\n")
    return folder


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    folder = _synthetic_build(tmp_path_factory.mktemp("build"))
    destination = folder / "packed" / "surrogate.json.gz"
    pack_runs(folder, destination)
    return folder, destination


@pytest.mark.slow
def test_the_fit_is_held_out_checked_and_the_noise_measured(packed):
    folder, destination = packed
    _, runs = load_runs(destination)
    architectures = measured_architectures(runs)
    noise = seed_noise(architectures)
    assert noise["architectures"] == 20 and 0.005 < noise["seed_sd"] < 0.02 and noise["icc_one_seed"] > 0.5
    x = np.stack([features(a.arch) for a in architectures])
    y = np.array([a.accuracy for a in architectures])
    assert spearman(cross_validated("ensemble", x, y), y) > 0.8
    surrogate = Surrogate(architectures)
    again = Surrogate(measured_architectures(load_runs(destination)[1]))    # refitted: the same model
    probe = [a.arch for a in architectures[:5]]
    assert np.array_equal(surrogate.accuracy(probe), again.accuracy(probe))
    assert surrogate.seed_draw(0.3, 4) == again.seed_draw(0.3, 4) != surrogate.seed_draw(0.3, 5)
    figures = report(folder)
    assert figures["learning_curve"][-1]["n"] == 100 and figures["learning_curve"][-1]["ensemble"]["spearman"] > 0.7
    assert figures["latency_models"]["onnxruntime"]["spearman"] > 0.9
    assert figures["go_no_go"] == {"decided": False, "reason": "stage A has 150 of the 400 random architectures "
                                                              "the decision needs"}
    assert (folder / "learning_curve.png").stat().st_size > 0 and (folder / "references.png").stat().st_size > 0


def test_stage_b_is_judged_by_the_stage_a_surrogate_alone(tmp_path):
    from mnas.search.surrogate.report import stage_b_held_out

    runs = [json.loads(line) for line in (_synthetic_build(tmp_path) / RUNS_LOG).read_text().splitlines()]
    for run in runs:  # the last 40 networks become stage B's, 10 of them trajectory networks
        if run["index"] >= 110:
            run["stage"], run["role"] = "B", "trajectory" if run["index"] >= 140 else "random"
    architectures = measured_architectures(runs)
    held = stage_b_held_out(architectures)
    assert held["fitted_on"] == 110 and held["random"]["architectures"] == 30 == 40 - 10
    assert held["random"]["spearman"] > 0.8 and abs(held["random"]["bias"]) < 0.01
    assert held["trajectory"]["architectures"] == 10 and "onnxruntime_latency_spearman" in held["trajectory"]
    difference, low, high = held["trajectory_minus_random"]
    assert low < difference < high
    assert stage_b_held_out([a for a in architectures if a.stage == "A"]) == {}


def _report_figures(held_randoms=200, trajectories=150, one_seed_pearson=0.90):
    held = {"fitted_on": 400,
            "random": {"architectures": held_randoms, "spearman": 0.70, "r2": 0.50, "bias": 0.001,
                       "onnxruntime_latency_spearman": 0.98, "torch_latency_spearman": 0.95},
            "trajectory": {"architectures": trajectories, "bias": -0.005},
            "trajectory_minus_random": [0.05, 0.04, 0.06]}
    return {"seed_noise": {"architectures": 40, "icc_one_seed": 0.85},
            "three_seed_check": {"pearson_surrogate_vs_mean": 0.92, "pearson_one_seed_vs_others": one_seed_pearson},
            "stage_b_held_out": held}


def test_acceptance_needs_every_figure_met_on_enough_held_out_networks():
    from mnas.search.surrogate.acceptance import acceptance

    assert acceptance(_report_figures())["accepted"]
    figures = acceptance(_report_figures(held_randoms=100))["figures"]
    assert not any(f["met"] is False for f in figures)        # too few held out: not measurable yet
    assert [f["name"] for f in figures if f["met"] is None] == [
        "held-out random networks: Spearman and R²", "held-out latency model, onnxruntime: Spearman",
        "held-out latency model, torch: Spearman"]
    failing = acceptance(_report_figures(one_seed_pearson=0.95))
    assert not failing["accepted"] and [f["name"] for f in failing["figures"] if f["met"] is False] == [
        "three-seed networks: Pearson with their mean"]
    assert not acceptance({})["accepted"]


def test_the_main_job_searches_on_the_surrogate_by_default_only_once_it_is_accepted(tmp_path, capsys):
    from mnas.search.surrogate.shipped import shipped_acceptance
    from mnas_ikomia.main import search_on

    folder = _synthetic_build(tmp_path / "build")
    pack_runs(folder, tmp_path / "packed.json.gz")    # 150 networks, no stage B: not accepted
    assert not shipped_acceptance(tmp_path / "packed.json.gz")["accepted"]
    assert search_on("auto", str(tmp_path / "packed.json.gz")) == "live"
    assert "not accepted yet: one-seed intraclass correlation; held-out random networks" in capsys.readouterr().out
    assert search_on("surrogate", str(tmp_path / "packed.json.gz")) == "surrogate"


def test_go_no_go_needs_400_networks_and_a_rising_curve():
    from mnas.search.surrogate.report import go_no_go

    def curve(at_200, at_400):
        return [{"n": 200, "ensemble": {"spearman": at_200}}, {"n": 400, "ensemble": {"spearman": at_400}}]

    go = go_no_go(curve(0.50, 0.60), 400)
    assert go["decided"] and go["go"] and go["reason"].startswith("go: cross-validated Spearman 0.60 at n = 400")
    falling = go_no_go(curve(0.70, 0.60), 400)
    assert falling["decided"] and not falling["go"] and "not rising from 0.70" in falling["reason"]
    weak = go_no_go(curve(0.30, 0.40), 400)
    assert not weak["go"] and "(< 0.45)" in weak["reason"]


def test_packed_measurements_are_checksummed_and_checked(packed, tmp_path):
    _, destination = packed
    damaged = tmp_path / "damaged.json.gz"
    damaged.write_bytes(destination.read_bytes()[:-10])
    (tmp_path / "damaged.json.gz.sha256").write_text((destination.parent / "surrogate.json.gz.sha256").read_text())
    with pytest.raises(ValueError, match="SHA-256 does not match"):
        load_runs(damaged)
    (tmp_path / "damaged.json.gz.sha256").write_text("")
    with pytest.raises(ValueError, match="missing, empty or different"):
        load_runs(damaged)
    with pytest.raises(FileNotFoundError, match="surrogate build"):
        load_runs(tmp_path / "nothing.json.gz")


def _search(folder, destination, **changes):
    config = SearchConfig(evaluator="surrogate", surrogate_file=str(destination), **changes)
    return Search(None, folder, config)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["rl", "random", "evolution"])
def test_surrogate_mode_search_is_deterministic_and_resumes_exactly(packed, tmp_path, sampler, one_thread):
    _, destination = packed
    # the synthetic build measured no reference family: no B1 baselines to look up
    settings = {"budget_children": 30, "sampler": sampler, "seed": 5, "latency_engine": "torch", "baseline_widths": ()}
    first = _search(tmp_path / "a", destination, **settings).run()
    again = _search(tmp_path / "b", destination, **settings).run()
    assert [r["arch"] for r in first.children] == [r["arch"] for r in again.children]
    assert [r["reward"] for r in first.children] == [r["reward"] for r in again.children]
    assert len({r["arch"] for r in first.children}) > 10
    assert first.baselines == []
    assert all(0 <= r["accuracy"] <= 1 and r["latency_ratio"] > 0 for r in first.children)
    resumed = tmp_path / "resumed"
    _search(resumed, destination, **{**settings, "budget_children": 13}).run()
    lines = (resumed / "children.jsonl").read_text().splitlines()
    assert len(lines) == 13
    result = _search(resumed, destination, **settings).run()
    assert [r["arch"] for r in result.children] == [r["arch"] for r in first.children]
    assert [r["reward"] for r in result.children] == [r["reward"] for r in first.children]


def test_surrogate_mode_refuses_networks_outside_the_space_and_final_training(packed):
    _, destination = packed
    executor = SurrogateExecutor(SearchConfig(evaluator="surrogate", surrogate_file=str(destination)))
    with pytest.raises(ValueError, match="is not a network of the search space"):
        executor.lookup(family_arch("mobilenetv2", 0.5), 0)
    with pytest.raises(ValueError, match="final_top_k must be 0 in surrogate mode"):
        SearchConfig(evaluator="surrogate", final_top_k=2)


def test_the_shipped_measurements_load_and_fit():
    header, runs = load_runs(DEFAULT_SURROGATE)
    assert header["recipe"]["name"] == "F" and header["runs"] == len(runs) > 0
    architectures = measured_architectures(runs)
    assert {a.role for a in architectures} <= {"random", "reference", "trajectory"}
    surrogate = Surrogate(architectures)
    predicted = surrogate.accuracy([SearchSpace(width=0.5).skeleton_arch()])[0]
    assert 0.1 < predicted < 0.9


def test_trajectory_architectures_are_new_distinct_and_join_stage_b(tmp_path, one_thread):
    from mnas.arch import network_signature
    from mnas.search.surrogate.build import TRAJECTORIES_FILE
    from mnas.search.surrogate.trajectories import propose

    folder = _synthetic_build(tmp_path / "build", architectures=60, repeated=10)
    chosen = propose(folder, count=6, searches=1, children=40)
    measured = {network_signature(json.loads(line)["arch"]) for line in (folder / RUNS_LOG).read_text().splitlines()}
    signatures = [network_signature(t["arch"]) for t in chosen]
    assert len(chosen) == 6 and len(set(signatures)) == 6 and not set(signatures) & measured
    assert {t["strategy"] for t in chosen} == {"rl", "evolution"} and all(t["step"] >= 20 for t in chosen)
    space = SearchSpace(width=0.5)
    jobs = BuildPlan(randoms_per_stage=60).jobs("B", space, json.loads((folder / TRAJECTORIES_FILE).read_text())[
        "architectures"])
    assert [j.arch for j in jobs if j.role == "trajectory"] == [space.arch(t["decisions"]) for t in chosen]
    positions = [n for n, j in enumerate(jobs) if j.role == "trajectory"]
    assert positions[0] < 12 and positions[-1] < len(jobs) - 5      # spread through the randoms, not after them
    with pytest.raises(ValueError, match="chosen once"):
        propose(folder, count=6, searches=1, children=40)
