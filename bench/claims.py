"""The paper's claims tested at its scale on the surrogate benchmark of the whole space (not a test).

Searches of the paper's size (8,000 children) run the real search loop (`mnas.search.loop.run_children`)
against `mnas.search.surrogate`: each child's accuracy is the surrogate's recipe-F prediction plus one
draw of the measured seed noise, its latency the engine's latency model, as a paired ratio to the B1
skeleton (T = the skeleton). Every answer (the child of highest *logged*, noisy reward, the same rule for
every strategy; for RL also the controller's most likely architecture) is scored by the noise-free
surrogate reward.

    claim 2, strategies:  RL (defaults, and one PPO setting tuned on seeds 1000+), random search and
                          regularised evolution under the hard constraint; regret to the surrogate's
                          optimum (local search with >= 10^5 noise-free queries) at each budget;
                          one-sided paired Wilcoxon RL > random, paired by seed.
    claim 3, constraints: RL under the hard rule, the soft rule (w = -0.07), a w calibrated the paper's way
                          from B1's measured recipe-F curve, and a sweep of w; latency histograms of the
                          last half of the children.
    claim 4, platforms:   RL hard on the ONNX Runtime and on the eager-torch latency model, and with MACs
                          as the cost; each answer scored on both engines by the models and timed live on
                          both with the paired meter.

Searches are resumable: each finished one is appended to ``searches.jsonl`` (with the SHA-256 of the
surrogate's measurements; a search made on other measurements is redone), ``claims.json`` and the plots
are derived from it. Claim 1 (the answers retrained at recipe F against MobileNetV2's and B1's curves) is
`bench/claim_curves.py` and the live retraining of claim 2's answers `bench/claim2_live.py`; both start
from these searches.

    python bench/claims.py                        # 30 / 5 / 10 seeds x 8,000 / 3,000 / 8,000 children
    python bench/claims.py --claims strategies --workers 2
    python bench/claims.py --fast --output /tmp/claims   # minutes: small budgets, 2 seeds
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from mnas.arch import parse_arch
from mnas.search.config import INPUT_SIZE, SearchConfig
from mnas.search.log import ChildLog
from mnas.search.loop import child_seed, run_children
from mnas.search.reward import objective
from mnas.search.samplers import make_sampler
from mnas.search.surrogate.executor import MEASURED_CLASSES, SurrogateExecutor
from mnas.search.surrogate.features import arch_costs
from mnas.search.surrogate.model import measured_architectures
from mnas.search.surrogate.optimum import noise_free_rewards, surrogate_optimum
from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, load_runs
from mnas.utils.fileio import file_sha256
from mnas.utils.stats import mean_interval, wilcoxon_greater

ENGINES = ("onnxruntime", "torch")
TUNING_SEED_OFFSET = 1000
TUNING_GRID = ({"ppo_normalize": True}, {"ppo_normalize": True, "entropy_weight": 0.01},
               {"ppo_normalize": True, "ppo_lr": 0.02}, {"ppo_batch": 16, "ppo_normalize": True},
               {"entropy_weight": 0.01})
SWEEP_W = (-0.03, -0.07, -0.15, -0.3)


@dataclasses.dataclass(frozen=True)
class Scale:
    """Seeds and budgets of one run of the bench (the paper's, or a fast one for tests)."""

    strategy_seeds: int = 30
    budgets: tuple[int, ...] = (100, 500, 1000, 3000, 8000)
    tuning_seeds: int = 5
    tuning_budget: int = 3000
    constraint_seeds: int = 5
    constraint_budget: int = 3000
    platform_seeds: int = 10
    platform_budget: int = 8000
    optimum_queries: int = 100_000
    live_rounds: int = 40


FAST = Scale(strategy_seeds=2, budgets=(40, 120), tuning_seeds=1, tuning_budget=40, constraint_seeds=2,
             constraint_budget=120, platform_seeds=2, platform_budget=120, optimum_queries=3000, live_rounds=5)


@dataclasses.dataclass(frozen=True)
class Job:
    """One search: `settings` change SearchConfig's defaults; cost "latency" (the engine's model) or "macs"."""

    claim: str
    label: str
    seed: int
    budget: int
    settings: tuple = ()
    cost: str = "latency"
    probes: tuple[int, ...] = ()  # budgets at which the answers are read
    keep_latencies: int = 0       # the last children's latency ratios kept (histograms)

    @property
    def key(self) -> str:
        return json.dumps([self.claim, self.label, self.seed, self.budget, self.settings, self.cost])


# --- one search -----------------------------------------------------------------------------------

class MacsExecutor(SurrogateExecutor):
    """The surrogate with MACs as the cost (the paper's FLOPs argument): a child's "latency" is its MACs
    as a ratio to the skeleton's, so the hard constraint caps MACs at the skeleton's."""

    def __init__(self, config: SearchConfig):
        super().__init__(config)
        self.skeleton_macs = arch_costs(parse_arch(self.space.skeleton_arch()), INPUT_SIZE, MEASURED_CLASSES)[0]

    def _predict(self, archs) -> None:
        archs = [arch for arch in dict.fromkeys(archs) if arch not in self._predicted]
        super()._predict(archs)
        for arch in archs:
            figures = self._predicted[arch]
            figures["engine_latency_ratio"] = figures["latency_ratio"]
            figures["latency_ratio"] = figures["macs"] / self.skeleton_macs
            figures["latency_ms"] = figures["latency_ratio"] * self.reference_ms


_EXECUTORS: dict = {}


def executor_for(config: SearchConfig, cost: str) -> SurrogateExecutor:
    """One fitted surrogate per (measurements, engine, cost) in a process: fitting takes seconds."""
    key = (config.surrogate_file, config.latency_engine, cost)
    if key not in _EXECUTORS:
        _EXECUTORS[key] = (MacsExecutor if cost == "macs" else SurrogateExecutor)(config)
    return _EXECUTORS[key]


class ProbedSampler:
    """A sampler whose state is read at given budgets: after the child that completes each budget has
    been observed, the RL controller's most likely architecture is recorded."""

    def __init__(self, sampler, probes):
        self.sampler, self.name, self.probes = sampler, sampler.name, set(probes)
        self.observed, self.greedy = 0, {}

    def propose(self):
        return self.sampler.propose()

    def observe(self, actions, log_prob, reward) -> None:
        self.sampler.observe(actions, log_prob, reward)
        self.observed += 1
        if self.observed in self.probes and hasattr(self.sampler, "controller"):
            self.greedy[self.observed] = self.sampler.controller.greedy()


def run_job(job: Job, surrogate_file: str) -> dict:
    """Run one search on the surrogate; its answers at every probe, scored noise-free."""
    import torch

    torch.set_num_threads(1)
    config = SearchConfig(evaluator="surrogate", surrogate_file=surrogate_file, budget_children=job.budget,
                          seed=job.seed, **dict(job.settings))
    executor = executor_for(config, job.cost)
    target = executor.target(config.target_latency_ms)
    reward = objective(config.constraint, target["ratio"], config.w)
    space = executor.space
    sampler = ProbedSampler(make_sampler(config.sampler, space, config), job.probes)
    children: list[dict] = []
    started = time.perf_counter()
    run_children(sampler, space, executor, reward, job.budget, config.ppo_batch,
                 lambda index: child_seed(config.seed, index), children.append)
    seconds = time.perf_counter() - started
    answers = {}
    for budget in job.probes:
        best = max(children[:budget], key=lambda child: child["reward"])
        answers[str(budget)] = {"best_logged": best["arch"]}
        if budget in sampler.greedy:
            answers[str(budget)]["greedy"] = space.arch(sampler.greedy[budget])
    result = {"key": job.key, "claim": job.claim, "label": job.label, "seed": job.seed, "budget": job.budget,
              "settings": dict(job.settings), "cost": job.cost, "engine": config.latency_engine,
              "constraint": config.constraint, "w": config.w, "seconds": seconds, "answers": answers}
    if job.keep_latencies:
        result["latencies"] = [round(c["latency_ratio"] / target["ratio"], 4) for c in children[-job.keep_latencies:]]
    return result


# --- the jobs of each claim -------------------------------------------------------------------------

def hard(engine: str = "onnxruntime", **settings) -> tuple:
    return tuple(sorted({"constraint": "hard", "latency_engine": engine, **settings}.items()))


def strategy_jobs(scale: Scale, tuned: dict | None) -> list[Job]:
    top = max(scale.budgets)
    strategies = {"rl": hard(), "random": hard(sampler="random"), "evolution": hard(sampler="evolution")}
    if tuned:  # the tuning chose a setting other than the defaults
        strategies["rl-tuned"] = hard(**tuned)
    return [Job("strategies", label, seed, top, settings, probes=scale.budgets)
            for label, settings in strategies.items() for seed in range(scale.strategy_seeds)]


def tuning_jobs(scale: Scale) -> list[Job]:
    seeds = range(TUNING_SEED_OFFSET, TUNING_SEED_OFFSET + scale.tuning_seeds)
    grid = [{}] + list(TUNING_GRID)
    jobs = [Job("tuning", "random", seed, scale.tuning_budget, hard(sampler="random"), probes=(scale.tuning_budget,))
            for seed in seeds]
    return jobs + [Job("tuning", json.dumps(option, sort_keys=True), seed, scale.tuning_budget, hard(**option),
                       probes=(scale.tuning_budget,)) for option in grid for seed in seeds]


def calibrated_w(surrogate_file: str) -> dict:
    """The paper's way of choosing w, on B1's measured recipe-F curve: r, the relative accuracy gained
    per doubling of ONNX Runtime latency (least squares of ln accuracy on log2 latency over B1's widths),
    gives w = -log2(1 + r), the exponent under which doubling latency for that gain is reward-neutral."""
    _, runs = load_runs(surrogate_file)
    points = [a for a in measured_architectures(runs) if a.role == "reference" and a.family == "b1"
              and "onnxruntime" in a.latency]
    if len(points) < 2:
        raise ValueError(f"surrogate measurements {surrogate_file}: B1's curve needs >= 2 timed widths, "
                         f"got {len(points)}")
    x = np.log2([a.latency["onnxruntime"] for a in points])
    y = np.log([statistics.fmean(a.accuracies) for a in points])
    slope = float(np.polyfit(x, y, 1)[0])
    gain = math.exp(slope) - 1
    return {"widths": [a.width for a in points], "relative_gain_per_doubling": gain,
            "w": -math.log2(1 + gain) if gain > -1 else 0.0}


def constraint_jobs(scale: Scale, w_calibrated: float) -> list[Job]:
    rules = {"hard": hard(), "calibrated": hard(constraint="soft", w=round(min(0.0, w_calibrated), 4))}
    rules.update({f"soft w={w:g}": hard(constraint="soft", w=w) for w in SWEEP_W})
    half = scale.constraint_budget // 2
    return [Job("constraints", label, seed, scale.constraint_budget, settings, probes=(scale.constraint_budget,),
                keep_latencies=half) for label, settings in rules.items() for seed in range(scale.constraint_seeds)]


def platform_jobs(scale: Scale) -> list[Job]:
    searches = [(engine, hard(engine), "latency") for engine in ENGINES] + [("macs", hard(), "macs")]
    return [Job("platforms", label, seed, scale.platform_budget, settings, cost, probes=(scale.platform_budget,))
            for label, settings, cost in searches for seed in range(scale.platform_seeds)]


# --- running, resumably -------------------------------------------------------------------------------

def run_jobs(jobs: list[Job], log: ChildLog, surrogate_file: str, workers: int) -> dict[str, dict]:
    """Every job's result: read from the log when made on these measurements, else run and appended."""
    checksum = file_sha256(surrogate_file)
    done = {r["key"]: r for r in log.read() if r.get("surrogate_sha256") == checksum}
    todo = [job for job in dict.fromkeys(jobs) if job.key not in done]
    if todo:
        print(f"  {len(todo)} searches to run ({len(jobs) - len(todo)} already done)", flush=True)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(run_job, job, surrogate_file) for job in todo]
            for number, future in enumerate(futures, 1):
                result = {**future.result(), "surrogate_sha256": checksum}
                log.append(result)
                done[result["key"]] = result
                print(f"  [{number}/{len(todo)}] {result['claim']} {result['label']} seed {result['seed']}: "
                      f"{result['budget']} children in {result['seconds']:.1f} s", flush=True)
    return {job.key: done[job.key] for job in jobs}


