"""The search's parts: reward formula, space, controller learning, the loop's log and exact resume."""

import json
import math
import os
import signal
import subprocess
import sys

import pytest
import torch

from helpers import kill_after_lines
from mnas.arch import parse_arch, total_stride
from mnas.latency.meter import torch_threads
from mnas.models import create_model
from mnas.search.config import SearchConfig
from mnas.search.controller import PPO, Controller, PPOConfig
from mnas.search.interfaces import Executor, Sampler
from mnas.search.log import ChildLog
from mnas.search.loop import Search
from mnas.search.reward import objective, reward
from mnas.search.samplers import SAMPLER_CLASSES, RLSampler, make_sampler, replay
from mnas.search.space import DECISIONS, SearchSpace

# --- reward -------------------------------------------------------------------------------------


def test_soft_reward_is_the_papers_formula():
    soft = objective("soft", target=10.0)
    assert soft(0.8, 20.0) == 0.8 * 2.0 ** -0.07          # over T: beta
    assert soft(0.8, 5.0) == 0.8 * 0.5 ** -0.07           # under T: alpha (rewarded for speed)
    assert soft(0.8, 10.0) == 0.8
    assert soft(0.8, 20.0) == pytest.approx(0.7621, abs=1e-4)   # doubling costs ~4.7 % relative


def test_hard_reward_is_the_papers_formula():
    hard = objective("hard", target=10.0)
    assert hard(0.6, 4.0) == 0.6                          # alpha = 0: under T only accuracy counts
    assert hard(0.6, 10.0) == 0.6
    assert hard(0.6, 15.0) == 0.6 * (15.0 / 10.0) ** -1.0  # beta = -1
    assert reward(0.5, 30.0, 10.0, 0.0, -1.0) == pytest.approx(0.5 / 3)


def test_reward_rejects_bad_inputs():
    with pytest.raises(ValueError, match="accuracy"):
        reward(1.5, 10, 10, -0.07, -0.07)
    with pytest.raises(ValueError, match="constraint"):
        objective("medium", 10)
    with pytest.raises(ValueError, match="target"):
        objective("soft", 0)


# --- space --------------------------------------------------------------------------------------


def test_space_size_and_skeleton():
    space = SearchSpace()
    per_block = math.prod(len(c) for c in DECISIONS.values())
    assert per_block == 432
    assert space.size == 432 ** 7
    assert space.arch(space.skeleton_decisions()) == space.skeleton_arch()
    blocks = parse_arch(space.skeleton_arch())
    assert 32 // total_stride(blocks) == 4       # a 4x4 final map at 32 px
    assert blocks[-1].out_ch == 1280 and blocks[0].op == "conv"


def test_every_sampled_child_parses_and_builds(one_thread):
    space = SearchSpace()
    generator = torch.Generator().manual_seed(0)
    seen = set()
    for n in range(150):
        actions = space.random_actions(generator)
        decisions = space.decisions(actions)
        assert space.actions(decisions) == actions
        arch = space.arch(decisions)
        assert arch == space.arch(actions)
        blocks = parse_arch(arch)
        assert all(b.out_ch % 8 == 0 for b in blocks[1:])
        model = create_model(arch, num_classes=10, input_size=32)
        assert model.arch == arch
        if n % 10 == 0:
            with torch.no_grad():
                assert model.eval()(torch.rand(1, 3, 32, 32)).shape == (1, 10)
        seen.add(arch)
    assert len(seen) == 150


def test_space_rejects_bad_decisions():
    space = SearchSpace()
    decisions = space.skeleton_decisions()
    with pytest.raises(ValueError, match="b3_kernel"):
        space.arch({**decisions, "b3_kernel": 7})
    with pytest.raises(ValueError, match="missing"):
        space.arch({k: v for k, v in decisions.items() if k != "b0_op"})
    with pytest.raises(ValueError, match="42"):
        space.decisions([0, 1])


# --- controller ---------------------------------------------------------------------------------


