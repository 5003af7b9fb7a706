"""``python -m mnas docs tables [--check]``: the documentation's result tables, rendered from bench/results.

Every measured figure is written once: a bench writes it as JSON under ``bench/results/`` and the pages
show it through a block that this module renders. A Markdown page under ``docs/`` holds each block
between two markers naming its table (one of `TABLES`):

    <!-- results: strategies -->
    | ... rendered here ... |
    <!-- end results -->

``python -m mnas docs tables`` rewrites every block from its results; ``--check`` writes nothing and
exits with status 1 naming each page that disagrees with them (``tests/test_docs.py`` runs it). A block
naming no known table, or a results file that is missing, is an error naming the page or the file.
After re-running a bench, run the command and commit the pages with the results.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from pathlib import Path
from typing import Callable, Iterable

from mnas.utils.fileio import atomic_write_text
from mnas.utils.paths import PACKAGE_DIR

REPOSITORY = PACKAGE_DIR.parent  # the clone whose bench/results and docs/ are rendered
BLOCK = re.compile(r"(<!-- results: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end results -->)", re.S)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
RENDER_COMMAND = "python -m mnas docs tables"
LATENCY_ENGINES_RUN = "latency/first_after_choice.json.gz"  # the first run of today's meter


# ---------------------------------------------------------------------------------------------- helpers

def _load(results: Path, name: str):
    path = results / name
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} not found: run the bench that writes it "
                                f"(bench/README.md says which)")
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)


def _load_lines(results: Path, name: str) -> list[dict]:
    path = results / name
    if not path.is_file():
        raise FileNotFoundError(f"results file {path} not found: run the bench that writes it")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _source(*names: str, command: str = "") -> str:
    files = ", ".join(f"`bench/results/{name}`" for name in names)
    made = f" (written by `{command}`)" if command else ""
    return f"*Rendered from {files}{made} by `{RENDER_COMMAND}`.*"


def _pct(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}%}".replace("%", " %")


def _points(value: float, digits: int = 2, sign: bool = False) -> str:
    """A fraction as percentage points (0.0067 -> +0.67)."""
    return f"{100 * value:{'+' if sign else ''}.{digits}f}"


def _p_value(p: float | None) -> str:
    if p is None:
        return ""
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.0e}"


def _load_average(pair) -> str:
    return f"{pair[0]} -> {pair[1]}"


# ------------------------------------------------------------------------------------- latency meter

def latency_engines(results: Path) -> str:
    run = _load(results, LATENCY_ENGINES_RUN)
    figures = (("ratio", "paired ratio (the search's)"), ("paired_ms", "paired, absolute ms"),
               ("raw_ms", "raw median of plain calls"))
    rows = []
    for row in sorted(run["rows"], key=lambda r: r["engine"] != "onnxruntime"):
        for key, label in figures:
            cost = f"{row['seconds_per_paired_measurement']:.2f} s" if key == "ratio" else ""
            rows.append((row["engine"], label, f"{row[f'{key}_spearman']:.3f}",
                         _pct(row[f"{key}_largest_change"]), cost))
    predictor = [f"{r['engine']} Spearman {r['predictor_spearman']:.3f}, mean absolute error "
                 f"{_pct(r['predictor_mape'])}" for r in run["rows"]]
    machine = run["machine"]
    return "\n".join([
        f"{len(run['archs'])} models, two shuffled passes; {machine['cpu']}, {machine['usable_cores']} cores, "
        f"load average {_load_average([machine['load_average_1min'], run['load_average_after']])}.", "",
        *_table(("engine", "figure", "pass-to-pass Spearman", "largest change", "cost per child"), rows), "",
        "Per-layer lookup-table predictor against the paired ratio: " + "; ".join(predictor) + ".", "",
        _source(LATENCY_ENGINES_RUN, command="python bench/latency_bench.py --rounds 40")])


METERS = ((10, "median of the ratios", "10 rounds, median of the ratios (the old meter)"),
          (40, "median of the ratios", "40 rounds, median of the ratios"),
          (40, "median over the quieter half", "40 rounds, median over the quieter half (the meter now)"))


def latency_estimators(results: Path) -> str:
    data = _load(results, "latency/estimators.json")
    runs = data["runs"]
    header = ["engine", "meter"] + [f"{r['run'].split('.')[0]} (load {_load_average(r['load_average'])})"
                                    for r in runs]
    rows = []
    for engine in ("onnxruntime", "torch"):
        for rounds, estimator, label in METERS:
            cells = []
            for run in runs:
                found = [r for r in run["rows"] if (r["engine"], r["rounds"], r["estimator"])
                         == (engine, rounds, estimator)]
                cells.append(f"{_pct(found[0]['largest_change'])} ({found[0]['spearman']:.3f})" if found else "")
            rows.append((engine, label, *cells))
    return "\n".join([
        "Largest pass-to-pass change of the paired ratio (pass-to-pass Spearman in brackets), "
        f"{runs[0]['models']} models per run:", "", *_table(header, rows), "",
        _source("latency/estimators.json", command="python bench/latency_estimators.py "
                "bench/results/latency/*.json.gz --json bench/results/latency/estimators.json")])


# ------------------------------------------------------------------------------------------- the proxy

def _proxy_label(proxy: dict, default: dict) -> str:
    epochs = "epoch" if proxy["epochs"] == 1 else "epochs"
    label = f"{proxy['train_images']:,} images x {proxy['epochs']} {epochs}"
    if proxy.get("lr"):
        label += f", lr {proxy['lr']}"
    if proxy.get("batch_size"):
        label += f", batch {proxy['batch_size']}"
    return f"**{label} (default)**" if proxy["name"] == default["name"] else label


def proxy_fidelity(results: Path) -> str:
    report = _load(results, "proxy_fidelity/report.json")
    proxies = {p["name"]: p for p in report["proxies"]}
    default = proxies[report["default_proxy"]]
    rows = []
    for row in report["rows"]:
        low, high = row["tau_interval"]
        versus = row.get("versus_default")
        paired = f"{versus['difference']:+.2f} ({versus['low']:+.2f} to {versus['high']:+.2f})" if versus else ""
        rows.append((_proxy_label(proxies[row["proxy"]], default), f"{row['kendall_tau_one_seed']:.2f} "
                     f"({low:.2f}-{high:.2f})", paired, f"{row['kendall_tau_mean_of_seeds']:.2f}",
                     f"{row['seed_to_seed_tau']:.2f}", f"{row['seed_noise_share']:.0%}",
                     f"{row['cpu_seconds_per_run']:.0f}"))
    long = report["long"]
    low, high = long["accuracy_range"]
    return "\n".join([
        f"{report['children_complete']} children with both trainings. Long training: {long['epochs']} epochs on "
        f"{long['train_images']:,} `train/` images, scored on {long['val_images']:,} others; accuracy "
        f"{low:.2f}-{high:.2f}, {long['cpu_seconds']:.0f} CPU-s each.", "",
        *_table(("proxy", "Kendall tau, one seed (95 % CI)", "vs default, paired (95 % CI)",
                 "tau, mean of 2 seeds", "seed-to-seed tau", "seed noise / variance", "CPU-s per run"), rows), "",
        _source("proxy_fidelity/report.json", command="python bench/proxy_fidelity.py --report")])


# ---------------------------------------------------------------------------------- benchmark table

def table_build(results: Path) -> str:
    entries = _load_lines(results, "table/table.jsonl")
    build = _load(results, "table/table_build.json")
    means = [statistics.fmean(e["accuracy"]) for e in entries]
    latency = [statistics.fmean(e["latency_ratio"]) for e in entries]
    macs = [e["macs"] / 1e6 for e in entries]
    repeated = [e for e in entries if len(e["accuracy"]) > 1]
    seed_sd = statistics.fmean(statistics.stdev(e["accuracy"]) for e in repeated) if repeated else float("nan")
    config = build["config"]
    rows = [("architectures measured", f"{len(entries):,}"),
            ("of them with several seeds", f"{len(repeated):,}"),
            ("proxy trainings", f"{sum(len(e['accuracy']) for e in entries):,}"),
            ("training time", f"{sum(sum(e['train_seconds']) for e in entries) / 3600:.1f} h"),
            ("MACs (32 px, 10 classes)", f"{min(macs):.1f}-{max(macs):.1f} M"),
            ("latency, x the skeleton", f"{min(latency):.2f}-{max(latency):.2f}"),
            ("proxy top-1 (mean over seeds)", f"{_pct(min(means))}-{_pct(max(means))}, SD "
                                              f"{_points(statistics.stdev(means))} points"),
            ("seed noise (mean SD within an entry)", f"{_points(seed_sd)} points"),
            ("proxy", f"{config['proxy_epochs']} epoch on {config['train_images']:,} images, "
                      f"{config['val_images']:,} held out"),
            ("latency meter", f"{config['latency_engine']}, {config['latency_rounds']} rounds of "
                              f"{config['latency_burst']}-call bursts, median of the ratios"),
            ("build sessions", "; ".join(f"{m['cpu']}, {m['usable_cores']} cores, load {m['load_average_1min']}"
                                         for m in build["machines"]))]
    return "\n".join([*_table(("", "the table"), rows), "",
                      _source("table/table.jsonl", "table/table_build.json", command="python -m mnas table build")])


def _gain(gain: list[float]) -> str:
    """Mean and interval in points of reward, the mean in bold when the interval excludes 0."""
    mean, low, high = (_points(value, sign=True) for value in gain)
    mean = f"**{mean}**" if gain[1] > 0 or gain[2] < 0 else mean
    return f"{mean} ({low} to {high})"


STRATEGY_LABELS = {"random": "random search", "rl": "RL (PPO, defaults)", "rl-tuned": "RL (PPO, tuned)",
                   "evolution": "regularised evolution"}


def strategies(results: Path) -> str:
    data = _load(results, "strategies/strategies.json")
    optimum = data["denoised_optimum"]["reward"]
    rows = []
    for row in data["rows"]:
        mean, low, high = row["reward"]
        # the answer's reward by the denoised truth: the denoised optimum less the answer's denoised regret
        regret, regret_low, regret_high = row["denoised_regret"]
        gain = row.get("denoised_gain_vs_random")
        rows.append((row["budget"], STRATEGY_LABELS.get(row["strategy"], row["strategy"]),
                     f"{mean:.4f} ({low:.4f}-{high:.4f})", _p_value(row.get("p_vs_random")),
                     f"{optimum - regret:.4f} ({optimum - regret_high:.4f}-{optimum - regret_low:.4f})",
                     _p_value(row.get("p_vs_random_denoised")), _gain(gain) if gain else ""))
    return "\n".join([
        f"The answer's soft reward, mean over {len(data['seeds'])} seeds (95 % interval), and the one-sided "
        "paired Wilcoxon p-value against random search; the gain over random search by the denoised truth "
        "in points of reward:", "",
        *_table(("children", "strategy", "reward by the table's means", "p", "reward by the denoised truth",
                 "p", "gain over random, denoised"), rows), "",
        _source("strategies/strategies.json", command="python bench/strategies.py")])


def strategies_facts(results: Path) -> str:
    data = _load(results, "strategies/strategies.json")
    denoising, tuned = data["denoising"], data["tuned_settings"]
    rows = [("entries of the table", f"{data['entries']:,} of {data['space_size']:,}"),
            ("seeds per strategy", f"{len(data['seeds'])} ({data['seeds'][0]}-{data['seeds'][-1]})"),
            ("the table's optimum, by its means", f"reward {data['optimum']['reward']:.4f}"),
            ("the optimum by the denoised truth", f"reward {data['denoised_optimum']['reward']:.4f}"),
            ("held-out three-seed entries", f"{denoising['held_out_entries']}"),
            ("Pearson, denoised truth vs their mean", f"{denoising['pearson_denoised_vs_mean']:.2f}"),
            ("Pearson, one seed vs the mean of the other two", f"{denoising['pearson_one_seed_vs_others']:.2f}"),
            ("the table's optimum by the denoised truth",
             f"percentile {denoising['table_optimum_percentile_by_truth']:.0f}"),
            ("tuned PPO settings (rl-tuned)", ", ".join(f"{k} {v}" for k, v in tuned.items()))]
    return "\n".join([*_table(("", "value"), rows), "",
                      _source("strategies/strategies.json", command="python bench/strategies.py")])


def strategies_constraints(results: Path) -> str:
    data = _load(results, "strategies/strategies.json")
    rows = [(reward, f"{figures['median']:.2f} T", f"{figures['share_within_10pct_of_T']:.0%}")
            for reward, figures in data["constraints"].items()]
    return "\n".join([*_table(("reward", "median sampled latency", "children within 10 % of T"), rows), "",
                      _source("strategies/strategies.json", command="python bench/strategies.py")])


# ----------------------------------------------------------------------------------------- surrogate

SURROGATE = "surrogate/report.json"
SURROGATE_COMMAND = "python -m mnas surrogate report"


def surrogate_summary(results: Path) -> str:
    report = _load(results, SURROGATE)
    recipe, decision = report["recipe"], report["go_no_go"]
    rows = [("trainings", f"{report['trainings']:,}"),
            ("architectures", f"{report['architectures']:,} ({report['random_architectures']:,} uniform random)"),
            ("CPU time", f"{report['cpu_hours']:.1f} h"),
            ("machines", ", ".join(report["machines"])), ("sessions", report["sessions"]),
            (f"recipe {recipe['name']}", f"{recipe['epochs']} epochs on {recipe['train_images']:,} images, "
                                         f"batch {recipe['batch_size']}, lr {recipe['lr']}, top-1 on "
                                         f"{recipe['val_images']:,} others"),
            ("stage A go / no-go", ("decided: " if decision["decided"] else "not decided yet: ")
             + decision.get("reason", ""))]
    return "\n".join([*_table(("", "so far"), rows), "", _source(SURROGATE, command=SURROGATE_COMMAND)])


def surrogate_learning_curve(results: Path) -> str:
    report = _load(results, SURROGATE)
    models = ("ridge", "boosting", "ensemble")
    rows = [(point["n"], *(f"{point[m]['spearman']:.2f} / {point[m]['r2']:.2f}" for m in models))
            for point in report["learning_curve"]]
    return "\n".join([
        "Cross-validated Spearman / R² of each regressor against the measured accuracy, by the number of "
        "random architectures it was fitted on:", "",
        *_table(("architectures", *models), rows), "", _source(SURROGATE, command=SURROGATE_COMMAND)])


def surrogate_noise(results: Path) -> str:
    report = _load(results, SURROGATE)
    noise, check, latency = report["seed_noise"], report["three_seed_check"], report["latency_models"]
    rows = [("seed noise: SD of one architecture's seeds", f"{_points(noise['seed_sd'])} points "
                                                           f"({noise['architectures']} architectures)"),
            ("one-seed intraclass correlation", f"{noise['icc_one_seed']:.2f}"),
            ("Pearson, surrogate vs three-seed mean", f"{check['pearson_surrogate_vs_mean']:.2f} "
                                                      f"({check['architectures']} architectures)"),
            ("Pearson, one seed vs the other two", f"{check['pearson_one_seed_vs_others']:.2f}"),
            ("surrogate bias on them", f"{_points(check['surrogate_bias'], sign=True)} points"),
            *((f"latency model, {engine}: Spearman", f"{model['spearman']:.2f} ({model['architectures']} "
               "architectures)") for engine, model in latency.items())]
    return "\n".join([*_table(("", "so far"), rows), "", _source(SURROGATE, command=SURROGATE_COMMAND)])


HELD_OUT_GOALS = {"random": "Spearman >= 0.60 and R² >= 0.40 on >= 150 networks",
                  "trajectory": "mean measured >= stage B random + 3 points, bias within +-1.5 points"}


def surrogate_held_out(results: Path) -> str:
    """Stage B's networks as the stage-A surrogate, never fitted on them, predicts them."""
    held = _load(results, SURROGATE).get("stage_b_held_out") or {}
    if not held:
        return "Stage B has not started: no held-out figures yet.\n\n" + _source(SURROGATE, command=SURROGATE_COMMAND)
    rows = []
    for role, name in (("random", "stage B random"), ("trajectory", "trajectory (RL, evolution)")):
        f = held.get(role, {})
        if "spearman" not in f:
            rows.append((name, f.get("architectures", 0), "", "", "", "", "", HELD_OUT_GOALS[role]))
            continue
        rows.append((name, f["architectures"], f"{f['spearman']:.2f}", f"{f['r2']:.2f}",
                     f"{_pct(f['mean_measured'])} / {_pct(f['mean_predicted'])}", _points(f["bias"], sign=True),
                     f"{f.get('onnxruntime_latency_spearman', float('nan')):.2f} / "
                     f"{f.get('torch_latency_spearman', float('nan')):.2f}", HELD_OUT_GOALS[role]))
    lines = [f"Fitted on stage A's {held['fitted_on']} networks of the space, predicting stage B's:", "",
             *_table(("networks", "measured", "Spearman", "R²", "mean top-1, measured / predicted", "bias (points)",
                      "latency Spearman, ONNX Runtime / torch", "goal"), rows)]
    if "trajectory_minus_random" in held:
        lines += ["", "Trajectory networks minus stage B's random ones, measured: "
                      f"{_points_interval(held['trajectory_minus_random'])} points (Welch 95 % interval)."]
    return "\n".join([*lines, "", _source(SURROGATE, command=SURROGATE_COMMAND)])