# --- scoring ----------------------------------------------------------------------------------------

class Scorer:
    """Noise-free figures of answers on both engines' latency models, and their reward under a rule."""

    def __init__(self, surrogate_file: str):
        self.executors = {engine: SurrogateExecutor(SearchConfig(evaluator="surrogate", surrogate_file=surrogate_file,
                                                                 latency_engine=engine)) for engine in ENGINES}

    def figures(self, archs: list[str], engine: str) -> list[dict]:
        return self.executors[engine].truth(archs)

    def rewards(self, archs: list[str], engine: str = "onnxruntime", constraint: str = "hard",
                w: float = -0.07) -> np.ndarray:
        executor = self.executors[engine]
        return noise_free_rewards(executor, objective(constraint, executor.target(0.0)["ratio"], w), archs)


def hard_optimum(scorer: Scorer, engine: str, queries: int, seed: int = 0) -> dict:
    """The best noise-free hard-constraint reward on `engine` (`mnas.search.surrogate.optimum`)."""
    executor = scorer.executors[engine]
    return surrogate_optimum(executor, objective("hard", executor.target(0.0)["ratio"]), queries, seed)


def points(values) -> list[float]:
    """A (mean, low, high) interval of fractions, in accuracy points."""
    return [100 * v for v in mean_interval(values)]


