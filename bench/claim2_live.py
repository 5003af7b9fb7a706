"""Claim 2 checked live: the answers of RL and of random search at 3,000 children, trained for real.

`bench/claims.py` scores claim 2 on the surrogate. Here the answers of its hard-constraint ONNX Runtime
searches (labels ``rl`` and ``random``, the first 8 seeds each, at 3,000 children) are trained at recipe
F (`mnas.search.recipe.RECIPE_F`) with 2 seeds each; each answer's live accuracy is the mean of its seeds'
validation top-1 (held-out ``train/`` images: ``test/`` is never read). Goal: RL's live mean above random's
(one-sided Mann-Whitney over the answers, p < 0.05) and the surrogate's predicted gap inside the live
gap's 95 % bootstrap interval.

Resumable: every training appends a line to ``trainings.jsonl``; ``claim2_live.json`` is derived.

    python bench/claim2_live.py [--workers 2]        # 32 recipe-F trainings
    python bench/claim2_live.py --fast --claims /tmp/claims --output /tmp/claim2   # minutes
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from claim_curves import FAST_RECIPE, claim_arguments, run_trainings  # bench/, beside this file
from claims import Scorer

from mnas.search.log import ChildLog
from mnas.search.recipe import RECIPE_F
from mnas.utils.stats import mann_whitney_greater

STRATEGIES = ("rl", "random")


@dataclasses.dataclass(frozen=True)
class Plan:
    budget: int = 3000     # the answers' budget (a --fast claims run: its largest)
    searches: int = 8      # per strategy, its first seeds
    seeds: int = 2         # trainings per answer
    resamples: int = 2000


FAST_PLAN = Plan(searches=2, seeds=1, resamples=200)


def answers(searches: list[dict], plan: Plan) -> dict[str, list[dict]]:
    """Per strategy, its first `plan.searches` hard ONNX searches' answers at the budget."""
    found = {}
    for label in STRATEGIES:
        runs = sorted((r for r in searches if r.get("claim") == "strategies" and r.get("label") == label),
                      key=lambda r: r["seed"])[:plan.searches]
        if len(runs) < plan.searches:
            raise ValueError(f"claim 2 live needs {plan.searches} '{label}' searches of bench/claims.py, found "
                             f"{len(runs)}: run 'python bench/claims.py --claims strategies' first")
        budgets = sorted(int(b) for b in runs[0]["answers"])
        budget = plan.budget if plan.budget in budgets else max(b for b in budgets if b <= plan.budget)
        found[label] = [{"seed": r["seed"], "budget": budget, "arch": r["answers"][str(budget)]["best_logged"]}
                        for r in runs]
    return found


def gap_interval(a: np.ndarray, b: np.ndarray, resamples: int, seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of mean(a) - mean(b), each group resampled on its own."""
    generator = np.random.default_rng(seed)
    gaps = [generator.choice(a, a.size).mean() - generator.choice(b, b.size).mean() for _ in range(resamples)]
    low, high = np.percentile(gaps, [2.5, 97.5])
    return float(low), float(high)


def main(argv=None) -> int:
    args = claim_arguments(__doc__.split("\n")[0], "live", argv)
    plan, recipe = (FAST_PLAN, FAST_RECIPE) if args.fast else (Plan(), RECIPE_F)
    data_root, output = args.data, args.output
    chosen = answers(ChildLog(Path(args.claims) / "searches.jsonl").read(), plan)
    jobs = [(f"{label} search {a['seed']}", a["arch"], seed) for label in STRATEGIES for a in chosen[label]
            for seed in range(plan.seeds)]
    records = run_trainings(jobs, ChildLog(output / "trainings.jsonl"), data_root, recipe, args.workers,
                            test=False, label="claim2")
    scorer = Scorer(args.surrogate)
    live, predicted = {}, {}
    for label in STRATEGIES:
        live[label] = np.array([statistics.fmean(r["val_accuracy"] for r in records
                                                 if r["name"] == f"{label} search {a['seed']}") for a in chosen[label]])
        predicted[label] = np.array([f["surrogate_accuracy"] for f in scorer.figures([a["arch"] for a in chosen[label]],
                                                                                     "onnxruntime")])
    gap = float(live["rl"].mean() - live["random"].mean())
    low, high = gap_interval(live["rl"], live["random"], plan.resamples)
    predicted_gap = float(predicted["rl"].mean() - predicted["random"].mean())
    p = mann_whitney_greater(live["rl"], live["random"])
    result = {"fast": args.fast, "recipe": dataclasses.asdict(recipe), "plan": dataclasses.asdict(plan),
              "answers": chosen, "live_accuracy": {k: v.tolist() for k, v in live.items()},
              "predicted_accuracy": {k: v.tolist() for k, v in predicted.items()},
              "live_gap_points": 100 * gap, "live_gap_interval_points": [100 * low, 100 * high],
              "predicted_gap_points": 100 * predicted_gap, "p_rl_greater": p,
              "goals": {"rl_live_mean_above_random_p<0.05": bool(gap > 0 and p < 0.05),
                        "predicted_gap_inside_live_interval": bool(low <= predicted_gap <= high)}}
    (output / "claim2_live.json").write_text(json.dumps(result, indent=1))
    print(f"RL minus random, live recipe-F accuracy of the answers: {100 * gap:+.2f} points ({100 * low:+.2f} to "
          f"{100 * high:+.2f}; Mann-Whitney p = {p:.3g}); the surrogate predicted {100 * predicted_gap:+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