def surrogate_acceptance(results: Path) -> str:
    """The figures the surrogate is accepted on, each with its goal: the main job's default search follows."""
    verdict = _load(results, SURROGATE).get("acceptance") or {"accepted": False, "figures": []}
    words = {True: "met", False: "**not met**", None: "not measurable yet"}
    rows = [(f["name"], f["goal"], f["value"], words[f["met"]]) for f in verdict["figures"]]
    state = ("**accepted**: the main job searches on it by default" if verdict["accepted"] else
             "**not accepted yet**: the main job's default search stays live (`--search-on surrogate` uses it)")
    return "\n".join([*_table(("figure", "goal", "so far", ""), rows), "", f"The surrogate is {state}.", "",
                      _source(SURROGATE, command=SURROGATE_COMMAND)])


def surrogate_references(results: Path) -> str:
    report = _load(results, SURROGATE)
    names = {"b1": "MnasNet-B1", "mobilenetv2": "MobileNetV2"}
    rows = []
    for family, curve in report["reference_curves"].items():
        for point in curve:
            interval = point.get("interval")
            accuracy = _pct(point["accuracy"]) + (f" ({_pct(interval[0])}-{_pct(interval[1])})" if interval else "")
            rows.append((names.get(family, family), point["width"], point["seeds"], accuracy,
                         f"{point['latency_ratio']:.2f}", f"{point['torch_latency_ratio']:.2f}"))
    return "\n".join([*_table(("family", "width", "seeds", "top-1 at recipe F", "latency, ONNX Runtime (x B1 0.5)",
                               "latency, torch"), rows), "", _source(SURROGATE, command=SURROGATE_COMMAND)])