def score_strategies(results: list[dict], scorer: Scorer, optimum: float, budgets) -> dict:
    by_label: dict[str, list[dict]] = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        by_label.setdefault(r["label"], []).append(r)
    rows = []
    for budget in budgets:
        truth = {}
        for label, runs in by_label.items():
            truth[label] = scorer.rewards([r["answers"][str(budget)]["best_logged"] for r in runs])
            if label.startswith("rl"):
                truth[label + " (greedy)"] = scorer.rewards([r["answers"][str(budget)]["greedy"] for r in runs])
        for label, values in truth.items():
            row = {"budget": budget, "strategy": label, "seeds": len(values), "reward_points": points(values),
                   "regret_points": points(optimum - values)}
            if label != "random":
                row["gain_vs_random_points"] = points(values - truth["random"])
                row["p_vs_random"] = wilcoxon_greater(values, truth["random"])
            rows.append(row)
    return {"optimum_reward_points": 100 * optimum, "rows": rows}


def score_tuning(results: list[dict]) -> dict:
    """The PPO setting with the highest mean logged-answer reward on the tuning seeds (never reported ones)."""
    by_label: dict[str, list[float]] = {}
    for r in results:
        by_label.setdefault(r["label"], []).append(r["best_logged_reward"])
    table = {label: statistics.fmean(v) for label, v in by_label.items() if label != "random"}
    best = max(table, key=table.get)
    return {"means": table, "random": statistics.fmean(by_label["random"]), "chosen": json.loads(best)}


