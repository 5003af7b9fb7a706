"""Claim 1 tested at recipe F: is the platform-aware search's answer on or above MobileNetV2's and
MnasNet-B1's accuracy-latency curves? (Not a test; `bench/claims.py` runs the searches it starts from.)

1. Answers: the hard-constraint ONNX Runtime RL searches of `bench/claims.py` (label ``rl``, T = the B1
   skeleton, every seed, at their largest budget), each one's answer (the child of highest logged reward);
   the top 3 distinct ones by the surrogate's noise-free reward (never by test). The two families (4.)
   train first, since they need no search.
2. Each retrained at recipe F (`mnas.search.recipe.RECIPE_F`: stratified ``train/`` images, validation on
   other ``train/`` images) with 5 seeds; the winner: the highest mean validation top-1.
3. The winner scaled by width as the paper scaled MnasNet-A1: its channels x0.7 and x1.5 (the search
   space is B1 x0.5, so these stand at x0.35 and x0.75 of B1's scale; the 1x1 head keeps its width),
   3 seeds each.
4. MobileNetV2 and B1 at widths 0.35 / 0.5 / 0.75 / 1.0 (`mnas.search.references`), 3 seeds each,
   trained identically.
5. Every trained model tested once on every ``test/`` image; every architecture timed once by the
   search's paired meter (ONNX Runtime, 1 thread, against the B1 skeleton).
6. Margins: each of the winner's widths against each family's curve (mean over seeds per width, linear
   in log latency; no extrapolation: a latency outside a curve's range is reported as such), with a 95 %
   bootstrap over seeds within each model and over test images (the same images for every model).
   Verdicts: against MobileNetV2, "above" when the lower bound is > 0; against B1 (itself a searched
   model, and the skeleton of the space), "above" when > 0 and "on" when >= -1 point.

Resumable: every training appends a line to ``trainings.jsonl`` (fsync; its test correctness packed as
bits), every timing one to ``latency.jsonl``; ``claim1.json`` and ``claim1_curves.png`` are derived.

    python bench/claim_curves.py                       # 45 recipe-F trainings: hours on 2 cores
    python bench/claim_curves.py --workers 2
    python bench/claim_curves.py --references-only     # the two families' 24 trainings, before any search
    python bench/claim_curves.py --fast --claims /tmp/claims --output /tmp/claim1   # minutes
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mnas.arch import format_arch, parse_arch
from mnas.data.cifar10 import cifar10_root
from mnas.data.decode import load_split
from mnas.data.folders import find_dataset_splits
from mnas.models import count_macs, count_params, create_model, round_filters
from mnas.search.config import INPUT_SIZE
from mnas.search.log import ChildLog
from mnas.search.recipe import RECIPE_F, Recipe
from mnas.search.references import FAMILIES, REFERENCE_WIDTHS, family_arch
from mnas.search.space import SearchSpace
from mnas.search.surrogate.shipped import DEFAULT_SURROGATE
from mnas.utils.stats import interpolate_curve

FAMILY_LABELS = {"b1": "MnasNet-B1", "mobilenetv2": "MobileNetV2"}


@dataclasses.dataclass(frozen=True)
class Plan:
    answers: int = 3               # distinct answers retrained
    answer_seeds: int = 5
    scale_factors: tuple[float, ...] = (0.7, 1.5)   # x0.35 and x0.75 of B1's scale (the space is x0.5)
    scaled_seeds: int = 3
    reference_widths: tuple[float, ...] = REFERENCE_WIDTHS
    reference_seeds: int = 3
    latency_rounds: int = 20
    latency_burst: int = 10
    resamples: int = 2000


FAST_PLAN = Plan(answers=2, answer_seeds=2, scale_factors=(0.7,), scaled_seeds=2, reference_widths=(0.35, 1.0),
                 reference_seeds=2, latency_rounds=3, latency_burst=2, resamples=200)
FAST_RECIPE = Recipe("fast", epochs=1, train_images=200, val_images=100, batch_size=32, lr=0.02)


def scale_arch(arch: str, factor: float) -> str:
    """`arch` with the stem's and every block's channels times `factor` (rounded to multiples of 8), the
    last 1x1 head conv keeping its output width: how MnasNet scales a searched model by width."""
    blocks = parse_arch(arch)
    scaled, in_ch = [], blocks[0].in_ch  # the image's channels
    for n, block in enumerate(blocks):
        out_ch = block.out_ch if n == len(blocks) - 1 else round_filters(block.out_ch * factor)
        scaled.append(dataclasses.replace(block, in_ch=in_ch, out_ch=out_ch))
        in_ch = out_ch
    return format_arch(scaled)


# ------------------------------------------------------------------------------------------- the plan

def top_answers(searches: list[dict], count: int, surrogate_file: str) -> list[dict]:
    """The `count` distinct answers of the hard ONNX RL searches with the best noise-free surrogate reward."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/claims.py, beside this file
    from claims import Scorer

    runs = [r for r in searches if r.get("claim") == "strategies" and r.get("label") == "rl"]
    if not runs:
        raise ValueError("no hard-constraint RL search (claim 'strategies', label 'rl') in the searches given: "
                         "run 'python bench/claims.py --claims strategies' first")
    archs = sorted({r["answers"][str(r["budget"])]["best_logged"] for r in runs})
    scorer = Scorer(surrogate_file)
    rewards = scorer.rewards(archs)
    ranked = sorted(zip(rewards, archs), key=lambda pair: -pair[0])[:count]
    found_by = {arch: sum(r["answers"][str(r["budget"])]["best_logged"] == arch for r in runs) for _, arch in ranked}
    return [{"arch": arch, "surrogate_reward": float(reward), "seeds_answering": found_by[arch]}
            for reward, arch in ranked]