TEACHER_RUNS = "lessons/teacher.json"
TEACHER_COMMAND = "python -m mnas lessons build --lessons 3 4 --results bench/results/lessons/teacher.json"


def _teacher_run(results: Path, lesson: int) -> dict:
    """Lesson `lesson`'s teacher's run: the full-mode one when there is one, else the fast-mode one."""
    runs = {r["mode"]: r for r in _load(results, TEACHER_RUNS) if r["lesson"] == lesson}
    if not runs:
        raise FileNotFoundError(f"bench/results/{TEACHER_RUNS} holds no run of lesson {lesson}: {TEACHER_COMMAND}")
    return runs.get("full", runs.get("fast"))


def _run_label(run: dict) -> str:
    return f"{run['mode']} mode, {run['executed']}, {run['seconds']:.0f} s, load average {run['load_average']}"


def lessons_teacher_runs(results: Path) -> str:
    """Lessons 3 and 4 on the surrogate benchmark, as one teacher's run printed them."""
    three, four = _teacher_run(results, 3), _teacher_run(results, 4)
    noise, searches = three["claims"]["surrogate_noise"], three["claims"]["surrogate"]
    budget, reward, regret = str(searches["budget"]), searches["reward"], searches["regret"]

    def points(values) -> str:
        return _points_interval(values, sign=False)

    rows = [(name, points(reward[s]["first_window"]), points(reward[s]["last_window"]), points(regret[s][budget]),
             "" if s == "rl" else _points_interval(searches["rl_minus_other_regret"][s][budget]))
            for s, name in (("rl", "RL (PPO)"), ("random", "random search"), ("evolution", "evolution"))]
    latency = four["claims"]["surrogate_latency"]
    entropy = searches["rl_entropy"]
    return "\n".join([
        f"**Lesson 3, section 7** ({_run_label(three)}): {noise['random_architectures']} random architectures "
        f"measured, their spread (SD) {_points(noise['accuracy_spread_std'])} points against "
        f"{_points(noise['accuracy_seed_std'])} of seed noise, one-seed intraclass correlation "
        f"{noise['icc_one_seed']:.2f}, cross-validated Spearman {noise['cross_validated_spearman']:.2f}; "
        f"{searches['seeds']} seeds x {searches['budget']:,} children per strategy under the hard constraint, "
        "rewards in points (mean over the seeds and its 95 % bootstrap interval):", "",
        *_table(("strategy", "reward sampled, first window", "last window", f"regret after {searches['budget']:,}",
                 "RL's regret minus this one's (paired)"), rows), "",
        f"The controller's entropy per decision went from {entropy['first_window']:.2f} to "
        f"{entropy['last_window']:.2f} nats (uniform: {searches['uniform_entropy']:.2f}).", "",
        f"**Lesson 4, section 1** ({_run_label(four)}): the children of the second half of each run:", "",
        *_table(("rule", "median latency (x T)", "at or under T", "IQR of log2 latency"),
                [(rule, f"{f['median']:.2f}", _pct(f["under_T"], 0), f"{f['log2_iqr']:.2f}")
                 for rule, f in latency.items()]), "",
        _source(TEACHER_RUNS, command=TEACHER_COMMAND)])


