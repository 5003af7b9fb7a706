"""Search strategies compared with statistics on the benchmark table (not a test).

Each strategy (rl: the PPO controller, random, evolution) runs the real `Search` loop in table mode for
`--seeds` seeds at the largest budget; a smaller budget's result is the prefix of the same run (the
loop is sequential). For every budget it reports, over the seeds, the mean and 95 % bootstrap interval
of the best child's table accuracy (the mean over the entry's measured seeds) and of its reward (with
the table's mean figures), the regret to the table's optimum reward, the same scored by the *denoised*
truth (a ridge regression of the mean accuracy on the architectures' features, `mnas.search.surrogate`:
one proxy seed is mostly noise, so the table's own optimum is a lucky draw), and paired one-sided Wilcoxon
signed-rank tests (rl > random, evolution > random, paired by seed); a plot of regret against budget;
and the paper's picture: the latency of the children sampled under the soft reward (w = -0.07), a
stronger soft reward (w = -0.3) and the hard constraint, as histograms against T.

PPO's settings can be tuned with `--tune` on seeds kept apart (1000+) from the reported ones (0..); the
best of them (tuning.json) is then reported as "rl-tuned" beside the defaults.

    python bench/strategies.py                              # the shipped table, 30 seeds, budgets to 500
    python bench/strategies.py --table path.json.gz --seeds 5 --budgets 25 50
    python bench/strategies.py --tune                       # PPO lr / entropy / batch on held-apart seeds
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mnas.search.config import SearchConfig
from mnas.search.loop import benchmark_search
from mnas.search.parallel import run_searches
from mnas.search.reward import objective
from mnas.search.table.file import DEFAULT_TABLE, load_table
from mnas.utils.stats import mean_interval, wilcoxon_greater

STRATEGIES = ("rl", "random", "evolution")
BUDGETS = (25, 50, 100, 200, 500)
TUNING_SEED_OFFSET = 1000
# PPO settings tried by --tune (on seeds kept apart from the reported ones)
TUNING_GRID = {"ppo_lr": (0.005, 0.02, 0.05), "entropy_weight": (0.01, 0.05), "ppo_batch": (4, 8),
               "ppo_normalize": (False, True)}


@dataclasses.dataclass(frozen=True)
class ScoredTable:
    """A table whose entries carry their mean figures and their soft reward (T = the skeleton, SearchConfig's
    w), by the table's means and by the denoised truth, and the best entry under each: what every
    comparison is measured against."""
    path: str
    header: dict
    entries: dict
    optimum_arch: str
    optimum: float
    denoised_optimum_arch: str
    denoised_optimum: float
    denoising: dict


def denoise(entries: dict) -> dict:
    """Each entry's "denoised_accuracy": ridge on the architecture's features fitted on every entry's mean
    accuracy. Checked held out: fitted on the single-seed entries only, against the several-seed means,
    beside one seed against the mean of the others."""
    from mnas.search.surrogate.features import features
    from mnas.search.surrogate.model import Regressor

    archs = list(entries)
    x = np.stack([features(arch) for arch in archs])
    means = np.array([entries[arch]["mean_accuracy"] for arch in archs])
    for arch, value in zip(archs, Regressor("ridge", x, means).predict(x)):
        entries[arch]["denoised_accuracy"] = float(value)
    repeated = np.array([len(entries[a]["accuracy"]) >= 3 for a in archs])
    held_out = Regressor("ridge", x[~repeated], means[~repeated]).predict(x[repeated])
    seeds = [entries[a]["accuracy"][:3] for a, r in zip(archs, repeated) if r]
    one_seed = statistics.fmean(float(np.corrcoef([s[k] for s in seeds],
                                                  [statistics.fmean(s[:k] + s[k + 1:]) for s in seeds])[0, 1])
                                for k in range(3))
    return {"held_out_entries": int(repeated.sum()),
            "pearson_denoised_vs_mean": float(np.corrcoef(held_out, means[repeated])[0, 1]),
            "pearson_one_seed_vs_others": one_seed}


def scored_table(table: str) -> ScoredTable:
    header, entries = load_table(table)
    reward = objective("soft", 1.0, SearchConfig().w)
    for entry in entries.values():
        entry["mean_accuracy"] = statistics.fmean(entry["accuracy"])
        entry["mean_ratio"] = statistics.median(entry["latency_ratio"])
        entry["mean_reward"] = reward(entry["mean_accuracy"], entry["mean_ratio"])
    denoising = denoise(entries)
    for entry in entries.values():
        entry["denoised_reward"] = reward(entry["denoised_accuracy"], entry["mean_ratio"])
    optimum_arch = max(entries, key=lambda arch: entries[arch]["mean_reward"])
    denoised_arch = max(entries, key=lambda arch: entries[arch]["denoised_reward"])
    by_truth = sorted(entries[a]["denoised_reward"] for a in entries)
    denoising["table_optimum_percentile_by_truth"] = 100 * by_truth.index(entries[optimum_arch]["denoised_reward"]) / (
        len(by_truth) - 1)
    return ScoredTable(str(table), header, entries, optimum_arch, entries[optimum_arch]["mean_reward"],
                       denoised_arch, entries[denoised_arch]["denoised_reward"], denoising)


def run_seeds(table: str, sampler: str, seeds: list[int], budget: int, scratch: Path, **settings) -> list[list[dict]]:
    """The children of one search per seed, run in parallel processes; in seed order."""
    searches = {seed: benchmark_search(scratch, evaluator="table", table_file=table, sampler=sampler, seed=seed,
                                       budget_children=budget, **settings) for seed in seeds}
    return list(run_searches(searches).values())


def best_so_far(children: list[dict], entries: dict, budgets) -> dict[int, dict]:
    """Per budget: the child of highest *logged* reward among the first `budget` (what the search
    would answer), scored by the table's mean figures (`scored_table`)."""
    result = {}
    for budget in budgets:
        entry = entries[max(children[:budget], key=lambda r: r["reward"])["arch"]]
        result[budget] = {"accuracy": entry["mean_accuracy"], "reward": entry["mean_reward"],
                          "denoised_accuracy": entry["denoised_accuracy"], "denoised_reward": entry["denoised_reward"]}
    return result