def reference_models(plan: Plan) -> list[dict]:
    return [{"name": f"{FAMILY_LABELS[family]} x{width:g}", "role": family, "width": width,
             "arch": family_arch(family, width), "seeds": plan.reference_seeds}
            for family in FAMILIES for width in plan.reference_widths]


# ------------------------------------------------------------------------------------------ trainings

_DATA = {}


def _load_data(data_root: str, recipe: Recipe):
    from mnas.search.evaluate import load_proxy_data

    key = (data_root, recipe)
    if key not in _DATA:
        splits = find_dataset_splits(data_root)
        test_dir = Path(data_root) / "test"
        if not test_dir.is_dir():
            raise ValueError(f"{data_root} has no test/ folder: claim 1 tests every model on it")
        _DATA[key] = (load_proxy_data(data_root, recipe.train_images, recipe.val_images, seed=0),
                      load_split(test_dir, classes=splits.class_names))
    return _DATA[key]


def train_and_test(name: str, arch: str, seed: int, data_root: str, recipe: Recipe, test: bool = True) -> dict:
    """One recipe-F training of `arch` (validation top-1) and, with `test`, its test correctness, one bit
    per image."""
    import torch

    from mnas.latency.meter import torch_threads
    from mnas.train.engine import evaluate, train

    data, test_set = _load_data(data_root, recipe)
    with torch_threads(1):
        torch.manual_seed(seed)
        model = create_model(arch, data.train.num_classes, INPUT_SIZE)
        result = train(model, data.train, data.val, recipe.search_config().train_config(seed))
        record = {"name": name, "arch": arch, "seed": seed, "val_accuracy": float(result.final.top1)}
        if not test:
            return record
        tested = evaluate(model, test_set, input_size=INPUT_SIZE, keep_predictions=True)
    correct = (tested.topk[:, 0] == tested.labels).numpy()
    return {**record, "test_accuracy": float(correct.mean()), "test_images": int(correct.size),
            "test_correct": base64.b64encode(np.packbits(correct).tobytes()).decode()}


def unpack_correct(record: dict) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(record["test_correct"]), dtype=np.uint8))
    return bits[:record["test_images"]].astype(bool)


def run_trainings(jobs: list[tuple[str, str, int]], log: ChildLog, data_root: str, recipe: Recipe,
                  workers: int, test: bool = True, label: str = "claim1") -> list[dict]:
    """Every (name, arch, seed) not yet in the log, trained and appended as it finishes."""
    done = {(r["name"], r["seed"]): r for r in log.read()}
    todo = [job for job in jobs if (job[0], job[2]) not in done]
    print(f"[{label}] {len(todo)} of {len(jobs)} trainings to run", flush=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(train_and_test, name, arch, seed, data_root, recipe, test) for name, arch, seed in todo]
        for number, future in enumerate(futures, 1):
            record = future.result()
            log.append(record)
            done[(record["name"], record["seed"])] = record
            tested = f", test {record['test_accuracy']:.4f}" if test else ""
            print(f"[{label}] {number}/{len(todo)} {record['name']} seed {record['seed']}: val "
                  f"{record['val_accuracy']:.4f}{tested}", flush=True)
    return [done[(name, seed)] for name, _, seed in jobs]