EXPORT = "export/executorch_mnasnet0_5.json"


def export_executorch(results: Path) -> str:
    report = _load(results, EXPORT)
    check, latency = report["agreement"], report["latency"]
    rows = [(name, f"{latency[name]['median_ms']:.3f}", f"{latency[name]['ratio_to_onnxruntime']:.2f}")
            for name in ("onnxruntime", "executorch", "torch")]
    facts = (f"Model: {report['model_file']}; checked on {check['images']:,} images ({report['images']}): "
             f"largest logit difference {check['max_abs_logit_difference']:.1e} against logits up to "
             f"{check['max_abs_logit']:.1f} (tolerance {check['tolerance']:g}), top-1 agreement "
             f"{_pct(check['top1_agreement'])}. Latency at batch 1 on {latency['threads']} thread, "
             f"{latency['rounds']} paired rounds of {latency['burst']} calls.")
    return "\n".join([facts, "", *_table(("runtime", "median ms", "x ONNX Runtime (paired)"), rows), "",
                      _source(EXPORT, command="python bench/export_bench.py")])


CLAIMS = "claims/claims.json"
CLAIM_CURVES = "claims/curves/claim1.json"
CLAIM2_LIVE = "claims/live/claim2_live.json"
CLAIM_COMMANDS = "python bench/claims.py; python bench/claim_curves.py; python bench/claim2_live.py"
CLAIM_GOALS = {  # the goals, in words
    1: "the answer on or above the hand-designed family's accuracy-latency curve",
    2: "RL beats random search by >= 1 point at 3,000 and 8,000 children (paired Wilcoxon p < 0.01)",
    3: "the hard rule keeps the samples at T, the soft rule spreads them, w moves them monotonically",
    4: "each engine's own search beats the other engine's answers at <= T, both directions",
}


