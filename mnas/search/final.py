"""Did the search help?  The fair final comparison of a search's answer with MnasNet-B1's curve.

A proxy (a few hundred steps on a small subset) only ranks children, and the best of many noisy proxy
rewards is biased upward (the winner's curse).  So, as the paper did with its top models:

1. the top-k children by proxy reward are retrained at the final fidelity, and the winner is chosen on
   the final training's *validation* split, never on test;
2. the B1 skeleton is trained identically at >= 3 widths spanning the finalists' latencies: B1's
   accuracy-latency curve, not one draw at one width;
3. every model is tested on the same test images, and timed by the search's own paired meter;
4. the verdict compares the winner with B1's curve interpolated at the winner's paired latency, with a
   95 % bootstrap interval over the test images (resampled jointly, so the comparison stays paired),
   and an exact McNemar test against the nearest B1 width.

The interval covers test-set sampling only, not training-seed noise (one seed per model).

Training and testing are callbacks, so one comparison serves the core (`mnas.train.engine` on a folder) and
the Ikomia pipeline (``train_mnasnet`` and ``infer_mnasnet`` tasks).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import numpy as np

from mnas.data.folders import files_by_class
from mnas.latency.meter import PairedMeter
from mnas.models import count_macs, count_params, create_model
from mnas.search.config import INPUT_SIZE
from mnas.search.space import SearchSpace
from mnas.utils.fileio import atomic_path, atomic_write_text
from mnas.utils.progress import Progress
from mnas.utils.stats import bootstrap_interval, interpolate_curve, mcnemar_exact

# (name, architecture string) -> {"model_file": path, "val_accuracy": final validation top-1}
Trainer = Callable[[str, str], dict]
# model file -> one bool per test image, in one fixed order of images for every model
Tester = Callable[[str], np.ndarray]


def choose_finalists(children: list[dict], top_k: int) -> list[dict]:
    """The `top_k` children of highest proxy reward, one per distinct architecture."""
    finalists, seen = [], set()
    for record in sorted(children, key=lambda r: -r["reward"]):
        if record["arch"] not in seen:
            finalists.append(record)
            seen.add(record["arch"])
        if len(finalists) == top_k:
            break
    return finalists


def choose_b1_widths(baselines: list[dict], ratios: list[float], minimum: int = 3) -> list[float]:
    """B1 widths (of the search's proxy baselines) whose latency brackets `ratios`: the widest one at
    or below the fastest finalist, the narrowest at or above the slowest, those between, and the
    nearest others until there are `minimum`."""
    ordered = sorted(baselines, key=lambda r: r["latency_ratio"])
    if not ordered:
        raise ValueError("no B1 baselines to compare with: the search's baseline_widths is empty")
    low, high = min(ratios), max(ratios)
    below = [r for r in ordered if r["latency_ratio"] <= low]
    above = [r for r in ordered if r["latency_ratio"] >= high]
    first = ordered.index(below[-1]) if below else 0
    last = ordered.index(above[0]) if above else len(ordered) - 1
    chosen = ordered[first:last + 1]
    centre = (low + high) / 2
    for record in sorted(ordered, key=lambda r: abs(math.log(r["latency_ratio"] / centre))):
        if len(chosen) >= minimum:
            break
        if record not in chosen:
            chosen.append(record)
    return sorted(r["width"] for r in chosen)


def final_comparison(children: list[dict], baselines: list[dict], space: SearchSpace, num_classes: int,
                     trainer: Trainer, tester: Tester, *, top_k: int = 3, b1_widths: int = 3,
                     engine: str = "onnxruntime", threads: int = 1, rounds: int = 10, burst: int = 10,
                     resamples: int = 2000, seed: int = 0, log: Callable[[str], None] = print,
                     on_stage: Callable[[str, int], None] | None = None) -> dict:
    """Retrain, time and test the finalists and B1's widths; the verdict with its interval.
    `on_stage(stage, models)` as the "train" and the "test" stages start; `log` gets a line per model."""
    if top_k < 1 or b1_widths < 2:
        raise ValueError(f"top_k must be >= 1 and b1_widths >= 2, got {top_k} and {b1_widths}")
    if not children:
        raise ValueError("the search has no finished child to compare")
    finalists = choose_finalists(children, top_k)
    widths = choose_b1_widths(baselines, [r["latency_ratio"] for r in finalists], b1_widths)
    proxy_b1 = {r["width"]: r for r in baselines}
    entries = [{"name": f"child {r['step']}", "role": "finalist", "arch": r["arch"],
                "proxy_accuracy": r["accuracy"], "proxy_reward": r["reward"]} for r in finalists]
    entries += [{"name": f"B1 x{w:g}", "role": "b1", "width": w, "arch": space.skeleton_arch(w),
                 "proxy_accuracy": proxy_b1[w]["accuracy"]} for w in widths]
    stage = on_stage or (lambda name, models: None)
    stage("train", len(entries))
    training = Progress(len(entries), "final training", terminal=False, write=log)
    for entry in entries:
        entry.update(trainer(entry["name"], entry["arch"]))
        training.step(f"{entry['name']}: validation top-1 {entry['val_accuracy']:.3f}")
    _time(entries, space, num_classes, engine, threads, rounds, burst)
    stage("test", len(entries))
    testing = Progress(len(entries), "final test", terminal=False, write=log)
    correct = []
    for entry in entries:
        correct.append(np.asarray(tester(str(entry["model_file"])), dtype=bool))
        testing.step(f"{entry['name']}: test top-1 {correct[-1].mean():.3f}")
    correct = np.stack(correct)
    for entry, row in zip(entries, correct):
        entry["test_accuracy"] = float(row.mean())
        entry["test_interval"] = list(_accuracy_interval(row))
    return {"entries": entries, "test_images": int(correct.shape[1]),
            "verdict": _verdict(entries, correct, resamples, seed),
            "timing": {"engine": engine, "threads": threads, "rounds": rounds, "burst": burst}}


def _time(entries, space, num_classes, engine, threads, rounds, burst) -> None:
    """Every model's paired latency, by a meter like the search's (same reference, engine, threads)."""
    reference = create_model(space.skeleton_arch(), num_classes, INPUT_SIZE)
    meter = PairedMeter(reference, INPUT_SIZE, engine=engine, threads=threads, rounds=rounds, burst=burst)
    for entry in entries:
        model = create_model(entry["arch"], num_classes, INPUT_SIZE)
        latency = meter.measure(model)
        entry.update(latency_ratio=latency.ratio, latency_ms=latency.median_ms,
                     params=count_params(model), macs=count_macs(model, INPUT_SIZE))


def _accuracy_interval(correct: np.ndarray, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95 % interval of one model's test accuracy."""
    n, p = len(correct), float(correct.mean())
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _verdict(entries: list[dict], correct: np.ndarray, resamples: int, seed: int) -> dict:
    finalists = [i for i, e in enumerate(entries) if e["role"] == "finalist"]
    b1 = [i for i, e in enumerate(entries) if e["role"] == "b1"]
    # the winner by final *validation* accuracy (ties: the higher proxy reward), never by test
    winner = max(finalists, key=lambda i: (entries[i]["val_accuracy"], entries[i]["proxy_reward"]))
    ratio = entries[winner]["latency_ratio"]
    b1_ratios = [entries[i]["latency_ratio"] for i in b1]

    def margin(sample: np.ndarray) -> float:
        accuracies = sample.mean(axis=1)
        curve, _ = interpolate_curve(b1_ratios, accuracies[b1], ratio)
        return float(accuracies[winner] - curve)

    curve_accuracy, inside = interpolate_curve(b1_ratios, correct[b1].mean(axis=1), ratio)
    observed = margin(correct)
    low, high = bootstrap_interval(correct, margin, resamples=resamples, seed=seed)
    nearest = min(b1, key=lambda i: abs(math.log(entries[i]["latency_ratio"] / ratio)))
    position = "above" if low > 0 else "below" if high < 0 else "on"
    words = (f"The search's winner ({entries[winner]['name']}, chosen on validation) is {position} "
             f"MnasNet-B1's accuracy-latency curve: test top-1 {entries[winner]['test_accuracy']:.1%} against "
             f"{curve_accuracy:.1%} for B1 at the same paired latency ({ratio:.2f}x the reference), a margin "
             f"of {observed * 100:+.1f} points (95 % interval {low * 100:+.1f} to {high * 100:+.1f}, "
             f"bootstrap over {correct.shape[1]:,} test images; one training seed per model)")
    if not inside:
        words += "; its latency lies outside the B1 widths' range, so it is compared with the nearest end"
    return {"winner": entries[winner]["name"], "winner_arch": entries[winner]["arch"], "position": position,
            "margin": observed, "interval": [low, high], "b1_accuracy_at_winner": curve_accuracy,
            "inside_b1_range": inside, "latency_ratio": ratio,
            "mcnemar_vs_nearest_b1": {"b1": entries[nearest]["name"],
                                      **mcnemar_exact(correct[winner], correct[nearest])},
            "words": words + "."}


def format_final_table(result: dict) -> str:
    lines = ["| model | proxy val top-1 | final val top-1 | test top-1 (95 % CI) | paired latency (x ref) | "
             "ms | params | MACs | architecture |", "|---|---|---|---|---|---|---|---|---|"]
    winner = result["verdict"]["winner"]
    for e in result["entries"]:
        name = f"**{e['name']}** (winner)" if e["name"] == winner else e["name"]
        low, high = e["test_interval"]
        lines.append(f"| {name} | {e['proxy_accuracy']:.1%} | {e['val_accuracy']:.1%} | {e['test_accuracy']:.1%} "
                     f"({low:.1%}-{high:.1%}) | {e['latency_ratio']:.3f} | {e['latency_ms']:.3f} | "
                     f"{e['params']:,} | {e['macs'] / 1e6:.1f}M | `{e['arch']}` |")
    return "\n".join(lines)


def plot_final(result: dict, path: str | Path) -> Path:
    """Final test accuracy against paired latency: B1's curve, the finalists with 95 % intervals."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left as it is

    entries, verdict = result["entries"], result["verdict"]
    fig = Figure(figsize=(7.5, 5))
    ax = fig.subplots()
    b1 = sorted((e for e in entries if e["role"] == "b1"), key=lambda e: e["latency_ratio"])
    ax.plot([e["latency_ratio"] for e in b1], [e["test_accuracy"] for e in b1], "s-", color="tab:orange",
            label="MnasNet-B1 skeleton (widths)")
    for e in b1:
        ax.annotate(f"x{e['width']:g}", (e["latency_ratio"], e["test_accuracy"]), textcoords="offset points",
                    xytext=(5, -12), fontsize=8)
    for e in entries:
        if e["role"] != "finalist":
            continue
        low, high = e["test_interval"]
        is_winner = e["name"] == verdict["winner"]
        ax.errorbar([e["latency_ratio"]], [e["test_accuracy"]],
                    yerr=[[e["test_accuracy"] - low], [high - e["test_accuracy"]]], fmt="o", capsize=4,
                    color="tab:red" if is_winner else "tab:blue", markersize=9 if is_winner else 6,
                    label=f"{e['name']}{' (winner, by validation)' if is_winner else ''}")
    ax.set_xlabel("paired latency (x the B1 skeleton at the base width, batch 1)")
    ax.set_ylabel(f"test top-1 ({result['test_images']:,} images; bars: 95 % interval)")
    margin, (low, high) = verdict["margin"], verdict["interval"]
    ax.set_title(f"final comparison: winner {verdict['position']} B1's curve, {margin * 100:+.1f} points "
                 f"[{low * 100:+.1f}, {high * 100:+.1f}]", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def write_final(result: dict, output_dir: str | Path) -> dict:
    """final.json, final.md (table and verdict) and final.png in `output_dir`."""
    output_dir = Path(output_dir)
    atomic_write_text(output_dir / "final.json", json.dumps(result, indent=2, default=str))
    atomic_write_text(output_dir / "final.md", format_final_table(result) + "\n\n" + result["verdict"]["words"] + "\n")
    plot_final(result, output_dir / "final.png")
    return {name: output_dir / name for name in ("final.json", "final.md", "final.png")}


# ------------------------------------------------------------- the same comparison on a folder, in core

def folder_final_comparison(search_dir: str | Path, data_root: str | Path, children: list[dict],
                            baselines: list[dict], space: SearchSpace, config, log: Callable[[str], None] = print
                            ) -> dict:
    """The final comparison of a search in `search_dir`, with the core trainer (`mnas.train.job`, the
    engine train_mnasnet runs) and tester (`mnas.infer.files.classify_files`, what infer_mnasnet runs):
    retraining on symlinked subsets of ``train/`` (train and a held-out val), testing on ``test/`` (or
    ``val/``). `config` is the search's `SearchConfig` (its ``final_*`` settings). Writes final.*."""
    from mnas.data.splits import link_subset
    from mnas.infer.classifier import Classifier
    from mnas.infer.files import classify_files
    from mnas.train.config import TrainConfig
    from mnas.train.job import TrainJob, run_training_job

    search_dir, data_root = Path(search_dir), Path(data_root)
    test_root = next((data_root / n for n in ("test", "val") if (data_root / n).is_dir()), None)
    if test_root is None:
        raise ValueError(f"final comparison: {data_root} has no test/ (or val/) folder to test the retrained "
                         "models on: add one, or set final_top_k to 0")
    data_dir = link_subset(data_root, search_dir / "final" / "data", {
        "train": ("train", 0, config.final_train_per_class),
        "val": ("train", config.final_train_per_class, config.final_val_per_class)})
    files, labels = files_by_class(test_root, config.final_test_per_class)

    def trainer(name: str, arch: str) -> dict:
        job = TrainJob(data=str(data_dir), model=arch, output_folder=str(search_dir / "final" / name.replace(" ", "_")),
                       config=TrainConfig(epochs=config.final_epochs, batch_size=64, input_size=INPUT_SIZE,
                                          seed=config.seed, device=config.train_device), overwrite=True)
        result = run_training_job(job)
        # the model file holds the epoch of the best validation top-1 (train_job keep_best): that epoch's
        return {"model_file": str(result.files["model"]), "val_accuracy": result.result.final.top1}

    def tester(model_file: str) -> np.ndarray:
        classifier = Classifier.load(weight_file=model_file, device="cpu")
        predictions = classify_files(classifier, files, batch_size=64, top_k=1)
        return np.array([p.top_k[0][0] == label if p.top_k else False for p, label in zip(predictions, labels)])

    result = final_comparison(children, baselines, space, len(set(labels)), trainer, tester,
                              top_k=config.final_top_k, b1_widths=config.final_b1_widths,
                              engine=config.latency_engine, threads=config.latency_threads,
                              rounds=config.latency_rounds, burst=config.latency_burst, seed=config.seed, log=log)
    write_final(result, search_dir)
    return result
