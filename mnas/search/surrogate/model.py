"""The surrogate: recipe-F accuracy and paired latency of any network of the space, fitted on the build.

NAS-Bench-301's recipe at our scale: regressors on `features.features` of the measured architectures
(random and trajectory ones), refitted deterministically from the shipped measurements on load (no
pickles: the measurements are the model).  The accuracy model is the ensemble (the mean of ridge and
gradient boosting), chosen by 5-fold cross-validated Spearman on the first hundred networks (the best
kind at n = 100 of the learning curve) and then fixed before stage B, so stage B's held-out figures
judge a model chosen without them; ridge alone is ahead at n = 300-400 by 0.005-0.015 and is not
switched to after the fact.  The seed noise is measured, not guessed: the pooled within-architecture
standard deviation of the architectures trained with several seeds, so a lookup draws a realistic
noisy accuracy around the prediction.
Latency has one model per engine (ONNX Runtime, torch): the measured paired ratio as a non-negative sum
of per-operator costs over `features.latency_features` (`AdditiveLatency`).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Sequence

import numpy as np

from mnas.search.surrogate.features import features, latency_features

ACCURACY_MODELS = ("ridge", "boosting", "ensemble")
FIT_ROLES = ("random", "trajectory")


def _import_sklearn():
    try:
        import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime that _one_thread must see)
    except ImportError as error:  # an optional dependency: the surrogate only
        raise ImportError("the surrogate needs scikit-learn: pip install 'mnasnet-ikomia[surrogate]' "
                          "(or scikit-learn>=1.3)") from error


_THREADPOOLS = None


def _one_thread():
    """A context limiting BLAS and OpenMP to one thread: hundreds of rows gain nothing from threads, and
    on a shared machine they wait for each other (a boosting fit 15x slower with the other core busy).
    threadpoolctl's controller scans the loaded libraries (about 2 ms), so it is built once."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _import_sklearn()
        from threadpoolctl import ThreadpoolController

        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1)


@dataclasses.dataclass(frozen=True)
class Measured:
    """One architecture of the build: every seed's recipe-F accuracy and its paired latency per engine."""

    arch: str
    role: str
    index: int
    accuracies: tuple[float, ...]
    latency: dict          # engine -> paired ratio to the B1 skeleton
    family: str | None = None
    width: float | None = None
    stage: str = "A"       # the build stage that measured it first

    @property
    def accuracy(self) -> float:
        return statistics.fmean(self.accuracies)


def measured_architectures(runs: Sequence[dict]) -> list[Measured]:
    """Group the build's runs (one per training) by architecture, in the order first measured."""
    grouped: dict[str, dict] = {}
    for run in runs:
        entry = grouped.setdefault(run["arch"], {"run": run, "accuracies": [], "latency": {}})
        entry["accuracies"].append(float(run["accuracy"]))
        for engine, timed in run.get("latency", {}).items():
            entry["latency"][engine] = float(timed["ratio"])
    return [Measured(arch, e["run"]["role"], e["run"]["index"], tuple(e["accuracies"]), e["latency"],
                     e["run"].get("family"), e["run"].get("width"), e["run"].get("stage", "A"))
            for arch, e in grouped.items()]


def seed_noise(architectures: Sequence[Measured]) -> dict:
    """Pooled within-architecture SD of accuracy over those with several seeds, and the one-seed
    intraclass correlation (between-architecture variance over the total), one-way ANOVA."""
    repeated = [a.accuracies for a in architectures if len(a.accuracies) > 1]
    if not repeated:
        return {"architectures": 0, "seed_sd": float("nan"), "icc_one_seed": float("nan")}
    within = sum(sum((x - statistics.fmean(r)) ** 2 for x in r) for r in repeated)
    within_df = sum(len(r) - 1 for r in repeated)
    seed_variance = within / within_df
    seeds = statistics.fmean(len(r) for r in repeated)
    between = statistics.variance([statistics.fmean(r) for r in repeated]) if len(repeated) > 1 else float("nan")
    true_variance = max(0.0, between - seed_variance / seeds)
    return {"architectures": len(repeated), "seed_sd": math.sqrt(seed_variance),
            "icc_one_seed": true_variance / (true_variance + seed_variance) if true_variance + seed_variance else 0.0}