def _interval(values, sign: bool = True) -> str:
    mean, low, high = values
    s = "+" if sign else ""
    return f"{mean:{s}.2f} ({low:{s}.2f} to {high:{s}.2f})"


def _points_interval(values, sign: bool = True) -> str:
    """A (mean, low, high) interval of fractions, in points."""
    return _interval([100 * v for v in values], sign)


def _claim1(results: Path) -> list[tuple]:
    if not (results / CLAIM_CURVES).is_file():
        return [(1, CLAIM_GOALS[1], "not measured yet", "", "no verdict: run `python bench/claim_curves.py`")]
    curves = _load(results, CLAIM_CURVES)
    rows = []
    for row in curves["margins"]:
        if row["model"] != "answer x1":
            continue
        family = {"b1": "MnasNet-B1", "mobilenetv2": "MobileNetV2"}[row["family"]]
        low, high = row["interval_points"]
        rows.append((1, f"test top-1 margin to {family}'s curve at the answer's latency ({row['latency_ratio']:.2f}x, "
                        f"{curves['test_images']:,} test images)",
                     f"{row['margin_points']:+.2f} points", f"{low:+.2f} to {high:+.2f}",
                     "no verdict: a --fast smoke run" if curves.get("fast") else row["verdict"]))
    return rows