def time_models(models: list[dict], log: ChildLog, plan: Plan) -> dict[str, dict]:
    """Every architecture's paired latency (ONNX Runtime, 1 thread, against the B1 skeleton), once."""
    from mnas.latency.meter import PairedMeter

    timed = {r["arch"]: r for r in log.read()}
    reference = create_model(SearchSpace().skeleton_arch(), 10, INPUT_SIZE)
    meter = None
    for model in models:
        if model["arch"] in timed:
            continue
        meter = meter or PairedMeter(reference, INPUT_SIZE, engine="onnxruntime", threads=1,
                                     rounds=plan.latency_rounds, burst=plan.latency_burst)
        network = create_model(model["arch"], 10, INPUT_SIZE)
        latency = meter.measure(network)
        record = {"arch": model["arch"], "latency_ratio": latency.ratio, "latency_ms": latency.median_ms,
                  "macs": count_macs(network, INPUT_SIZE), "params": count_params(network)}
        log.append(record)
        timed[model["arch"]] = record
    return timed


# ------------------------------------------------------------------------------------------- verdicts

def margins(models: list[dict], correct: dict[str, np.ndarray], latency: dict[str, float], candidates: list[str],
            resamples: int, seed: int = 0) -> list[dict]:
    """Each candidate's accuracy minus each family's curve at its latency, with a 95 % bootstrap interval
    over seeds (within each model) and test images (the same images for every model)."""
    by_family = {f: sorted((m["name"] for m in models if m["role"] == f), key=latency.get) for f in FAMILIES}
    generator = np.random.default_rng(seed)
    images = next(iter(correct.values())).shape[1]

    def accuracies(draw: bool) -> dict[str, float]:
        """Every model's test accuracy: on all seeds and images, or on one bootstrap draw of both."""
        columns = generator.integers(0, images, images) if draw else slice(None)
        chosen = {name: generator.integers(0, len(table), len(table)) if draw else slice(None)
                  for name, table in correct.items()}
        return {name: float(table[chosen[name]][:, columns].mean()) for name, table in correct.items()}

    def margin(candidate: str, family: str, accuracy: dict[str, float]) -> float:
        curve, _ = interpolate_curve([math.log(latency[n]) for n in by_family[family]],
                                     [accuracy[n] for n in by_family[family]], math.log(latency[candidate]))
        return accuracy[candidate] - curve

    point = accuracies(draw=False)
    draws = [accuracies(draw=True) for _ in range(resamples)]
    rows = []
    for candidate in candidates:
        for family in FAMILIES:
            xs = [math.log(latency[n]) for n in by_family[family]]
            inside = xs[0] <= math.log(latency[candidate]) <= xs[-1]
            low, high = np.percentile([margin(candidate, family, a) for a in draws], [2.5, 97.5])
            rows.append({"model": candidate, "family": family, "latency_ratio": latency[candidate],
                         "inside_curve": bool(inside), "margin_points": 100 * margin(candidate, family, point),
                         "interval_points": [100 * float(low), 100 * float(high)],
                         "verdict": verdict(family, float(low), inside)})
    return rows


def verdict(family: str, low: float, inside: bool) -> str:
    if not inside:
        return "outside the curve's latency range"
    if low > 0:
        return "above"
    if family == "b1" and low >= -0.01:
        return "on"
    return "not shown above" if family == "mobilenetv2" else "below"