def _regressor(kind: str, seed: int = 0):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "ridge":
        return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 25)))
    if kind == "boosting":  # small leaves and a slow rate: hundreds of rows, not tens of thousands
        return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, max_leaf_nodes=8,
                                             min_samples_leaf=8, l2_regularization=1.0, random_state=seed)
    raise ValueError(f"surrogate model {kind!r}: expected one of {', '.join(ACCURACY_MODELS)}")


class Regressor:
    """ridge, boosting, or their mean (ensemble), fitted on a feature matrix."""

    def __init__(self, kind: str, x: np.ndarray, y: np.ndarray):
        if kind not in ACCURACY_MODELS:
            raise ValueError(f"surrogate model {kind!r}: expected one of {', '.join(ACCURACY_MODELS)}")
        self.kind = kind
        parts = ("ridge", "boosting") if kind == "ensemble" else (kind,)
        with _one_thread():
            self.models = [_regressor(part).fit(x, y) for part in parts]

    def predict(self, x: np.ndarray) -> np.ndarray:
        with _one_thread():
            return np.mean([model.predict(x) for model in self.models], axis=0)


class AdditiveLatency:
    """A paired latency ratio as a non-negative weighted sum of operator counts and work (plus a constant):
    every operator costs time, none saves it.  Columns are scaled to unit spread so one weight does not
    dwarf another only through its unit (counts against MACs)."""

    kind = "additive"

    def __init__(self, x: np.ndarray, y: np.ndarray):
        with _one_thread():
            from sklearn.linear_model import LinearRegression

            self.scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
            self.model = LinearRegression(positive=True).fit(x / self.scale, y)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x / self.scale)


def cross_validated(kind: str, x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold predictions: every row predicted by a model (`kind`: an accuracy model, or "additive"
    for latency) that never saw it."""
    order = np.random.default_rng(seed).permutation(len(y))
    predictions = np.empty(len(y))
    for fold in np.array_split(order, folds):
        train = np.setdiff1d(order, fold)
        model = AdditiveLatency(x[train], y[train]) if kind == "additive" else Regressor(kind, x[train], y[train])
        predictions[fold] = model.predict(x[fold])
    return predictions


class Surrogate:
    """Predicted recipe-F accuracy (noise-free, or one seed's noisy draw) and paired latency per engine."""

    def __init__(self, architectures: Sequence[Measured], kind: str = "ensemble",
                 engines: Sequence[str] = ("onnxruntime", "torch")):
        fit = [a for a in architectures if a.role in FIT_ROLES]
        if len(fit) < 10:
            raise ValueError(f"the surrogate needs at least 10 measured architectures of the space, got {len(fit)}")
        x = np.stack([features(a.arch) for a in fit])
        self.kind, self.fitted_on = kind, len(fit)
        self.accuracy_model = Regressor(kind, x, np.array([a.accuracy for a in fit]))
        self.noise = seed_noise(architectures)
        self.latency_models = {}
        for engine in engines:
            timed = [a for a in fit if engine in a.latency]
            if len(timed) >= 10:
                self.latency_models[engine] = AdditiveLatency(np.stack([latency_features(a.arch) for a in timed]),
                                                              np.array([a.latency[engine] for a in timed]))

    def accuracy(self, archs: Sequence[str]) -> np.ndarray:
        return self.accuracy_model.predict(np.stack([features(a) for a in archs]))

    def seed_draw(self, accuracy: float, seed: int) -> float:
        """One seed's accuracy around a predicted `accuracy`: the measured seed noise, drawn from `seed`."""
        noise = np.random.default_rng([seed, 7919]).normal(0.0, self.noise["seed_sd"])
        return float(min(1.0, max(0.0, accuracy + noise)))

    def latency_ratio(self, archs: Sequence[str], engine: str) -> np.ndarray:
        if engine not in self.latency_models:
            raise ValueError(f"latency engine {engine!r}: the surrogate has models for "
                             f"{', '.join(self.latency_models) or 'none'}")
        # a ratio is positive; the fitted sum is only non-negative in its weights, so floor it
        predicted = self.latency_models[engine].predict(np.stack([latency_features(a) for a in archs]))
        return np.maximum(predicted, 1e-3)