def _claim2(claims: dict) -> list[tuple]:
    if "strategies" not in claims:
        return [(2, CLAIM_GOALS[2], "not measured yet", "", "no verdict: run `python bench/claims.py`")]
    rows = []
    budgets = sorted({r["budget"] for r in claims["strategies"]["rows"]})
    for budget in [b for b in (3000, 8000) if b in budgets] or budgets[-2:]:  # a --fast run has small ones
        found = [r for r in claims["strategies"]["rows"] if r["budget"] == budget and r["strategy"] == "rl"]
        if not found:
            continue
        gain, p = found[0]["gain_vs_random_points"], found[0]["p_vs_random"]
        ok = gain[0] >= 1.0 and p < 0.01
        rows.append((2, f"RL minus random, noise-free surrogate reward of the answer at {budget:,} children "
                        f"({found[0]['seeds']} paired seeds)", f"{gain[0]:+.2f} points (p = {_p_value(p)})",
                     f"{gain[1]:+.2f} to {gain[2]:+.2f}", "met" if ok else "not met"))
    return rows


def _claim2_live(results: Path) -> list[tuple]:
    if not (results / CLAIM2_LIVE).is_file():
        return []
    live = _load(results, CLAIM2_LIVE)
    low, high = live["live_gap_interval_points"]
    met = all(live["goals"].values())
    words = "met" if met else "not met: " + ", ".join(k for k, v in live["goals"].items() if not v)
    return [(2, f"live: RL minus random, recipe-F accuracy of the answers at {live['answers']['rl'][0]['budget']:,} "
                f"children ({live['plan']['searches']} searches each, {live['plan']['seeds']} seeds per answer); "
                f"the surrogate predicted {live['predicted_gap_points']:+.2f}",
             f"{live['live_gap_points']:+.2f} points (Mann-Whitney p = {_p_value(live['p_rl_greater'])})",
             f"{low:+.2f} to {high:+.2f}", "no verdict: a --fast smoke run" if live.get("fast") else words)]


