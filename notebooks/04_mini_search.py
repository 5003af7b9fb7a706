# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4 — The mini search, end to end
#
# Now the real loop of MnasNet, in miniature: the controller of lesson 3 samples a child from the
# search space, the project's training engine gives it a short **proxy training** on a CIFAR-10
# subset, its latency is **measured** on this machine (lesson 2), and the multi-objective reward
#
# $$\text{reward}(m) = ACC(m) \times \left[\frac{LAT(m)}{T}\right]^{w},\qquad
#   w = \begin{cases}\alpha & LAT(m) \le T\\ \beta & LAT(m) > T\end{cases}$$
#
# goes back to the controller through PPO. The paper sampled about 8,000 children, each trained for
# 5 epochs on ImageNet, on 64 TPUs for 4.5 days; we sample a handful, each trained for seconds on two
# CPU cores. The mechanics are the same, and so are the questions: how the reward trades accuracy for
# speed, what the search finds compared with simply scaling MnasNet-B1, and whether the controller does
# better than random sampling at the same budget.
#
# **Objectives.** After this lesson you can
#
# * write the multi-objective reward, draw its iso-lines, and say how the soft and the hard constraint
#   trade accuracy for latency;
# * show, on the surrogate benchmark, where a controller ends up sampling under soft and hard rewards,
#   and when the latency term can steer it;
# * run the real search loop (proxy training, paired latency, PPO) and read its log, Pareto front and
#   curves against the MnasNet-B1 baselines;
# * judge a controller-against-random comparison at a tiny budget, with its noise;
# * run and resume the same search as the `search_mini` Ikomia task.
#
# **Lesson time:** measured on the project's 2-core machine in fast mode (the test suite) and in full
# mode (the teacher's edition): `docs/lessons.md`, "Lesson times", in the repository.

# %% tags=["parameters"]
import os

FAST = os.environ.get("MNAS_FAST", "0") == "1"  # the test suite runs every lesson in fast mode

BUDGET = 6 if FAST else 8             # children per sampler (the controller, then random search)
TRAIN_IMAGES = 200 if FAST else 1000  # proxy-training images from CIFAR-10's train/ (stratified)
VAL_IMAGES = 100 if FAST else 500     # held-out images from train/ that score each child
FRESH = FAST                          # fast: start over each run; full: resume an interrupted search
SURROGATE_FILE = ""                   # surrogate benchmark ("": the one shipped with mnas, see lesson 3)
SURROGATE_BUDGET = 400 if FAST else 3000   # children per surrogate search (section 1)
SURROGATE_SEEDS = range(3) if FAST else range(5)  # seeds of the surrogate searches (pooled in the histograms)

# %% [markdown]
# ## 1. The reward: soft or hard constraint
#
# T is the target latency; here it is the latency of the search's skeleton (MnasNet-B1 at width 0.5
# for 32 px images), so "as fast as B1 x0.5" is the goal. The search times every child *against* that
# skeleton, in interleaved bursts on the same core (lesson 2's paired measurement), so LAT/T is measured
# directly as a ratio and the machine's drift cancels. The exponent w decides the trade:
#
# * **soft** (the paper's choice): $\alpha = \beta = -0.07$. Doubling the latency costs a factor
#   $2^{-0.07} = 0.953$, i.e. about 5 % relative accuracy; models slower *and* faster than T compete.
# * **hard**: $\alpha = 0$ under T (only accuracy counts) and $\beta = -1$ over it: beyond T the reward
#   is $ACC \times T/LAT$, so a model 25 % over T keeps $1/1.25 = 80$ % of its accuracy as reward:
#   a budget, not a trade.
#
# `mnas.search.reward.objective` builds both. For a fixed accuracy, here is the reward as a function
# of latency:

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from mnas.lessons import figure_shower, lesson_outputs, record_claims
from mnas.search.reward import objective

torch.set_num_threads(1)
OUTPUTS = lesson_outputs(4)  # outputs/lesson04, git-ignored: the searches' folders and the figures
show = figure_shower(OUTPUTS)  # show(fig, name): saved there as name.png, then displayed