def test_controller_learns_a_known_best_architecture():
    """Synthetic reward: the fraction of decisions matching a fixed architecture (the B1 skeleton)."""
    torch.manual_seed(0)
    space = SearchSpace()
    best = space.actions(space.skeleton_decisions())
    controller = Controller(space.num_choices, seed=0)
    ppo = PPO(controller, PPOConfig())
    generator = torch.Generator().manual_seed(0)

    def best_log_prob():
        with torch.no_grad():
            return float(controller.log_prob([best])[0][0])

    start = best_log_prob()
    with torch_threads(1):
        for _ in range(160):
            actions, log_probs, _ = controller.sample(generator)
            matches = sum(a == b for a, b in zip(actions, best))
            ppo.record(actions, float(log_probs.sum()), 0.2 + 0.5 * matches / len(best))
    end = best_log_prob()
    assert ppo.updates == 40
    # The whole 42-decision architecture becomes e^20 times more probable (start ~ e^-42, uniform-ish),
    # and the controller's greedy choice agrees with it on almost every decision.
    assert end - start > 20, (start, end)
    assert sum(a == b for a, b in zip(controller.greedy(), best)) >= 36


def _advantages(scale: float, normalize: bool) -> list[torch.Tensor]:
    """Three batches' advantages for rewards ~0.01 apart, as proxy rewards are, times `scale`."""
    ppo = PPO(Controller([2], seed=0), PPOConfig(normalize_advantages=normalize))
    batches = torch.tensor([[0.20, 0.21, 0.19, 0.205], [0.22, 0.18, 0.2, 0.21], [0.2, 0.2, 0.23, 0.19]])
    return [ppo.advantages(batch * scale) for batch in batches]


def test_normalised_advantages_do_not_depend_on_the_reward_scale():
    """Proxy rewards differ by ~0.01, so raw advantages are ~0.01 and the entropy bonus drowns them;
    normalised, they are the same whatever the scale, and of order one."""
    small, large = _advantages(1.0, True), _advantages(100.0, True)
    assert all(torch.allclose(a, b, rtol=1e-4) for a, b in zip(small, large))
    assert 0.3 < float(torch.cat(small).abs().mean()) < 3
    raw_small, raw_large = _advantages(1.0, False), _advantages(100.0, False)
    assert all(torch.allclose(a * 100, b, rtol=1e-4) for a, b in zip(raw_small, raw_large))
    assert float(torch.cat(raw_small).abs().max()) < 0.05


def test_controller_sampling_is_seeded():
    space = SearchSpace()
    runs = []
    for _ in range(2):
        controller = Controller(space.num_choices, seed=3)
        generator = torch.Generator().manual_seed(5)
        runs.append([controller.sample(generator)[0] for _ in range(3)])
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[0][1]


@pytest.mark.slow
def test_scoring_a_sequence_at_once_agrees_with_sampling_it_step_by_step():
    """PPO scores the logged actions with the whole-sequence LSTM and masked concatenated heads; the
    sampler walks the steps one at a time. Both must give the same policy, or PPO's ratio is off at 1."""
    space = SearchSpace()
    controller = Controller(space.num_choices, seed=11)
    with torch.no_grad():  # move away from the near-uniform start, so a wrong mask or offset shows
        for parameter in controller.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(2)))
    drawn = [controller.sample(torch.Generator().manual_seed(seed)) for seed in range(6)]
    log_probs, entropies = controller.log_prob([actions for actions, _, _ in drawn])
    assert torch.allclose(log_probs, torch.stack([lp.sum() for _, lp, _ in drawn]), atol=1e-4)
    assert torch.allclose(entropies, torch.stack([e.sum() for _, _, e in drawn]), atol=1e-4)
    batch_actions, batch_log_probs, _ = controller.sample_batch(torch.Generator().manual_seed(0), 5)
    assert batch_actions.shape == (5, len(space.num_choices))
    assert torch.allclose(controller.log_prob(batch_actions)[0], batch_log_probs.sum(1), atol=1e-4)


# --- loop, log, resume --------------------------------------------------------------------------

# One training thread: on a shared 2-core machine two threads per process oversubscribe the cores.
TINY = dict(train_images=60, val_images=30, batch_size=16, baseline_widths=(0.5,), latency_rounds=3,
            latency_burst=2,
            predictor=False, train_threads=1)