def _claim3(claims: dict) -> list[tuple]:
    if "constraints" not in claims:
        return [(3, CLAIM_GOALS[3], "not measured yet", "", "no verdict: run `python bench/claims.py`")]
    c = claims["constraints"]
    hard, soft = c["rules"]["hard"], c["rules"]["soft w=-0.07"]
    goals = c["goals"]
    return [(3, "share of the hard rule's samples at or below T", _pct(hard["share_at_or_below_T"]), "",
             "met" if goals["hard_at_or_below_T_>=85%"] else "not met (goal >= 85 %)"),
            (3, "soft (w = -0.07) against hard: IQR of log2 latency; share of soft's samples above 1.1 T",
             f"{soft['log2_iqr']:.2f} vs {hard['log2_iqr']:.2f}; {_pct(soft['share_above_1.1T'])}", "",
             "met" if goals["soft_iqr_>=2x_hard"] and goals["soft_above_1.1T_>=20%"] else "not met"),
            (3, "w swept over -0.03 ... -0.3: seeds whose median sampled latency falls monotonically",
             f"{c['sweep_monotone_seeds']} of {c['sweep_seeds']}", "",
             "met" if goals["sweep_monotone_in_>=4_of_5_seeds"] else "not met")]


def _claim4(claims: dict) -> list[tuple]:
    if "platforms" not in claims:
        return [(4, CLAIM_GOALS[4], "not measured yet", "", "no verdict: run `python bench/claims.py`")]
    rows = []
    for name, c in claims["platforms"]["comparisons"].items():
        excess, gain = c["foreign_excess_over_T_percent"], c["accuracy_gain_points"]
        ok = (excess[0] >= 10 and excess[1] > 0) or (gain[0] >= 1 and gain[1] > 0)
        rows.append((4, f"{name}: the foreign answers' latency over T ({c['latency_basis'].replace('_', ' ')}); "
                        "own minus foreign accuracy", f"{excess[0]:+.1f} %; {gain[0]:+.2f} points",
                     f"{excess[1]:+.1f} to {excess[2]:+.1f} %; {gain[1]:+.2f} to {gain[2]:+.2f}",
                     "met" if ok else "not met"))
    return rows