ratios = np.linspace(0.25, 3, 200)
fig, axis = plt.subplots(figsize=(6, 3.5))
for constraint, color in (("soft", "tab:blue"), ("hard", "tab:red")):
    rule = objective(constraint, target=1.0)
    axis.plot(ratios, [rule(0.7, r) for r in ratios], color=color, label=f"{constraint} (ACC = 0.7)")
axis.axvline(1.0, color="grey", linestyle=":")
axis.set(xlabel="latency / T", ylabel="reward", title="the same model at different latencies")
axis.legend()
show(fig, "reward_shapes")
soft = objective("soft", 1.0)
print(f"soft: twice T costs {1 - soft(1.0, 2.0):.1%}, half of T earns {soft(1.0, 0.5) - 1:+.1%} (relative)")

# %% [markdown]
# ### The constraint in action, on the surrogate benchmark
#
# Which latencies does a controller end up sampling under each reward? A live search of a handful of
# children cannot tell (section 5). Lesson 3's **surrogate benchmark** can: several hundred
# architectures of the whole search space trained at the project's final recipe and timed with this
# search's paired meter, and a regressor fitted on them, so that a search in surrogate mode evaluates
# its children in milliseconds, each with a realistic draw of seed noise. The same PPO controller runs
# with three rewards: the paper's soft $w = -0.07$, a much stronger soft $w = -0.3$, and the hard
# constraint, all with T = the skeleton's latency. The histograms hold the children of the second half
# of each run, when the controller has learned, against a uniform random search's children (the space
# as a whole). The searches (three rewards and random search, `SURROGATE_SEEDS` seeds each) run in
# parallel processes with `mnas.search.parallel.run_searches`, as in lesson 3's section 7. This is
# the paper's Figure 6 (its latency histograms of soft and hard searches), on this project's space.

# %%
import shutil

from mnas.search import Search, SearchConfig, benchmark_search
from mnas.search.parallel import run_searches
from mnas.search.surrogate.model import measured_architectures, seed_noise
from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, load_runs

REWARDS = {"soft, w = -0.07": dict(constraint="soft", w=-0.07), "soft, w = -0.3": dict(constraint="soft", w=-0.3),
           "hard": dict(constraint="hard")}
RUNS = {**REWARDS, "random search": dict(constraint="hard", sampler="random")}


def rule_search(rule: str, seed: int) -> Search:
    """A fresh surrogate-mode search under one rule (deleted and rerun each time the lesson runs)."""
    return benchmark_search(OUTPUTS / "surrogate", name=f"{list(RUNS).index(rule)}-{seed}", fresh=True,
                            surrogate_file=SURROGATE_FILE, seed=seed, budget_children=SURROGATE_BUDGET,
                            **RUNS[rule])