def log2_iqr(values) -> float:
    q1, q3 = np.percentile(np.log2(values), [25, 75])
    return float(q3 - q1)


def score_constraints(results: list[dict], calibration: dict) -> dict:
    by_label: dict[str, list[dict]] = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        by_label.setdefault(r["label"], []).append(r)
    summary = {}
    for label, runs in by_label.items():
        pooled = np.concatenate([r["latencies"] for r in runs])
        summary[label] = {"w": runs[0]["w"], "constraint": runs[0]["constraint"], "samples": int(pooled.size),
                          "share_at_or_below_T": float(np.mean(pooled <= 1.0)),
                          "share_above_1.1T": float(np.mean(pooled > 1.1)),
                          "median_latency_T": float(np.median(pooled)), "log2_iqr": log2_iqr(pooled),
                          "median_per_seed": [float(np.median(r["latencies"])) for r in runs]}
    sweep = [f"soft w={w:g}" for w in SWEEP_W]
    medians = np.array([summary[label]["median_per_seed"] for label in sweep])  # [w, seed]
    monotone = int(np.sum(np.all(np.diff(medians, axis=0) < 0, axis=0)))
    hard_, soft = summary["hard"], summary["soft w=-0.07"]
    goals = {"hard_at_or_below_T_>=85%": hard_["share_at_or_below_T"] >= 0.85,
             "soft_iqr_>=2x_hard": soft["log2_iqr"] >= 2 * hard_["log2_iqr"],
             "soft_above_1.1T_>=20%": soft["share_above_1.1T"] >= 0.20,
             "sweep_monotone_in_>=4_of_5_seeds": monotone >= min(4, medians.shape[1])}
    return {"calibration": calibration, "rules": summary, "sweep_monotone_seeds": monotone,
            "sweep_seeds": int(medians.shape[1]), "goals": goals}