def plot(models: list[dict], accuracies: dict[str, list[float]], latency: dict[str, float], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for role, style in (("b1", "s-"), ("mobilenetv2", "^-"), ("winner", "o-")):
        group = sorted((m for m in models if m["role"] == role), key=lambda m: latency[m["name"]])
        if not group:
            continue
        xs = [latency[m["name"]] for m in group]
        means = [100 * np.mean(accuracies[m["name"]]) for m in group]
        spread = [100 * (np.std(accuracies[m["name"]], ddof=1) if len(accuracies[m["name"]]) > 1 else 0) for m in group]
        ax.errorbar(xs, means, yerr=spread, fmt=style, capsize=3,
                    label=FAMILY_LABELS.get(role, "the search's answer, scaled by width"))
    ax.set(xscale="log", xlabel="paired latency, x the B1 skeleton (ONNX Runtime, 1 thread)",
           ylabel="test top-1 (%), mean +- SD over seeds", title="claim 1: the answer against the families' curves")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# ------------------------------------------------------------------------------------------------ main

def claim_arguments(description: str, output: str, argv=None, references_only: bool = False) -> argparse.Namespace:
    """The options of a claim that trains for real (this script, `bench/claim2_live.py`); `output` is
    the default folder under ``bench/results/claims``, created. ``--data`` defaults to where mnas finds
    CIFAR-10 (`mnas.data.cifar10.cifar10_root`)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--claims", default=str(REPO / "bench" / "results" / "claims"),
                        help="bench/claims.py's output folder (its searches.jsonl)")
    parser.add_argument("--output", default=str(REPO / "bench" / "results" / "claims" / output))
    parser.add_argument("--data", default=None, help="CIFAR-10 folder (default: where mnas looks)")
    parser.add_argument("--surrogate", default=str(DEFAULT_SURROGATE), help="the packed surrogate the searches ran on")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--fast", action="store_true", help="a tiny recipe and plan: minutes, for a check")
    if references_only:
        parser.add_argument("--references-only", action="store_true",
                            help="train and test only MobileNetV2's and B1's widths (they need no search)")
    args = parser.parse_args(argv)
    args.data = args.data or str(cifar10_root())
    args.output = Path(args.output)
    args.output.mkdir(parents=True, exist_ok=True)
    return args


def main(argv=None) -> int:
    args = claim_arguments(__doc__.split("\n")[0], "curves", argv, references_only=True)
    plan, recipe = (FAST_PLAN, FAST_RECIPE) if args.fast else (Plan(), RECIPE_F)
    data_root, output = args.data, args.output
    trainings = ChildLog(output / "trainings.jsonl")
    # stage 0: the two families, which depend on no search
    families = reference_models(plan)
    run_trainings([(m["name"], m["arch"], s) for m in families for s in range(m["seeds"])],
                  trainings, data_root, recipe, args.workers)
    if args.references_only:
        return 0
    searches = ChildLog(Path(args.claims) / "searches.jsonl").read()
    answers = top_answers(searches, plan.answers, args.surrogate)

    # stage 1: the answers, the winner chosen on validation
    named = [{"name": f"answer {n + 1}", "role": "answer", **a} for n, a in enumerate(answers)]
    done = run_trainings([(a["name"], a["arch"], s) for a in named for s in range(plan.answer_seeds)],
                         trainings, data_root, recipe, args.workers)
    validation = {a["name"]: np.mean([r["val_accuracy"] for r in done if r["name"] == a["name"]]) for a in named}
    winner = max(named, key=lambda a: validation[a["name"]])
    # stage 2: the winner by width, the two families
    models = [{"name": "answer x1", "role": "winner", "factor": 1.0, "arch": winner["arch"],
               "seeds": plan.answer_seeds, "same_as": winner["name"]}]
    models += [{"name": f"answer x{factor:g}", "role": "winner", "factor": factor,
                "arch": scale_arch(winner["arch"], factor), "seeds": plan.scaled_seeds}
               for factor in plan.scale_factors]
    models += families
    jobs = [(m["name"], m["arch"], s) for m in models[1:] for s in range(m["seeds"])]
    records = run_trainings(jobs, trainings, data_root, recipe, args.workers)
    records += [r for r in done if r["name"] == winner["name"]]
    timed = time_models(named + models, ChildLog(output / "latency.jsonl"), plan)

    def own(model):  # the winner at x1 is the winning answer's own trainings
        return [r for r in records if r["name"] == model.get("same_as", model["name"])]

    correct = {m["name"]: np.stack([unpack_correct(r) for r in own(m)]) for m in models}
    accuracies = {m["name"]: [r["test_accuracy"] for r in own(m)] for m in models}
    latency = {m["name"]: timed[m["arch"]]["latency_ratio"] for m in models}
    rows = margins(models, correct, latency, [m["name"] for m in models if m["role"] == "winner"],
                   plan.resamples)
    result = {"fast": args.fast, "recipe": dataclasses.asdict(recipe), "plan": dataclasses.asdict(plan),
              "test_images": int(next(iter(correct.values())).shape[1]),
              "answers": [{**a, "val_accuracy_mean": float(validation[a["name"]])} for a in named],
              "winner": winner["name"],
              "models": [{**m, "test_accuracy": accuracies[m["name"]], "latency_ratio": latency[m["name"]],
                          "macs": timed[m["arch"]]["macs"], "params": timed[m["arch"]]["params"]} for m in models],
              "margins": rows}
    (output / "claim1.json").write_text(json.dumps(result, indent=1, default=float))
    plot(models, accuracies, latency, output / "claim1_curves.png")
    for row in rows:
        low, high = row["interval_points"]
        print(f"{row['model']} vs {FAMILY_LABELS[row['family']]}: {row['margin_points']:+.2f} points "
              f"({low:+.2f} to {high:+.2f}) at {row['latency_ratio']:.2f}x: {row['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
