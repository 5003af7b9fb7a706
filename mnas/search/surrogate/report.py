"""How good the surrogate is, from the build's own measurements: ``python -m mnas surrogate report``.

Every quality figure is held out: cross-validated (5 folds, predictions of rows the model never saw).
Written to ``report.json`` in the build folder (docs render from it) with ``learning_curve.png`` and
``references.png`` beside it:

- the learning curve: out-of-fold Spearman and R^2 of each model kind at n = 100, 200, 300, 400 (and
  the sizes below 100 the build has reached), on the first n random architectures in build order;
- the go / no-go of stage A: Spearman at n = 400 >= 0.45 and still rising from n = 200;
- the seed noise: pooled seed SD and the one-seed intraclass correlation over the three-seed entries;
  on them, Pearson of the out-of-fold surrogate against the mean of the seeds beside Pearson of one
  seed against the mean of the other two;
- the latency models' out-of-fold Spearman per engine;
- stage B judged by the stage-A surrogate (never fitted on it): Spearman, R^2 and bias on stage B's
  random and trajectory networks, the latency models' Spearman there, trajectory minus random;
- B1's and MobileNetV2's curves at recipe F: per width, the mean over seeds with a 95 % t-interval,
  against the paired ONNX Runtime latency;
- the build's CPU-hours and machines;
- the acceptance figures, each with its goal (`mnas.search.surrogate.acceptance`).
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import numpy as np

from mnas.latency.meter import spearman
from mnas.search.log import ChildLog
from mnas.search.surrogate.acceptance import acceptance
from mnas.search.surrogate.build import BUILD_FILE, RUNS_LOG
from mnas.search.surrogate.features import features, latency_features
from mnas.search.surrogate.model import (
    ACCURACY_MODELS,
    Measured,
    Regressor,
    Surrogate,
    cross_validated,
    measured_architectures,
    seed_noise,
)
from mnas.utils.fileio import atomic_write_text

CURVE_SIZES = (25, 50, 100, 200, 300, 400, 800)
GO_SIZE, GO_SPEARMAN, GO_RISING_FROM = 400, 0.45, 200
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def _r2(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(1 - np.sum((y - predicted) ** 2) / np.sum((y - y.mean()) ** 2))


def learning_curve(randoms: list[Measured]) -> list[dict]:
    x = np.stack([features(a.arch) for a in randoms]) if randoms else np.zeros((0, 0))
    y = np.array([a.accuracy for a in randoms])
    rows = []
    for n in [s for s in CURVE_SIZES if s <= len(randoms)] or ([len(randoms)] if len(randoms) >= 15 else []):
        row = {"n": n}
        for kind in ACCURACY_MODELS:
            predicted = cross_validated(kind, x[:n], y[:n])
            row[kind] = {"spearman": spearman(predicted, y[:n]), "r2": _r2(y[:n], predicted)}
        rows.append(row)
    return rows


def go_no_go(curve: list[dict], measured: int, kind: str = "ensemble") -> dict:
    by_n = {row["n"]: row[kind]["spearman"] for row in curve}
    if GO_SIZE not in by_n:
        return {"decided": False, "reason": f"stage A has {measured} of the {GO_SIZE} random architectures "
                                             "the decision needs"}
    rising = by_n[GO_SIZE] > by_n.get(GO_RISING_FROM, -1.0)
    go = by_n[GO_SIZE] >= GO_SPEARMAN and rising
    reason = (f"{'go' if go else 'no-go'}: cross-validated Spearman {by_n[GO_SIZE]:.2f} at n = {GO_SIZE} "
              f"({'>=' if by_n[GO_SIZE] >= GO_SPEARMAN else '<'} {GO_SPEARMAN}), "
              f"{'rising' if rising else 'not rising'} from {by_n.get(GO_RISING_FROM, float('nan')):.2f} "
              f"at n = {GO_RISING_FROM}")
    return {"decided": True, "go": go, "spearman": by_n[GO_SIZE], "rising": rising, "reason": reason}


def three_seed_check(architectures: list[Measured], randoms: list[Measured]) -> dict:
    """On the architectures with 3+ seeds: the out-of-fold surrogate (fitted without them) against their
    mean, beside one seed against the mean of the others."""
    repeated = [a for a in randoms if len(a.accuracies) >= 3]
    others = [a for a in randoms if len(a.accuracies) < 3]
    if len(repeated) < 5 or len(others) < 15:
        return {"architectures": len(repeated)}
    model = Regressor("ensemble", np.stack([features(a.arch) for a in others]), np.array([a.accuracy for a in others]))
    predicted = model.predict(np.stack([features(a.arch) for a in repeated]))
    means = np.array([a.accuracy for a in repeated])
    one_seed = [float(np.corrcoef([a.accuracies[s] for a in repeated],
                                  [statistics.fmean(a.accuracies[:s] + a.accuracies[s + 1:]) for a in repeated])[0, 1])
                for s in range(3)]
    return {"architectures": len(repeated), "pearson_surrogate_vs_mean": float(np.corrcoef(predicted, means)[0, 1]),
            "pearson_one_seed_vs_others": statistics.fmean(one_seed),
            "surrogate_bias": float(np.mean(predicted - means))}


def stage_b_held_out(architectures: list[Measured]) -> dict:
    """Stage B judged by the stage-A surrogate (fitted on stage A only, as shipped before stage B): per
    role, Spearman, R^2 and mean bias (predicted - measured, first seed's build accuracy) of the accuracy,
    the latency models' Spearman per engine; and the trajectory networks' mean measured accuracy against
    stage B's random ones (Welch 95 % interval of the difference)."""
    stage_a = [a for a in architectures if a.stage == "A"]
    stage_b = {role: [a for a in architectures if a.stage == "B" and a.role == role]
               for role in ("random", "trajectory")}
    if not any(stage_b.values()):
        return {}
    surrogate = Surrogate(stage_a)
    result = {"fitted_on": surrogate.fitted_on}
    for role, held in stage_b.items():
        if len(held) < 3:
            result[role] = {"architectures": len(held)}
            continue
        measured = np.array([a.accuracy for a in held])
        predicted = surrogate.accuracy([a.arch for a in held])
        figures = {"architectures": len(held), "spearman": spearman(predicted, measured),
                   "r2": _r2(measured, predicted), "mean_measured": float(measured.mean()),
                   "mean_predicted": float(predicted.mean()), "bias": float(np.mean(predicted - measured))}
        for engine in surrogate.latency_models:
            timed = [a for a in held if engine in a.latency]
            if len(timed) >= 3:
                figures[f"{engine}_latency_spearman"] = spearman(
                    surrogate.latency_ratio([a.arch for a in timed], engine), [a.latency[engine] for a in timed])
        result[role] = figures
    if all("mean_measured" in result[role] for role in stage_b):
        result["trajectory_minus_random"] = welch_interval([a.accuracy for a in stage_b["trajectory"]],
                                                           [a.accuracy for a in stage_b["random"]])
    return result


def welch_interval(a, b) -> list[float]:
    """Mean of `a` minus mean of `b` and its Welch 95 % interval (normal quantile: both samples are large)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    difference = float(a.mean() - b.mean())
    half = 1.96 * math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return [difference, difference - half, difference + half]


def latency_quality(randoms: list[Measured]) -> dict:
    result = {}
    for engine in ("onnxruntime", "torch"):
        timed = [a for a in randoms if engine in a.latency]
        if len(timed) < 15:
            continue
        x = np.stack([latency_features(a.arch) for a in timed])
        y = np.array([a.latency[engine] for a in timed])
        result[engine] = {"architectures": len(timed), "model": "additive",
                          "spearman": spearman(cross_validated("additive", x, y), y)}
    return result


def reference_curves(architectures: list[Measured]) -> dict:
    curves: dict[str, list[dict]] = {}
    for a in sorted((a for a in architectures if a.role == "reference"), key=lambda a: (a.family, a.width)):
        seeds = len(a.accuracies)
        half = (T_975.get(seeds - 1, 1.96) * statistics.stdev(a.accuracies) / math.sqrt(seeds)) if seeds > 1 else None
        curves.setdefault(a.family, []).append({
            "width": a.width, "seeds": seeds, "accuracy": a.accuracy,
            "interval": None if half is None else [a.accuracy - half, a.accuracy + half],
            "latency_ratio": a.latency.get("onnxruntime"), "torch_latency_ratio": a.latency.get("torch")})
    return curves


def report(folder: str | Path) -> dict:
    """Measure the build in `folder` (`figures`) and write ``report.json`` and the pictures beside it."""
    folder = Path(folder)
    runs = ChildLog(folder / RUNS_LOG).read()
    result = figures(folder, runs)
    atomic_write_text(folder / "report.json", json.dumps(result, indent=2))
    _plot(folder, result, _randoms(measured_architectures(runs)))
    return result


def _randoms(architectures: list[Measured]) -> list[Measured]:
    """The random networks in build order (the learning curve's first n are the first measured)."""
    return sorted((a for a in architectures if a.role == "random"), key=lambda a: a.index)


def figures(folder: str | Path, runs: list[dict] | None = None) -> dict:
    """Every figure of the report (and the acceptance it leads to) of the build in `folder`, from `runs`
    (default: its whole log); writes nothing."""
    folder = Path(folder)
    runs = ChildLog(folder / RUNS_LOG).read() if runs is None else runs
    build = json.loads((folder / BUILD_FILE).read_text(encoding="utf-8"))
    architectures = measured_architectures(runs)
    randoms = _randoms(architectures)
    curve = learning_curve(randoms)
    result = {
        "trainings": len(runs), "architectures": len(architectures), "random_architectures": len(randoms),
        "cpu_hours": sum(r["train_seconds"] for r in runs) / 3600,
        "machines": sorted({s["cpu"] for s in build["sessions"]}), "sessions": len(build["sessions"]),
        "recipe": build["recipe"], "learning_curve": curve, "go_no_go": go_no_go(curve, len(randoms)),
        "seed_noise": seed_noise([a for a in architectures if a.role != "reference"]),
        "three_seed_check": three_seed_check(architectures, randoms),
        "latency_models": latency_quality(randoms), "reference_curves": reference_curves(architectures),
        "stage_b_held_out": stage_b_held_out(architectures)}
    result["acceptance"] = acceptance(result)
    return result


def _plot(folder: Path, result: dict, randoms: list[Measured]) -> None:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left as it is

    from mnas.utils.fileio import atomic_path

    if result["learning_curve"]:
        figure = Figure(figsize=(5, 3.5))
        axis = figure.subplots()
        curve = result["learning_curve"]
        for kind in ACCURACY_MODELS:
            axis.plot([r["n"] for r in curve], [r[kind]["spearman"] for r in curve],
                      marker="o", label=kind)
        axis.axhline(GO_SPEARMAN, color="grey", linestyle="--", linewidth=1, label="go threshold at n = 400")
        axis.set(xlabel="random architectures fitted (5-fold CV)", ylabel="Spearman, out of fold",
                 title="Surrogate learning curve (recipe F)")
        axis.legend(fontsize=8)
        figure.tight_layout()
        with atomic_path(folder / "learning_curve.png") as path:
            figure.savefig(path, format="png", dpi=120)
    figure = Figure(figsize=(5.5, 4))
    axis = figure.subplots()
    timed = [a for a in randoms if "onnxruntime" in a.latency]
    axis.scatter([a.latency["onnxruntime"] for a in timed], [100 * a.accuracy for a in timed], s=8, color="0.6",
                 label="random architectures")
    for family, points in result["reference_curves"].items():
        points = [p for p in points if p["latency_ratio"]]
        axis.errorbar([p["latency_ratio"] for p in points], [100 * p["accuracy"] for p in points],
                      yerr=[[100 * (p["accuracy"] - p["interval"][0]) if p["interval"] else 0 for p in points],
                            [100 * (p["interval"][1] - p["accuracy"]) if p["interval"] else 0 for p in points]],
                      marker="o", capsize=3,
                      label={"b1": "MnasNet-B1", "mobilenetv2": "MobileNetV2"}.get(family, family))
    axis.set(xscale="log", xlabel="paired latency, x the B1 skeleton (ONNX Runtime, 1 thread)",
             ylabel="top-1 at recipe F (%)", title="Recipe F: references and random architectures")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(folder / "references.png") as path:
        figure.savefig(path, format="png", dpi=120)