def test_child_log_drops_only_a_torn_last_line(tmp_path):
    log = ChildLog(tmp_path / "children.jsonl")
    log.append({"step": 0})
    log.append({"step": 1})
    with open(log.path, "a") as handle:
        handle.write('{"step": 2, "arc')
    assert [r["step"] for r in log.read()] == [0, 1]
    assert log.path.read_text().endswith("}\n")
    log.append({"step": 2})
    assert [r["step"] for r in log.read()] == [0, 1, 2]


@pytest.mark.slow
def test_search_writes_outputs_and_replay_restores_the_controller_exactly(tmp_path, cifar10_root,
                                                                          one_thread):
    config = SearchConfig(budget_children=5, ppo_batch=2, **TINY)
    result = Search(cifar10_root, tmp_path, config).run()
    records = [json.loads(line) for line in (tmp_path / "children.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(5))
    for r in records:
        required = {"arch", "accuracy", "latency_ratio", "latency_ms", "reference_ms", "macs", "params",
                    "reward", "seconds", "decisions"}
        assert required <= set(r)
        assert 0 <= r["accuracy"] <= 1 and r["latency_ms"] > 0 and r["latency_ratio"] > 0
        # T and every child's LAT/T come from one meter: the reward is ACC x (ratio / target ratio)^w
        assert result.summary["target_ratio"] == 1.0
        assert r["reward"] == pytest.approx(objective("soft", result.summary["target_ratio"])(
            r["accuracy"], r["latency_ratio"]))
    for name in ("summary.json", "pareto.png", "curves.png", "baselines.jsonl", "controller.pt"):
        assert (tmp_path / name).stat().st_size > 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["best"]["reward"] == max(r["reward"] for r in records)
    stored = json.loads((tmp_path / "search_config.json").read_text())
    assert stored["target"]["ratio"] == 1.0 and stored["target"]["reference_ms"] > 0
    assert 0.7 < stored["target"]["self_ratio"] < 1.4  # the reference timed against itself
    machine = stored["machines"][0]
    assert machine["cpu"] and machine["usable_cores"] >= 1 and machine["latency_engine"] == config.latency_engine

    saved = torch.load(tmp_path / "controller.pt", weights_only=True)
    space = SearchSpace(width=config.width)
    fresh = RLSampler(space, config)
    replay(fresh, space, records)
    for key, value in fresh.state()["controller"].items():
        assert torch.equal(value, saved["controller"][key]), key
    assert fresh.ppo.baseline == saved["baseline"] and fresh.ppo.updates == saved["updates"] == 2


def test_resume_refuses_other_settings(tmp_path, cifar10_root):
    Search(cifar10_root, tmp_path, SearchConfig(budget_children=1, **TINY))
    with pytest.raises(ValueError, match="seed"):
        Search(cifar10_root, tmp_path, SearchConfig(budget_children=1, seed=9, **TINY))


# reward = accuracy exactly (hard constraint, T far above any latency): the run is then deterministic,
# so an interrupted + resumed run must equal an uninterrupted one.
EXACT = dict(constraint="hard", target_latency_ms=1e6, seed=4)


def _search_command(output, cifar10_root, budget):
    return [sys.executable, "-m", "mnas", "search", "--data", str(cifar10_root), "--output", str(output),
            "--budget-children", str(budget), "--train-images", "60", "--val-images", "30",
            "--batch-size", "16", "--baseline-widths", "0.5", "--no-predictor", "--latency-rounds", "3",
            "--latency-burst", "2",
            "--train-threads", "1",
            "--constraint", "hard", "--target-latency-ms", "1e6", "--seed", "4"]


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_killed_search_resumes_with_no_lost_or_repeated_child(tmp_path, cifar10_root, one_thread):
    budget = 5
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    log = killed / "children.jsonl"
    process = subprocess.Popen(_search_command(killed, cifar10_root, budget), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before = kill_after_lines(process, log, 2, 240, lambda: process.send_signal(signal.SIGKILL))
    assert 2 <= len(before) < budget, "the search was not interrupted mid-run"

    subprocess.run(_search_command(killed, cifar10_root, budget), env=env, check=True,
                   stdout=subprocess.DEVNULL)
    Search(cifar10_root, clean, SearchConfig(budget_children=budget, **TINY, **EXACT)).run()
    after = [json.loads(line) for line in log.read_text().splitlines()]
    reference = [json.loads(line) for line in (clean / "children.jsonl").read_text().splitlines()]
    assert log.read_text().splitlines()[:len(before)] == before        # nothing lost or rewritten
    assert [r["step"] for r in after] == list(range(budget))          # nothing repeated
    assert [r["arch"] for r in after] == [r["arch"] for r in reference]
    assert [r["accuracy"] for r in after] == [r["accuracy"] for r in reference]


def test_a_child_whose_proxy_training_diverges_scores_zero_and_the_search_goes_on(tmp_path, cifar10_root,
                                                                                  one_thread):
    config = SearchConfig(budget_children=2, **{**TINY, "baseline_widths": (0.5,)}, learning_rate=1e6)
    result = Search(cifar10_root, tmp_path, config).run()
    assert [r["step"] for r in result.children] == [0, 1]
    for record in result.children + result.baselines:
        assert record["accuracy"] == 0.0 and record["reward"] == 0.0
        assert "diverged" in record["diverged"] and "learning rate" in record["diverged"]


@pytest.mark.slow
def test_search_runs_the_fair_final_comparison_in_its_own_outputs(tmp_path, cifar10_root, one_thread):
    config = SearchConfig(budget_children=3, **{**TINY, "baseline_widths": (0.35, 0.5, 0.75)}, final_top_k=2,
                          final_epochs=1, final_train_per_class=12, final_val_per_class=3, final_test_per_class=3)
    result = Search(cifar10_root, tmp_path, config).run()
    verdict = result.summary["final"]
    assert json.loads((tmp_path / "summary.json").read_text())["final"]["winner"] == verdict["winner"]
    assert verdict["interval"][0] <= verdict["margin"] <= verdict["interval"][1]
    final = json.loads((tmp_path / "final.json").read_text())
    assert final["test_images"] == 30 and len([e for e in final["entries"] if e["role"] == "b1"]) == 3
    assert (tmp_path / "final.png").stat().st_size > 0 and verdict["words"] in (tmp_path / "final.md").read_text()
    with pytest.raises(ValueError, match="final_top_k"):
        SearchConfig(final_top_k=2, evaluator="table")


def test_writing_the_plots_leaves_the_callers_matplotlib_backend_alone(tmp_path):
    """A library must not switch its caller's backend (a notebook's inline one, STUDIO's Qt one)."""
    script = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
from mnas.search.report import plot_curves, plot_pareto
children = [{{"step": i, "reward": 0.1 * i, "entropy": 1.0, "latency_ratio": 0.9 + 0.1 * i, "accuracy": 0.2 + 0.01 * i}}
            for i in range(4)]
target = {{"ratio": 1.0, "ms": 1.0}}
plot_pareto({str(tmp_path / 'pareto.png')!r}, target, children, [], [])
plot_curves({str(tmp_path / 'curves.png')!r}, children, [])
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert plt.get_fignums() == [], plt.get_fignums()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "pareto.png").stat().st_size > 5000 and (tmp_path / "curves.png").stat().st_size > 5000


def test_every_sampler_and_executor_implements_its_contract():
    """The loop talks to samplers and executors through `mnas.search.interfaces` only."""
    from mnas.search.executor import LocalExecutor, RayExecutor
    from mnas.search.surrogate.executor import SurrogateExecutor
    from mnas.search.table.executor import TableExecutor

    space, config = SearchSpace(), SearchConfig()
    for name in SAMPLER_CLASSES:
        sampler = make_sampler(name, space, config)
        assert isinstance(sampler, Sampler) and sampler.name == name
        actions, _, entropy = sampler.propose()
        assert len(actions) == len(space.steps) and entropy >= 0
    for executor in (LocalExecutor, RayExecutor, TableExecutor, SurrogateExecutor):
        assert issubclass(executor, Executor), executor
    assert isinstance(TableExecutor(SearchConfig(evaluator="table")), Executor)
    assert isinstance(SurrogateExecutor(SearchConfig(evaluator="surrogate")), Executor)