def describe(archs: list[str]) -> dict:
    """What a set of answers is made of, over the 7 searched blocks (stem and head excluded): mean layers,
    shares of 5x5 kernels, of squeeze-excitation, of regular convs, and the mean expansion."""
    from mnas.arch import parse_arch

    bodies = [parse_arch(arch)[1:-1] for arch in archs]
    return {"layers": float(np.mean([sum(b.repeats for b in body) for body in bodies])),
            "share_k5": float(np.mean([b.kernel == 5 for body in bodies for b in body])),
            "share_se": float(np.mean([b.se_ratio > 0 for body in bodies for b in body])),
            "share_regular_conv": float(np.mean([b.op == "conv" for body in bodies for b in body])),
            "mean_expansion": float(np.mean([b.expansion for body in bodies for b in body]))}


def live_ratios(archs: list[str], engine: str, rounds: int) -> list[float]:
    """Each architecture timed live against the B1 skeleton with the paired meter (one thread, batch 1)."""
    from mnas.latency.meter import PairedMeter
    from mnas.models import create_model
    from mnas.search.space import SearchSpace

    meter = PairedMeter(create_model(SearchSpace().skeleton_arch(), MEASURED_CLASSES, INPUT_SIZE), INPUT_SIZE,
                        engine=engine, threads=1, rounds=rounds)
    return [meter.measure(create_model(arch, MEASURED_CLASSES, INPUT_SIZE)).ratio for arch in archs]


def score_platforms(results: list[dict], scorer: Scorer, rounds: int, live: bool) -> dict:
    by_label: dict[str, list[str]] = {}
    for r in sorted(results, key=lambda r: r["seed"]):
        by_label.setdefault(r["label"], []).append(r["answers"][str(r["budget"])]["best_logged"])
    searches = {}
    for label, archs in by_label.items():
        entry = {"answers": describe(archs)}
        for engine in ENGINES:
            figures = scorer.figures(archs, engine)
            entry[engine] = {"accuracy": [f["surrogate_accuracy"] for f in figures],
                             "model_ratio": [f["latency_ratio"] for f in figures]}
            if live:
                entry[engine]["live_ratio"] = live_ratios(archs, engine, rounds)
        searches[label] = entry
    comparisons = {}
    for engine, other in (ENGINES, ENGINES[::-1]):
        own, foreign = searches[engine][engine], searches[other][engine]
        kind = "live_ratio" if live else "model_ratio"
        comparisons[f"on {engine}: own vs {other}'s answers"] = {
            "latency_basis": kind,
            "foreign_excess_over_T_percent": [100 * v for v in mean_interval(np.array(foreign[kind]) - 1.0)],
            "own_excess_over_T_percent": [100 * v for v in mean_interval(np.array(own[kind]) - 1.0)],
            "accuracy_gain_points": points(np.array(own["accuracy"]) - np.array(foreign["accuracy"]))}
    return {"searches": searches, "comparisons": comparisons}


# --- pictures -----------------------------------------------------------------------------------------