start = time.perf_counter()
searches = run_searches({(rule, seed): rule_search(rule, seed) for rule in RUNS for seed in SURROGATE_SEEDS})
learned = {rule: np.array([r["latency_ratio"] for seed in SURROGATE_SEEDS
                           for r in searches[rule, seed][SURROGATE_BUDGET // 2:]]) for rule in RUNS}
print(f"{len(searches)} surrogate searches of {SURROGATE_BUDGET:,} children in {time.perf_counter() - start:.0f} s")

everyone = learned["random search"]
LATENCY_TICKS = (0.125, 0.25, 0.5, 1, 2, 4)
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
bins = np.geomspace(min(r.min() for r in learned.values()) * 0.97, max(r.max() for r in learned.values()) * 1.03, 41)
left.hist(everyone, bins=bins, weights=np.full(len(everyone), 1 / len(everyone)), color="lightgrey",
          label="random search (the whole space)")
right.plot(np.sort(everyone), np.linspace(0, 1, len(everyone)), color="grey", label="random search")
for rule, color in zip(REWARDS, ("tab:blue", "tab:purple", "tab:red")):
    ratios = learned[rule]
    left.hist(ratios, bins=bins, weights=np.full(len(ratios), 1 / len(ratios)), histtype="step", linewidth=2,
              color=color, label=rule)
    right.plot(np.sort(ratios), np.linspace(0, 1, len(ratios)), color=color, label=rule)
for axis in (left, right):
    axis.axvline(1.0, color="black", linestyle=":", label="T (the skeleton)")
    axis.set(xscale="log", xlabel="paired latency of the children sampled (x T, ONNX Runtime)")
    axis.set_xticks(LATENCY_TICKS, [f"{tick:g}" for tick in LATENCY_TICKS], minor=False)
    axis.set_xticks([], minor=True)
left.set(ylabel="share of the children", title=f"where the controller samples: children "
         f"{SURROGATE_BUDGET // 2 + 1}-{SURROGATE_BUDGET}, {len(SURROGATE_SEEDS)} seeds")
right.set(ylabel="share at or under this latency", title="the same, cumulative")
left.legend(fontsize=7)
show(fig, "constraint_histogram")
latency_claims = {}
for rule, ratios in learned.items():
    quartiles = np.percentile(np.log2(ratios), [25, 75])
    latency_claims[rule] = {"median": float(np.median(ratios)), "under_T": float(np.mean(ratios <= 1.0)),
                            "log2_iqr": float(quartiles[1] - quartiles[0])}
    print(f"{rule:<16} median {np.median(ratios):.2f} x T, {np.mean(ratios <= 1.0):4.0%} at or under T, "
          f"interquartile range of log2 latency {quartiles[1] - quartiles[0]:.2f}")

_, trainings = load_runs(SURROGATE_FILE or DEFAULT_SURROGATE)
measured = [m for m in measured_architectures(trainings) if m.role == "random"]
spread = max(m.latency["onnxruntime"] for m in measured) / min(m.latency["onnxruntime"] for m in measured)
mean_accuracy = np.mean([m.accuracy for m in measured])
seed_std = seed_noise(measured)["seed_sd"]
pulls = {w: spread ** -w - 1 for w in (-0.07, -0.3)}
print(f"among the measured random architectures the fastest is {spread:.1f} x faster than the slowest: it earns "
      + ", ".join(f"{pull:.0%} more reward with w = {w}" for w, pull in pulls.items()))
print(f"one training seed moves a recipe-F top-1 of {mean_accuracy:.1%} by {seed_std:.2%} (standard deviation), "
      f"{seed_std / mean_accuracy:.1%} of itself")
record_claims(OUTPUTS, surrogate_latency=latency_claims, soft_pull={str(w): pull for w, pull in pulls.items()},
              relative_seed_noise=seed_std / mean_accuracy)

# %% [markdown]
# Read the histograms with the printed figures. Most of the space is slower than the skeleton: random
# search draws most of its children over T. **The hard constraint steers**: the controller learns to
# sample under T, and almost all of its late children are there. Where **the soft rule** with the
# paper's $w = -0.07$ puts them depends on where the accurate networks are: on this benchmark many of
# the most accurate networks are already faster than the skeleton, so the soft controller also ends
# mostly under T, about where the hard one does or faster (under the soft rule a faster network earns
# a little more reward, under the hard rule nothing), with a wider spread of latencies; $w = -0.3$
# pulls it far below T, to networks a few times faster. The last two printed lines say why the latency term can steer here:
# across the measured architectures the soft factor $(LAT/T)^{w}$ moves the reward by more than one
# training seed moves the accuracy (a few percent of itself at recipe F). On a noisy proxy the
# opposite holds, and a controller follows the proxy's luck instead (the repository's
# `docs/search/findings.md`). The paper's own histograms (its Figure 6) show soft searches spreading
# over a wider range of latencies than hard ones; the project's claims bench (`bench/claims.py`, claim 3)
# measures that over more seeds, the teacher's edition's figures are in `docs/lessons.md`.

# %% [markdown]
# ## 2. Running the search
#
# `mnas.search.Search` runs the whole loop in an output folder: first the **baselines** (the skeleton,
# MnasNet-B1, at several widths, with the same proxy training), then `BUDGET` children sampled by the
# PPO controller, then — with `compare_random` — as many children sampled uniformly at random. Every
# finished child is one line of `children.jsonl` (or `random.jsonl`), written before the controller
# learns from it, so a killed search resumes exactly where it stopped.
#
# In fast mode the proxy training sees only a few hundred images, and accuracies stay close to chance
# (10 %): the reward then mostly reflects latency and noise. Full mode gives each child 1,000 images;
# it is still a very rough accuracy estimate, as the paper's 5-epoch proxy also was.

# %%
from mnas.data import cifar10_root

run_dir = OUTPUTS / ("fast" if FAST else "full") / "soft"
if FRESH:
    shutil.rmtree(run_dir, ignore_errors=True)
# Only settings that search_mini (section 6) also exposes; the rest keep the library's defaults
config = SearchConfig(budget_children=BUDGET, constraint="soft", train_images=TRAIN_IMAGES,
                      val_images=VAL_IMAGES, proxy_epochs=1, latency_threads=1, seed=0, compare_random=True,
                      baseline_widths=(0.35, 0.5, 0.75) if FAST else (0.35, 0.5, 0.75, 1.0))
print(f"proxy batch {config.batch_size}, lr {config.learning_rate}, latency: {config.latency_rounds} paired rounds of "
      f"{config.latency_burst} calls ({config.latency_engine}), PPO update every {config.ppo_batch} children")


def progress(phase, record, index, total):
    print(f"  {phase:<9} {index + 1:>2}/{total}: top-1 {record['accuracy']:5.1%}, "
          f"{record['latency_ratio']:5.2f} x T, reward {record['reward']:.3f}, {record['seconds']:4.1f} s")


start = time.perf_counter()
result = Search(cifar10_root(), run_dir, config).run(on_child=progress)
summary = result.summary
print(f"search finished in {time.perf_counter() - start:.0f} s; "
      f"T = the skeleton's latency, {summary['target_latency_ms']:.3f} ms at the start (children: ratios to it)")
print(f"mean proxy top-1 of the controller's children: "
      f"{np.mean([r['accuracy'] for r in result.children]):.1%}")
print("best child:", summary["best"]["arch"])

# %% [markdown]
# ## 3. Accuracy against latency: the Pareto front
#
# Each point is one proxy-trained network. A network is on the **Pareto front** when no other network
# is both more accurate and faster. The baselines show what scaling B1 alone achieves: a searched
# child above and left of the baselines' line would be a better trade than any width of B1.

# %%
from mnas.search.report import pareto_front

everything = result.children + result.random_children
front = pareto_front(everything)
fig, axis = plt.subplots(figsize=(7, 4.5))
for records, label, style in ((result.children, "controller (PPO)", dict(color="tab:orange")),
                              (result.random_children, "random search", dict(color="tab:grey", marker="x"))):
    axis.scatter([r["latency_ratio"] for r in records], [r["accuracy"] for r in records], label=label,
                 **style)
baselines = sorted(result.baselines, key=lambda r: r["latency_ratio"])
axis.plot([r["latency_ratio"] for r in baselines], [r["accuracy"] for r in baselines], "s-",
          color="tab:blue", label="MnasNet-B1 baselines")
for r in baselines:
    axis.annotate(f"x{r['width']:g}", (r["latency_ratio"], r["accuracy"]), textcoords="offset points",
                  xytext=(4, 4))
axis.step([r["latency_ratio"] for r in front], [r["accuracy"] for r in front], where="post", color="black",
          linestyle="--", label="Pareto front of the children")
axis.axvline(summary["target_ratio"], color="grey", linestyle=":", label="T")
axis.axhline(0.1, color="red", linestyle=":", linewidth=0.8, label="chance")
axis.set(xlabel="paired latency (x T, batch 1, 1 thread)", ylabel="proxy top-1",
         title="proxy accuracy vs paired latency")
axis.legend(fontsize=7)
show(fig, "pareto")
print(f"{len(front)} of {len(everything)} children on the Pareto front")
for r in front:
    print(f"  {r['sampler']:<6} top-1 {r['accuracy']:5.1%}  {r['latency_ratio']:5.2f} x T  "
          f"{r['macs'] / 1e6:5.1f}M MACs")

# %% [markdown]
# ## 4. Soft versus hard, on the same children
#
# The reward is a function of (accuracy, latency) only, so we can re-score the children we just
# measured with the hard constraint and see whether it would have preferred a different network.
# The picture draws the reward's **iso-lines** over our children: every point of one line earns the
# same reward, so the best child is the one on the highest line. Soft iso-lines are tilted (a little
# accuracy buys a lot of latency); hard ones are flat under T and bend down steeply beyond it.

# %%
target = summary["target_ratio"]  # 1: T is the skeleton's own latency, the unit of every ratio
rules = {"soft": objective("soft", target), "hard": objective("hard", target)}
for name, rule in rules.items():
    best = max(everything, key=lambda r: rule(r["accuracy"], r["latency_ratio"]))
    best_reward = rule(best["accuracy"], best["latency_ratio"])
    print(f"{name}: best child top-1 {best['accuracy']:5.1%}, {best['latency_ratio']:.2f} T, "
          f"reward {best_reward:.3f}")
over = [r for r in everything if r["latency_ratio"] > target]
print(f"{len(over)} of {len(everything)} children are slower than T; the hard reward scales them by T / LAT")

from mnas.lessons import draw_reward_isolines

points = [(r["latency_ratio"], r["accuracy"]) for r in everything]
accuracies = [a for _, a in points]
ratios = [r for r, _ in points]
show(draw_reward_isolines(points, accuracy_range=(max(0.0, min(accuracies) - 0.05), min(1.0, max(accuracies) + 0.05)),
                          ratio_range=(min(0.5, min(ratios) * 0.9), max(2.0, max(ratios) * 1.1))), "reward_isolines")

# %% [markdown]
# ## 5. Reward and entropy over the search; the controller against random search
#
# The entropy is that of the controller's softmaxes when it sampled each child (random search's is the
# constant entropy of uniform choices). With a budget this small the controller has made only a few
# PPO updates, so expect its entropy to have barely moved: the paper's controller learned over
# thousands of children. The right-hand panel compares the best reward found so far by each sampler,
# child by child, at the same budget.

# %%
fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 3.6))
for records, label, color in ((result.children, "controller (PPO)", "tab:orange"),
                              (result.random_children, "random search", "tab:grey")):
    steps = [r["step"] + 1 for r in records]
    rewards = [r["reward"] for r in records]
    left.plot(steps, rewards, "o-", color=color, label=label)
    middle.plot(steps, [r["entropy"] for r in records], "o-", color=color, label=label)
    right.plot(steps, np.maximum.accumulate(rewards), "o-", color=color, label=label)
left.set(title="reward of each child", xlabel="child")
middle.set(title="mean entropy per decision (nats)", xlabel="child")
right.set(title="best reward so far", xlabel="child")
left.legend(fontsize=8)
fig.tight_layout()
show(fig, "curves")
if result.random_children:
    random_search = summary["random_search"]
    print(f"mean reward: controller {summary['rl_mean_reward']:.3f}, "
          f"random {random_search['mean_reward']:.3f}; best: controller {summary['best']['reward']:.3f}, "
          f"random {random_search['best']['reward']:.3f}")
print("latency predictor on these children:", {k: round(v, 2) for k, v in summary["predictor"].items()})
accuracy = np.mean([r["accuracy"] for r in everything])
print(f"standard error of one proxy accuracy near {accuracy:.0%} on {VAL_IMAGES} images: "
      f"{np.sqrt(accuracy * (1 - accuracy) / VAL_IMAGES):.1%}")

# %% [markdown]
# With a handful of children per sampler, one lucky draw can decide "who wins": compare the gap in
# rewards above with the standard error of a single proxy accuracy printed below it. It would take
# many repeated searches (different seeds) and far more children to say whether the controller beats
# random sampling here: lesson 3's section 7 does that on the surrogate benchmark. The lesson to take is
# the mechanics and the honesty of the comparison: same space, same proxy training, same latency
# measurement, same budget.
#
# The search folder holds everything for later: `summary.json` (best child, front, predictor quality),
# `pareto.png` and `curves.png` drawn by the library, and the logs. Lesson 5 trains the best child.

# %%
for path in sorted(run_dir.iterdir()):
    print(f"  {path.name:<20} {path.stat().st_size:>8,} bytes")

# %% [markdown]
# ## 6. The same search as an Ikomia task, resumed
#
# In Ikomia STUDIO or a workflow the search is the `search_mini` task: a dataset folder in, the best
# child and the Pareto plot out (the library's `pareto.png`: its front is that of the *controller's*
# children only, random search's being the grey crosses, so it can differ from section 3's front of
# all children), each child's figures logged to MLflow (into a file store here, as in
# lesson 5). Pointed at our folder with the same settings, it **resumes** the search: every child is
# already in the logs, so it trains nothing, replays the controller's updates from the log and
# publishes the result.

# %%
os.environ.setdefault("IKOMIA_AUTO_COMPLETION", "0")  # do not rewrite ikomia's files in site-packages
from ikomia.core import IODataType
from ikomia.dataprocess import CPathIO
from ikomia.dataprocess.workflow import Workflow

from mnas_ikomia.tracking import use_file_store

use_file_store(OUTPUTS / "mlruns")
workflow = Workflow()
workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(cifar10_root())))
search_task = workflow.add_task(name="search_mini", auto_connect=True)
search_task.set_parameters({
    "budget_children": str(BUDGET), "train_images": str(TRAIN_IMAGES), "val_images": str(VAL_IMAGES),
    "latency_threads": "1", "compare_random": "True",
    "baseline_widths": ",".join(f"{w:g}" for w in config.baseline_widths),
    "output_folder": str(run_dir.resolve())})
