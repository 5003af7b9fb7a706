"""Whether the surrogate meets the figures it is accepted on (issue "A surrogate benchmark ...").

Every figure is held out: measured on networks, or seeds, the model was not fitted on.  The main job
searches on the surrogate by default only once all of them are met (`accepted`); until then it runs the
live loop and `--search-on surrogate` is one flag away.
"""

from __future__ import annotations

REPEATED_NETWORKS = 40      # networks with 3 seeds the seed-reliability figure needs
HELD_OUT_RANDOMS = 150       # stage B random networks the accuracy and latency figures need
HELD_OUT_TRAJECTORIES = 100  # stage B trajectory networks the trajectory figure needs


def _figure(name: str, goal: str, value: str, met: bool | None) -> dict:
    return {"name": name, "goal": goal, "value": value, "met": met}


def acceptance(report: dict) -> dict:
    """Each acceptance figure from a `report.json` (`mnas.search.surrogate.report`): its goal, its value
    and whether it is met (None: not measurable yet); `accepted` only when every one is met."""
    noise, check = report.get("seed_noise", {}), report.get("three_seed_check", {})
    held = report.get("stage_b_held_out") or {}
    randoms, trajectories = held.get("random", {}), held.get("trajectory", {})
    figures = []
    icc = noise.get("icc_one_seed")
    figures.append(_figure("one-seed intraclass correlation", f">= 0.70 on >= {REPEATED_NETWORKS} networks x 3 seeds",
                           f"{icc:.2f} on {noise.get('architectures', 0)}" if icc is not None else "",
                           None if noise.get("architectures", 0) < REPEATED_NETWORKS else icc >= 0.70))
    enough = randoms.get("architectures", 0) >= HELD_OUT_RANDOMS and "spearman" in randoms
    figures.append(_figure("held-out random networks: Spearman and R²",
                           f">= 0.60 and >= 0.40 on >= {HELD_OUT_RANDOMS} networks",
                           f"{randoms['spearman']:.2f} and {randoms['r2']:.2f} on {randoms['architectures']}"
                           if "spearman" in randoms else f"{randoms.get('architectures', 0)} networks",
                           (randoms["spearman"] >= 0.60 and randoms["r2"] >= 0.40) if enough else None))
    if "pearson_surrogate_vs_mean" in check:
        surrogate, one_seed = check["pearson_surrogate_vs_mean"], check["pearson_one_seed_vs_others"]
        figures.append(_figure("three-seed networks: Pearson with their mean", "surrogate >= one seed's",
                               f"{surrogate:.3f} against {one_seed:.3f}", surrogate >= one_seed))
    else:
        figures.append(_figure("three-seed networks: Pearson with their mean", "surrogate >= one seed's", "", None))
    gain = held.get("trajectory_minus_random")
    bias = trajectories.get("bias")
    figures.append(_figure("trajectory networks: measured gain over random, surrogate bias",
                           f">= +3 points, bias within +-1.5 points, on >= {HELD_OUT_TRAJECTORIES} networks",
                           f"{100 * gain[0]:+.1f} points, bias {100 * bias:+.2f} on {trajectories['architectures']}"
                           if gain and bias is not None else "",
                           (gain[0] >= 0.03 and abs(bias) <= 0.015)
                           if gain and bias is not None and trajectories["architectures"] >= HELD_OUT_TRAJECTORIES
                           else None))
    for engine, goal in (("onnxruntime", 0.97), ("torch", 0.93)):
        key = f"{engine}_latency_spearman"
        value = randoms.get(key)
        figures.append(_figure(f"held-out latency model, {engine}: Spearman", f">= {goal}",
                               f"{value:.3f} on {randoms['architectures']}" if value is not None else "",
                               value >= goal if enough and value is not None else None))
    return {"accepted": all(f["met"] is True for f in figures), "figures": figures}