def plot_regret(scored: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label in dict.fromkeys(r["strategy"] for r in scored["rows"]):
        rows = [r for r in scored["rows"] if r["strategy"] == label]
        budgets = [r["budget"] for r in rows]
        ax.fill_between(budgets, [r["regret_points"][1] for r in rows], [r["regret_points"][2] for r in rows],
                        alpha=0.2)
        ax.plot(budgets, [r["regret_points"][0] for r in rows], "o-", label=label)
    ax.set_xscale("log")
    ax.set(xlabel="children (budget)", ylabel="regret to the surrogate's optimum (points, mean and 95 % CI)",
           title=f"claim 2: strategies on the surrogate, hard constraint, {scored['rows'][0]['seeds']} seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_constraints(results: list[dict], path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    by_label: dict[str, list[float]] = {}
    for r in results:
        by_label.setdefault(r["label"], []).extend(r["latencies"])
    bins = np.logspace(np.log10(0.3), np.log10(4.0), 40)
    for label, values in by_label.items():
        if label in ("hard", "soft w=-0.07", "calibrated", "soft w=-0.3"):
            ax.hist(values, bins=bins, histtype="step", linewidth=2, label=label)
    ax.axvline(1.0, color="0.3", linestyle="--", label="T (the B1 skeleton)")
    ax.set_xscale("log")
    ax.set(xlabel="ONNX Runtime latency of sampled children (x T), last half of each search", ylabel="children",
           title="claim 3: where the controller samples under hard and soft rewards")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_platforms(scored: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    labels = list(scored["searches"])
    for ax, engine in zip(axes, ENGINES):
        basis = "live_ratio" if "live_ratio" in scored["searches"][labels[0]][engine] else "model_ratio"
        means = [mean_interval(scored["searches"][label][engine][basis]) for label in labels]
        ax.bar(labels, [m[0] for m in means], yerr=[[m[0] - m[1] for m in means], [m[2] - m[0] for m in means]],
               capsize=4, color=["C0", "C1", "C2"][:len(labels)])
        ax.axhline(1.0, color="0.3", linestyle="--")
        ax.set(title=f"answers timed on {engine} ({basis.replace('_', ' ')})", xlabel="search's cost")
    axes[0].set_ylabel("latency (x T), mean and 95 % CI over seeds")
    fig.suptitle("claim 4: each engine's own search against the other's answers")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main ---------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", nargs="+", default=["strategies", "constraints", "platforms"],
                        choices=("strategies", "constraints", "platforms"))
    parser.add_argument("--surrogate", default=str(DEFAULT_SURROGATE), help="packed surrogate measurements")
    parser.add_argument("--output", default="bench/results/claims")
    parser.add_argument("--workers", type=int, default=1, help="parallel searches (default 1: a surrogate build "
                        "may be using the other core)")
    parser.add_argument("--fast", action="store_true", help="small budgets and 2 seeds (minutes): a smoke run")
    parser.add_argument("--no-live", action="store_true", help="claim 4 without live timing (latency models only)")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    scale = FAST if args.fast else Scale()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    log = ChildLog(output / "searches.jsonl")
    scorer = Scorer(args.surrogate)
    started = time.perf_counter()
    result = {"surrogate": {"file": Path(args.surrogate).name, "sha256": file_sha256(args.surrogate),
                            "fitted_on": scorer.executors["onnxruntime"].surrogate.fitted_on,
                            "seed_sd_points": 100 * scorer.executors["onnxruntime"].surrogate.noise["seed_sd"]},
              "scale": dataclasses.asdict(scale)}
    if "strategies" in args.claims:
        print("claim 2: tuning RL on seeds kept apart", flush=True)
        tuning = run_jobs(tuning_jobs(scale), log, args.surrogate, args.workers).values()
        for r in tuning:
            r["best_logged_reward"] = float(scorer.rewards([r["answers"][str(r["budget"])]["best_logged"]])[0])
        result["tuning"] = score_tuning(list(tuning))
        print("claim 2: the surrogate's optimum", flush=True)
        optimum = hard_optimum(scorer, "onnxruntime", scale.optimum_queries)
        print("claim 2: strategies", flush=True)
        runs = run_jobs(strategy_jobs(scale, result["tuning"]["chosen"]), log, args.surrogate, args.workers)
        result["strategies"] = {"optimum": optimum, **score_strategies(list(runs.values()), scorer, optimum["reward"],
                                                                       scale.budgets)}
        plot_regret(result["strategies"], output / "regret.png")
    if "constraints" in args.claims:
        print("claim 3: constraints", flush=True)
        calibration = calibrated_w(args.surrogate)
        runs = run_jobs(constraint_jobs(scale, calibration["w"]), log, args.surrogate, args.workers)
        result["constraints"] = score_constraints(list(runs.values()), calibration)
        plot_constraints(list(runs.values()), output / "constraints.png")
    if "platforms" in args.claims:
        print("claim 4: platforms", flush=True)
        runs = run_jobs(platform_jobs(scale), log, args.surrogate, args.workers)
        result["platforms"] = score_platforms(list(runs.values()), scorer, scale.live_rounds, not args.no_live)
        plot_platforms(result["platforms"], output / "platforms.png")
    result["search_cpu_hours"] = sum(r["seconds"] for r in log.read()) / 3600
    result["wall_seconds"] = time.perf_counter() - started
    claims_file = output / "claims.json"
    previous = json.loads(claims_file.read_text()) if claims_file.is_file() else {}
    claims_file.write_text(json.dumps({**previous, **result}, indent=1))
    print(f"wrote {claims_file}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