def claims_verdicts(results: Path) -> str:
    """One table, claim by claim: the measure, the figure, its 95 % interval and the verdict in words."""
    claims = _load(results, CLAIMS) if (results / CLAIMS).is_file() else {}
    smoke = claims.get("scale", {}).get("strategy_seeds", 30) < 10  # a --fast run: no verdict
    rows = [*_claim1(results), *_claim2(claims), *_claim2_live(results), *_claim3(claims), *_claim4(claims)]
    if smoke:
        rows = [(n, what, figure, interval, "no verdict: a --fast smoke run" if n > 1 else verdict)
                for n, what, figure, interval, verdict in rows]
    measured = [row for row in rows if row[2] != "not measured yet"]
    notes = [f"Claim {n}: {goal}." for n, goal in CLAIM_GOALS.items()] if measured else []
    if claims:
        surrogate = claims["surrogate"]
        notes.append(f"Claims 2-4 ran on the surrogate `{surrogate['file']}` (SHA-256 {surrogate['sha256'][:12]}..., "
                     f"fitted on {surrogate['fitted_on']} architectures, seed SD {surrogate['seed_sd_points']:.2f} "
                     "points).")
    return "\n".join([*_table(("claim", "measure", "figure", "95 % interval", "verdict"), rows), "",
                      *([" ".join(notes), ""] if notes else []),
                      _source(CLAIMS, CLAIM_CURVES, CLAIM2_LIVE, command=CLAIM_COMMANDS)])


TABLES: dict[str, Callable[[Path], str]] = {
    "export-executorch": export_executorch,
    "latency-engines": latency_engines,
    "latency-estimators": latency_estimators,
    "proxy-fidelity": proxy_fidelity,
    "table-build": table_build,
    "strategies": strategies,
    "strategies-facts": strategies_facts,
    "strategies-constraints": strategies_constraints,
    "surrogate-summary": surrogate_summary,
    "surrogate-learning-curve": surrogate_learning_curve,
    "surrogate-noise": surrogate_noise,
    "surrogate-references": surrogate_references,
    "surrogate-held-out": surrogate_held_out,
    "surrogate-acceptance": surrogate_acceptance,
    "claims-verdicts": claims_verdicts,
    "lessons-teacher-runs": lessons_teacher_runs,
}


# ------------------------------------------------------------------------------------------ the pages

def render_page(text: str, results: Path, page: str = "page") -> str:
    """`text` with every results block rendered afresh from `results`; a `ValueError` naming `page` and
    the block when a block names no known table."""
    rendered: dict[str, str] = {}

    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise ValueError(f"{page}: results block {name!r} names no table: expected one of {', '.join(TABLES)}")
        if name not in rendered:
            rendered[name] = TABLES[name](results)
        return f"{match[1]}{rendered[name]}\n{match[4]}"

    fences = [(m.start(), m.end()) for m in FENCE.finditer(text)]
    # a block shown as an example inside a code fence is text, not a table to render
    return BLOCK.sub(lambda m: m[0] if any(a <= m.start() < b for a, b in fences) else replace(m), text)


def pages(root: Path) -> list[Path]:
    return sorted((root / "docs").rglob("*.md"))


def refresh(root: Path = REPOSITORY, check: bool = False) -> list[Path]:
    """Render every page's results blocks from ``root/bench/results``; returns the pages that differed
    (rewritten unless `check`)."""
    if not (root / "docs").is_dir():
        raise FileNotFoundError(f"no docs/ folder in {root}: give the repository's root (--root)")
    results = root / "bench" / "results"
    differing = []
    for path in pages(root):
        text = path.read_text(encoding="utf-8")
        new = render_page(text, results, str(path.relative_to(root)))
        if new != text:
            differing.append(path)
            if not check:
                atomic_write_text(path, new)
    return differing


