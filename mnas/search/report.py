"""A search's outputs: summary JSON, the Pareto plot and the reward / entropy curves (matplotlib, Agg)."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from pathlib import Path

from mnas.latency.meter import predictor_report
from mnas.utils.fileio import atomic_path, atomic_write_text

KEEP_KEYS = ("step", "sampler", "arch", "accuracy", "latency_ratio", "latency_ms", "macs", "params", "reward",
             "seconds")


def pareto_front(records: list[dict]) -> list[dict]:
    """Children no other child beats on both accuracy (higher) and paired latency (lower)."""
    front, best_accuracy = [], -math.inf
    for record in sorted(records, key=lambda r: (r["latency_ratio"], -r["accuracy"])):
        if record["accuracy"] > best_accuracy:
            front.append(record)
            best_accuracy = record["accuracy"]
    return front


def _brief(record: dict) -> dict:
    return {k: record[k] for k in KEEP_KEYS if k in record}


def _throughput(records: list[dict]) -> float | None:
    seconds = sum(r["seconds"] for r in records)
    return 60 * len(records) / seconds if seconds else None


def summarize(space, target: dict, config, children, random_children, baselines) -> dict:
    best = max(children, key=lambda r: r["reward"]) if children else None
    predicted = [r for r in children + random_children if "predicted_latency_ratio" in r]
    summary = {
        "space": space.describe(), "target_latency_ms": target["ms"], "target_ratio": target["ratio"],
        "reference_ms": target["reference_ms"],
        "objective": {"constraint": config.constraint, "w": config.w},
        "children": len(children), "children_per_minute": _throughput(children),
        "best": best and {**_brief(best), "decisions": best["decisions"]},
        "pareto_front": [_brief(r) for r in pareto_front(children)],
        "baselines": [_brief(r) | {"width": r["width"]} for r in baselines],
        "latency_spread_median": _median([r["latency_spread"] for r in children + baselines]),
        "predictor": predictor_report([r["predicted_latency_ratio"] for r in predicted],
                                      [r["latency_ratio"] for r in predicted]),
        "config": dataclasses.asdict(config),
    }
    if random_children:
        best_random = max(random_children, key=lambda r: r["reward"])
        summary["random_search"] = {"children": len(random_children), "best": _brief(best_random),
                                    "mean_reward": _mean([r["reward"] for r in random_children])}
        summary["rl_mean_reward"] = _mean([r["reward"] for r in children])
    return summary


def _finite(value):
    """JSON has no NaN: an undefined figure (too few points) is written as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _median(values):
    return statistics.median(values) if values else None


def _mean(values):
    return statistics.fmean(values) if values else None


def plot_pareto(path, target: dict, children, random_children, baselines, title="") -> None:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left as it is

    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    if random_children:
        ax.scatter([r["latency_ratio"] for r in random_children], [r["accuracy"] for r in random_children],
                   marker="x", color="0.6", label="random search")
    if children:
        points = ax.scatter([r["latency_ratio"] for r in children], [r["accuracy"] for r in children],
                            c=[r["step"] for r in children], cmap="viridis", s=28, label="RL children")
        fig.colorbar(points, ax=ax, label="child index")
        front = pareto_front(children)
        ax.step([r["latency_ratio"] for r in front], [r["accuracy"] for r in front], where="post",
                color="tab:green", label="Pareto front")
        best = max(children, key=lambda r: r["reward"])
        ax.scatter([best["latency_ratio"]], [best["accuracy"]], s=180, facecolors="none",
                   edgecolors="tab:red", linewidths=2, label="best reward")
    if baselines:
        ordered = sorted(baselines, key=lambda r: r["width"])
        ax.plot([r["latency_ratio"] for r in ordered], [r["accuracy"] for r in ordered], "*-",
                color="tab:orange", markersize=12, label="MnasNet-B1 skeleton")
        for r in ordered:
            ax.annotate(f"x{r['width']:g}", (r["latency_ratio"], r["accuracy"]), textcoords="offset points",
                        xytext=(5, -10), fontsize=8)
    ax.axvline(target["ratio"], color="0.3", linestyle="--",
               label=f"T = {target['ratio']:.2f} x reference ({target['ms']:.2f} ms at the start)")
    ax.set_xlabel("paired latency (x the B1 skeleton's, batch 1)")
    ax.set_ylabel("proxy validation accuracy")
    ax.set_title(title or "search: accuracy vs paired latency")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def plot_curves(path, children, random_children) -> None:
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left as it is

    fig = Figure(figsize=(7, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    for records, label, color in ((children, "RL", "tab:blue"), (random_children, "random", "0.6")):
        if not records:
            continue
        steps, rewards = [r["step"] for r in records], [r["reward"] for r in records]
        top.plot(steps, rewards, ".", color=color, alpha=0.6)
        top.plot(steps, _running_mean(rewards, 5), color=color, label=f"{label} (running mean of 5)")
        bottom.plot(steps, [r["entropy"] for r in records], color=color, label=label)
    top.set_ylabel("reward")
    top.legend(fontsize=8)
    bottom.set_ylabel("policy entropy (nats / decision)")
    bottom.set_xlabel("child index")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def _running_mean(values, window):
    return [sum(values[max(0, i - window + 1):i + 1]) / len(values[max(0, i - window + 1):i + 1])
            for i in range(len(values))]


def _save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)


def write_report(output_dir: Path, space, target: dict, config, children, random_children, baselines) -> dict:
    summary = _finite(summarize(space, target, config, children, random_children, baselines))
    plot_pareto(output_dir / "pareto.png", target, children, random_children, baselines)
    plot_curves(output_dir / "curves.png", children, random_children)
    atomic_write_text(output_dir / "summary.json", json.dumps(summary, indent=2))
    return summary