def best_per_budget(scored: ScoredTable, sampler: str, seeds: list[int], budgets, scratch: Path,
                    **settings) -> dict[int, list[dict]]:
    """{budget: [the best child's table figures, per seed]}."""
    started = time.perf_counter()
    results = {b: [] for b in budgets}
    for children in run_seeds(scored.path, sampler, seeds, max(budgets), scratch, **settings):
        for budget, figures in best_so_far(children, scored.entries, budgets).items():
            results[budget].append(figures)
    print(f"  {sampler} {settings or ''}: {len(seeds)} seeds x {max(budgets)} children in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return results


def tuned_settings(output: Path) -> dict:
    """The best PPO settings of a previous --tune run (tuning.json), {} when there is none."""
    path = output / "tuning.json"
    if not path.is_file():
        return {}
    best = json.loads(path.read_text())["rows"][0]
    return {key: best[key] for key in TUNING_GRID}


def compare(table: str, seeds: list[int], budgets, scratch: Path, tuned: dict | None = None) -> dict:
    """Every strategy with SearchConfig's defaults, and "rl-tuned" with `tuned` PPO settings."""
    scored = scored_table(table)
    strategies = {name: (name, {}) for name in STRATEGIES}
    if tuned:
        strategies["rl-tuned"] = ("rl", tuned)
    results = {name: best_per_budget(scored, sampler, seeds, budgets, scratch, **settings)
               for name, (sampler, settings) in strategies.items()}
    rows = []
    for budget in budgets:
        for sampler in strategies:
            runs = results[sampler][budget]
            accuracy = mean_interval([r["accuracy"] for r in runs])
            rewards = [r["reward"] for r in runs]
            regret = mean_interval([scored.optimum - r for r in rewards])
            truth = [r["denoised_reward"] for r in runs]
            row = {"budget": budget, "strategy": sampler, "accuracy": accuracy,
                   "reward": mean_interval(rewards), "regret": regret,
                   "denoised_accuracy": mean_interval([r["denoised_accuracy"] for r in runs]),
                   "denoised_regret": mean_interval([scored.denoised_optimum - r for r in truth])}
            if sampler != "random":
                row["p_vs_random"] = wilcoxon_greater(rewards, [r["reward"] for r in results["random"][budget]])
                row["p_vs_random_denoised"] = wilcoxon_greater(
                    truth, [r["denoised_reward"] for r in results["random"][budget]])
                row["denoised_gain_vs_random"] = mean_interval(
                    [a - b for a, b in zip(truth, (r["denoised_reward"] for r in results["random"][budget]))])
            rows.append(row)
    return {"table": scored.path, "entries": len(scored.entries), "space_size": scored.header["space_size"],
            "seeds": seeds, "optimum": {"arch": scored.optimum_arch, "reward": scored.optimum},
            "denoised_optimum": {"arch": scored.denoised_optimum_arch, "reward": scored.denoised_optimum},
            "denoising": scored.denoising, "rows": rows}


def constraint_histogram(table: str, scratch: Path, path: Path, budget: int = 500, seed: int = 0) -> dict:
    """Sampled children's paired latency under soft (w=-0.07), stronger soft (w=-0.3) and hard rewards."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rules = {"soft, w = -0.07": dict(constraint="soft", w=-0.07), "soft, w = -0.3": dict(constraint="soft", w=-0.3),
             "hard (T)": dict(constraint="hard")}
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    runs = run_searches({name: benchmark_search(scratch, evaluator="table", table_file=table, seed=seed,
                                                budget_children=budget, **rule) for name, rule in rules.items()})
    latencies = {name: [r["latency_ratio"] for r in children[budget // 2:]]  # the learned half
                 for name, children in runs.items()}
    for name, values in latencies.items():
        ax.hist(values, bins=30, histtype="step", linewidth=2, label=name)
    ax.axvline(1.0, color="0.3", linestyle="--", label="T (the B1 skeleton)")
    ax.set_xlabel("paired latency of sampled children (x T), children {}-{}".format(budget // 2, budget))
    ax.set_ylabel("children")
    ax.set_title("soft vs hard constraint: where the controller samples (table mode)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {name: {"median": statistics.median(v),
                   "share_within_10pct_of_T": float(np.mean(np.abs(np.array(v) - 1) <= 0.1))}
            for name, v in latencies.items()}


def plot_regret(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for sampler in dict.fromkeys(r["strategy"] for r in result["rows"]):
        rows = [r for r in result["rows"] if r["strategy"] == sampler]
        budgets = [r["budget"] for r in rows]
        mean = [r["regret"][0] for r in rows]
        ax.fill_between(budgets, [r["regret"][1] for r in rows], [r["regret"][2] for r in rows], alpha=0.2)
        ax.plot(budgets, mean, "o-", label=sampler)
    ax.set_xscale("log")
    ax.set_xlabel("children (budget)")
    ax.set_ylabel(f"regret to the table's best reward (mean, 95 % interval, {len(result['seeds'])} seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tune(args, output: Path, scratch: Path) -> list[dict]:
    """RL's regret at the largest budget for every setting of TUNING_GRID, on seeds 1000+ (never the
    reported ones), against random search on the same seeds; best first, written to tuning.json."""
    seeds = [TUNING_SEED_OFFSET + s for s in range(args.seeds)]
    budget = max(args.budgets)
    scored = scored_table(args.table)
    random_rewards = [r["reward"] for r in best_per_budget(scored, "random", seeds, [budget], scratch)[budget]]
    rows = []
    for values in itertools.product(*TUNING_GRID.values()):
        settings = dict(zip(TUNING_GRID, values))
        rewards = [r["reward"] for r in best_per_budget(scored, "rl", seeds, [budget], scratch, **settings)[budget]]
        rows.append({**settings, "regret": mean_interval([scored.optimum - r for r in rewards]),
                     "p_vs_random": wilcoxon_greater(rewards, random_rewards)})
    rows.sort(key=lambda r: r["regret"][0])
    random_regret = mean_interval([scored.optimum - r for r in random_rewards])
    (output / "tuning.json").write_text(json.dumps({"seeds": seeds, "budget": budget, "random_regret": random_regret,
                                                    "rows": rows}, indent=1))
    print(f"tuning on seeds {seeds[0]}-{seeds[-1]}, budget {budget}; random: regret {random_regret[0]:.4f}")
    for r in rows:
        print(", ".join(f"{k} {r[k]}" for k in TUNING_GRID) + f": regret {r['regret'][0]:.4f} "
              f"({r['regret'][1]:.4f}-{r['regret'][2]:.4f}), p vs random {r['p_vs_random']:.3g}")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--table", default=str(DEFAULT_TABLE))
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--tune", action="store_true", help="grid over PPO settings on held-apart seeds")
    parser.add_argument("--output", default="bench/results/strategies")
    args = parser.parse_args(argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        if args.tune:
            tune(args, output, scratch)
            return 0
        tuned = tuned_settings(output)
        result = compare(args.table, list(range(args.seeds)), sorted(args.budgets), scratch, tuned)
        result["tuned_settings"] = tuned
        result["constraints"] = constraint_histogram(args.table, scratch, output / "constraints.png")
    plot_regret(result, output / "regret.png")
    (output / "strategies.json").write_text(json.dumps(result, indent=1))
    print(f"table: {result['entries']} of {result['space_size']} entries; "
          f"optimum reward {result['optimum']['reward']:.4f}")
    print(f"denoising: {json.dumps(result['denoising'])}")
    print("| budget | strategy | best child's accuracy (95 % CI) | reward (95 % CI) | regret | p (> random) | "
          "denoised accuracy (95 % CI) | denoised regret | p (> random, denoised) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in result["rows"]:
        p = f"{r['p_vs_random']:.3g}" if "p_vs_random" in r else ""
        q = f"{r['p_vs_random_denoised']:.3g}" if "p_vs_random_denoised" in r else ""
        d = r["denoised_accuracy"]
        print(f"| {r['budget']} | {r['strategy']} | "
              f"{r['accuracy'][0]:.4f} ({r['accuracy'][1]:.4f}-{r['accuracy'][2]:.4f}) | "
              f"{r['reward'][0]:.4f} ({r['reward'][1]:.4f}-{r['reward'][2]:.4f}) | {r['regret'][0]:.4f} | {p} | "
              f"{d[0]:.4f} ({d[1]:.4f}-{d[2]:.4f}) | {r['denoised_regret'][0]:.4f} | {q} |")
    for name, figures in result["constraints"].items():
        print(f"{name}: median latency {figures['median']:.2f} T, "
              f"{figures['share_within_10pct_of_T']:.0%} within 10 % of T")
    print(f"plots: {output / 'regret.png'}, {output / 'constraints.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