start = time.perf_counter()
workflow.run()
print(f"search_mini: {time.perf_counter() - start:.1f} s, {len(search_task.result.children)} children "
      f"(none new); same best child: {search_task.result.summary['best']['arch'] == summary['best']['arch']}")
fig, axis = plt.subplots(figsize=(7, 4.5))
axis.imshow(search_task.get_output(1).get_image())
axis.axis("off")
axis.set_title("search_mini's image output (the library's pareto.png)")
show(fig, "search_mini_output")

# %% [markdown]
# ## Exercises
#
# 1. Run the search again with `constraint="hard"` in a new folder and compare the latencies of the
#    children the controller samples with the soft search's. Does the hard constraint keep them
#    under T?
# 2. Set `w=-0.3` (a much stronger latency penalty, soft), first by re-scoring the children above with
#    `objective("soft", target, w=-0.3)`, then with a new search in a *new* folder, e.g.
#    `OUTPUTS / "w-0.3"` (a search folder refuses other settings, so that resuming stays one search).
#    Which end of the Pareto front does the best child move to?
# 3. Run the random search with three different `seed`s at this budget and note the best reward each
#    time. How large is the spread, compared with the gap between the controller and random above?
#
# ## Summary
#
# * The reward $ACC\times(LAT/T)^w$ turns two objectives into one; its iso-lines show the trade: soft
#   ($w=-0.07$) gives about 5 % relative accuracy per doubling of latency, hard caps latency at T.
# * The live loop is the paper's: sample, proxy-train, time on the target (here: ONNX Runtime, paired
#   with the skeleton), reward, PPO; every child is logged before the controller learns, so it resumes.
# * A handful of children with a near-chance proxy cannot show a controller learning, nor tell it from
#   random search: that needs thousands of children and repeated seeds (lesson 3's synthetic reward and
#   surrogate benchmark; `bench/claims.py`), and "did the search help?" needs a fair final training
#   (lesson 5).
# * On the surrogate benchmark the hard constraint keeps the controller's children under T; where the
#   soft one puts them depends on where the accurate networks lie, and a stronger w pulls them faster.
#   A latency term steers a search only when its pull on the reward is larger than the accuracy's noise.
#
# ## References
#
# * M. Tan et al. *MnasNet: Platform-Aware Neural Architecture Search for Mobile.* CVPR 2019.
#   [arXiv:1807.11626](https://arxiv.org/abs/1807.11626) (section 3: the reward, soft and hard)
# * B. Zoph et al. *Learning Transferable Architectures for Scalable Image Recognition* (NASNet).
#   CVPR 2018. [arXiv:1707.07012](https://arxiv.org/abs/1707.07012)
# * J. Schulman et al. *Proximal Policy Optimization Algorithms.* 2017.
#   [arXiv:1707.06347](https://arxiv.org/abs/1707.06347)
# * E. Real, A. Aggarwal, Y. Huang, Q. V. Le. *Regularized Evolution for Image Classifier Architecture
#   Search.* AAAI 2019. [arXiv:1802.01548](https://arxiv.org/abs/1802.01548)
