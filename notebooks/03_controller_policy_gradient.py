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
# # Lesson 3 — The controller and policy gradient
#
# MnasNet's search is a loop: a **controller** proposes an architecture, the architecture is trained
# briefly and timed, and the resulting **reward** teaches the controller to propose better ones. The
# controller is a small recurrent network that emits one decision at a time (block 1's conv op, its
# kernel, ..., block 7's number of layers); it is a *policy* in the sense of reinforcement learning,
# and it is trained by **policy gradient**.
#
# Training real children takes minutes each. To see the learning itself, this lesson replaces the
# proxy training with a **synthetic reward whose best architecture we know**: a hidden target
# architecture, and a reward equal to the fraction of decisions that match it (plus a little noise,
# as a short training run would give). We then compare the two policy-gradient rules the history of NAS
# used — **REINFORCE** (the first NAS paper, Zoph & Le 2017) and **PPO** (NASNet, then MnasNet) — at
# the same budget of sampled children, and watch the probabilities move.
#
# **Objectives.** After this lesson you can
#
# * draw MnasNet's search loop and its factorized hierarchical search space, and say what the
#   controller emits;
# * write the REINFORCE and PPO objectives and say what each does with a batch of children;
# * read a controller's learning curves (reward, entropy, probability of the best architecture) against
#   a random search's at the same budget;
# * explain why the number of children a rule needs matters so much when each child is a training run.
# * run the controller, random search and regularised evolution over the paper's 8,000 children on a
#   surrogate benchmark of real measurements, over several seeds, and judge them with intervals.
#
# **Lesson time:** measured on the project's 2-core machine in fast mode (the test suite) and in full
# mode (the teacher's edition): `docs/lessons.md`, "Lesson times", in the repository.

# %% tags=["parameters"]
import os

FAST = os.environ.get("MNAS_FAST", "0") == "1"  # the test suite runs every lesson in fast mode

BUDGET = 160 if FAST else 800   # children sampled per run (each gets one synthetic reward)
SEEDS = (0,) if FAST else (0, 1, 2)
NOISE = 0.02                     # std of the reward noise (a proxy training run is not exact either)

# Section 7: the same controller (and random search, and evolution) on the surrogate benchmark
SURROGATE_FILE = ""                           # "": the measurements shipped with mnas (mnas/search/data/)
SURROGATE_BUDGET = 400 if FAST else 8000      # children per surrogate search (the paper's 8,000)
SURROGATE_SEEDS = range(3) if FAST else range(5)
OPTIMUM_QUERIES = 5_000 if FAST else 100_000  # networks the local search for the optimum scores

# %% [markdown]
# ## 1. The loop, and the search space as a sequence of decisions
#
# The paper's Figure 1 is the loop below (drawn by `mnas.lessons.pictures.draw_search_loop`): the controller
# samples a model, a trainer measures its accuracy, a phone its latency, and the multi-objective reward
# updates the controller. Lesson 4 runs that loop for real; this lesson studies the controller's half.
#
# The space is **factorized and hierarchical** (the paper's Figure 4): the network is a sequence of
# blocks, each block repeats one layer $N_i$ times, and each block makes its *own* six decisions
# (`draw_search_space`). With $|S|$ designs per block and $B$ blocks the space has $|S|^B$ networks,
# where a free choice per layer would give $|S|^{B\cdot N}$; yet blocks can still differ, which is
# what lesson 1 showed A1 exploiting.
#
# `mnas.search.space.SearchSpace` lists the decisions in the order the controller emits them: six per
# block, seven blocks, 42 in all. A child is the list of the 42 chosen indices; the space turns it into
# an architecture string of the project's grammar (lesson 1).

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from mnas.lessons import figure_shower, lesson_outputs, record_claims
from mnas.search.space import SearchSpace

torch.set_num_threads(1)
OUTPUTS = lesson_outputs(3)  # outputs/lesson03, git-ignored: the figures of this lesson
show = figure_shower(OUTPUTS)  # show(fig, name): saved there as name.png, then displayed

from mnas.lessons import draw_search_loop, draw_search_space

show(draw_search_loop(), "search_loop")
show(draw_search_space(), "search_space")

space = SearchSpace()
print(space.describe())
for step in space.steps[:6]:
    print(f"  {step.label:<10} choices {step.choices}")
print("  ... the same six for blocks 1 to 6")

# %% [markdown]
# ## 2. The controller: an LSTM with one softmax per decision
#
# `mnas.search.controller.Controller` is a one-layer LSTM (NASNet's controller was one too). At each
# step it reads the embedding of the previous decision, and that step's own linear head turns the LSTM
# state into a softmax over the step's choices. Sampling a child means sampling these 42 softmaxes in
# turn; the **log-probability** of the child is the sum of the 42 log-probabilities — this is what
# policy gradient pushes up or down. Freshly initialised, every softmax is close to uniform.

# %%
from mnas.search.controller import Controller

controller = Controller(space.num_choices, hidden=64, seed=0)
generator = torch.Generator().manual_seed(0)
uniform_log_prob = -sum(np.log(space.num_choices))
for _ in range(3):
    actions, log_probs, entropies = controller.sample(generator)
    first_block = space.arch(actions).split(", ")[1]
    print(f"log-probability {float(log_probs.sum()):7.2f}   (uniform: {uniform_log_prob:.2f})   "
          f"first block: {first_block}")

# %% [markdown]
# ## 3. A reward whose best architecture is known
#
# The hidden target is one random child. The reward of a child is the fraction of its 42 decisions
# equal to the target's, plus Gaussian noise: the target itself scores 1 on average, a uniformly random
# child 0.375 (the mean of 1 / number of choices over the 42 decisions).

# %%
target = space.random_actions(torch.Generator().manual_seed(1234))
print("target architecture:", space.arch(target))
chance = float(np.mean([1 / n for n in space.num_choices]))
print(f"expected reward of a uniformly random child: {chance:.3f}")


def synthetic_reward(actions, rng: np.random.Generator) -> float:
    matches = np.mean([a == t for a, t in zip(actions, target)])
    return float(matches + rng.normal(0.0, NOISE))


# %% [markdown]
# ## 4. Two policy-gradient rules
#
# **REINFORCE** (Williams, 1992; the first NAS controller, Zoph & Le 2017) follows the gradient of the
# expected reward: for each sampled child $m$, push its log-probability up in proportion to its
# *advantage*, the reward $R(m)$ minus a baseline $b$ (here an exponential moving average of past
# rewards, which lowers the variance). With $\theta$ the controller's weights, a batch of $n$
# children and an entropy bonus $\beta H$:
#
# $$\mathcal{L}_{\text{REINFORCE}}(\theta) = -\frac{1}{n}\sum_{j=1}^{n} \big(R(m_j) - b\big)\,
#   \log p_\theta(m_j) \;-\; \beta\, H(p_\theta)$$
#
# One gradient step per batch, then the batch is thrown away. The library implements PPO only, so we
# write REINFORCE here with the controller's own `log_prob`: it takes a dozen lines.
#
# **PPO** (Schulman et al., 2017; NASNet's and MnasNet's choice) reuses each batch for several
# gradient steps. To keep those steps from moving the policy too far from the one that sampled the
# batch, it clips the probability ratio $r_j = p_\theta(m_j) / p_{\theta_{old}}(m_j)$ to
# $[1-\epsilon, 1+\epsilon]$ with $\epsilon = 0.2$, where $A_j = R(m_j) - b$:
#
# $$\mathcal{L}_{\text{PPO}}(\theta) = -\frac{1}{n}\sum_{j=1}^{n} \min\big(r_j A_j,\;
#   \operatorname{clip}(r_j, 1-\epsilon, 1+\epsilon)\, A_j\big) \;-\; \beta\, H(p_\theta)$$
#
# `mnas.search.controller.PPO` implements it. Both use the same learning rate, batch size, baseline
# and entropy bonus; what differs is the update rule *and* the number of gradient steps: PPO takes 4
# clipped steps per batch where REINFORCE takes one, so part of PPO's speed here is simply more
# optimisation per child.

# %%
from mnas.search.controller import PPO, PPOConfig

CONFIG = PPOConfig()  # lr, batch, epochs, clip, entropy weight, baseline decay: shared by both rules
print(CONFIG)


class Reinforce:
    """REINFORCE with an EMA baseline and an entropy bonus: one gradient step per batch."""

    def __init__(self, controller: Controller, config: PPOConfig = CONFIG):
        self.controller, self.config = controller, config
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=config.lr)
        self.baseline, self.pending = None, []

    def record(self, actions, old_log_prob, reward):
        self.pending.append((actions, reward))
        if len(self.pending) < self.config.batch:
            return
        actions = torch.tensor([a for a, _ in self.pending])
        rewards = torch.tensor([r for _, r in self.pending])
        self.pending = []
        if self.baseline is None:
            self.baseline = float(rewards.mean())
        advantages = rewards - self.baseline
        decay = self.config.baseline_decay
        for r in rewards.tolist():
            self.baseline = decay * self.baseline + (1 - decay) * r
        log_probs, entropies = self.controller.log_prob(actions)  # summed over the 42 decisions
        entropy_bonus = self.config.entropy_weight * entropies.mean() / len(self.controller.num_choices)
        loss = -(advantages * log_probs).mean() - entropy_bonus
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


# %% [markdown]
# ## 5. Running both at the same budget
#
# Each run samples `BUDGET` children one at a time, exactly like the search loop: sample, score,
# `record`. Every batch we note the mean reward, how many of the 42 greedy (most probable) decisions
# equal the target's, the log-probability of the target architecture itself, and the mean entropy of
# the softmaxes. A random search, which never learns, is the reference.

# %%
import time


def run(rule: str, seed: int) -> tuple[dict, Controller]:
    """One search with a synthetic reward; its per-batch history and the controller it leaves."""
    controller = Controller(space.num_choices, hidden=64, seed=seed)
    learner = {"reinforce": Reinforce, "ppo": PPO}[rule](controller, CONFIG) if rule != "random" else None
    generator, rng = torch.Generator().manual_seed(seed), np.random.default_rng(seed)
    history = {key: [] for key in ("children", "reward", "greedy_matches", "log10_p_target", "entropy")}
    rewards = []
    for child in range(1, BUDGET + 1):
        if learner is None:
            actions, log_prob = space.random_actions(generator), 0.0
            entropy = np.log(space.num_choices).mean()  # uniform choices
        else:
            actions, log_probs, entropies = controller.sample(generator)
            log_prob, entropy = float(log_probs.sum()), float(entropies.mean())
        rewards.append(synthetic_reward(actions, rng))
        if learner is not None:
            learner.record(actions, log_prob, rewards[-1])
        if child % CONFIG.batch == 0:
            with torch.no_grad():
                log_p_target = float(controller.log_prob([target])[0][0])
            history["children"].append(child)
            history["reward"].append(np.mean(rewards[-CONFIG.batch:]))
            history["greedy_matches"].append(sum(a == t for a, t in zip(controller.greedy(), target))
                                             if learner else np.nan)
            history["log10_p_target"].append(log_p_target / np.log(10) if learner else np.nan)
            history["entropy"].append(entropy)
    return {key: np.array(values) for key, values in history.items()}, controller


runs, controllers, halves = {}, {}, {}
for rule in ("random", "reinforce", "ppo"):
    start = time.perf_counter()
    results = [run(rule, seed) for seed in SEEDS]
    runs[rule], controllers[rule] = [h for h, _ in results], [c for _, c in results]
    rewards = np.array([h["reward"] for h in runs[rule]])
    half = rewards.shape[1] // 2
    greedy = np.mean([h["greedy_matches"][-1] for h in runs[rule]])
    print(f"{rule:<10} {time.perf_counter() - start:5.1f} s; mean reward over the first half of the budget "
          f"{rewards[:, :half].mean():.3f}, the second half {rewards[:, half:].mean():.3f}"
          + (f"; greedy decisions equal to the target at the end: {greedy:.1f} / {len(target)}"
             if rule != "random" else ""))
    halves[rule] = {"first_half": float(rewards[:, :half].mean()), "second_half": float(rewards[:, half:].mean())}
record_claims(OUTPUTS, synthetic_reward=halves)  # checked by the notebook tests: learning beats random

# %%
colors = {"random": "grey", "reinforce": "tab:blue", "ppo": "tab:orange"}


def smooth(values, window=5):
    return np.convolve(values, np.ones(window) / window, mode="valid")


fig, axes = plt.subplots(2, 2, figsize=(11, 7))
panels = [("reward", "mean reward per batch (smoothed)", True),
          ("greedy_matches", "greedy decisions = target (of 42)", False),
          ("log10_p_target", "log10 P(target architecture)", False),
          ("entropy", "mean entropy per decision (nats)", False)]
for axis, (key, title, smoothed) in zip(axes.flat, panels):
    for rule, histories in runs.items():
        if np.isnan(histories[0][key]).all():
            continue
        for k, history in enumerate(histories):
            values = smooth(history[key]) if smoothed else history[key]
            axis.plot(history["children"][-len(values):], values, color=colors[rule], alpha=0.8,
                      label=rule if k == 0 else None)
    axis.set(title=title, xlabel="children sampled")
axes[0, 0].axhline(1.0, color="black", linestyle=":", label="best possible")
axes[0, 0].legend()
fig.tight_layout()
show(fig, "reinforce_vs_ppo")

# %% [markdown]
# Read the four panels together. The reward of the learning rules rises above the random search's
# flat line as the controller's softmaxes concentrate (entropy falls), and the greedy architecture
# gathers more and more of the target's decisions. The log-probability of the target starts near the
# uniform value (about -18 in log10: one chance in 10^18) and climbs by many orders of magnitude.
#
# Which rule is ahead *early* matters most for a real search, where every child costs a training run:
# compare the first-half and second-half rewards printed above. PPO takes four clipped steps per batch
# where REINFORCE takes one, so it can move sooner on few children; REINFORCE, with the same learning
# rate, keeps moving at its own pace and can catch up once many batches have come in. Which of the two
# wins, and when, depends on the learning rate, the batch and the reward's noise — the exercises let
# you probe that.
#
# ## 6. Watching the probabilities move
#
# For one block we look inside the controller: the probability of each choice of each decision,
# estimated by sampling 200 children from the controller before (a fresh controller with the same
# seed) and after the PPO run of seed 0 above. The target's choice is marked.

# %%
def choice_frequencies(controller: Controller, samples: int = 200) -> list[np.ndarray]:
    generator = torch.Generator().manual_seed(99)
    drawn = np.array([controller.sample(generator)[0] for _ in range(samples)])
    return [np.bincount(drawn[:, i], minlength=n) / samples for i, n in enumerate(space.num_choices)]


before = choice_frequencies(Controller(space.num_choices, hidden=64, seed=SEEDS[0]))
after = choice_frequencies(controllers["ppo"][0])

block = 3
steps = [i for i, step in enumerate(space.steps) if step.block == block]
fig, axes = plt.subplots(1, len(steps), figsize=(13, 2.8), sharey=True)
for axis, i in zip(axes, steps):
    positions = np.arange(space.num_choices[i])
    axis.bar(positions - 0.2, before[i], width=0.4, color="lightgrey", label="before")
    axis.bar(positions + 0.2, after[i], width=0.4, color="tab:orange", label="after PPO")
    axis.bar(target[i] + 0.2, after[i][target[i]], width=0.4, color="tab:orange", edgecolor="black",
             linewidth=2)
    axis.set_xticks(positions, [str(c) for c in space.steps[i].choices], fontsize=7)
    axis.set_title(space.steps[i].name)
axes[0].set_ylabel("sampling frequency")
axes[0].legend(fontsize=7)
fig.suptitle(f"block {block}: choice frequencies before and after {BUDGET} children (black edge: target)")
fig.tight_layout()
show(fig, "probabilities")
moved = np.mean([after[i][target[i]] - before[i][target[i]] for i in range(len(target))])
print(f"mean change of the target choice's frequency over all 42 decisions: {moved:+.2f}")

# %% [markdown]
# In the real search each reward costs a proxy training of a child. The paper could afford about
# 8,000 children (64 TPUs for 4.5 days); this project's live search on a laptop trains tens (lesson 4
# runs a handful, the main job 24), so how much a rule learns *per child* is what matters. That is
# what PPO's reuse of each batch is for, and why MnasNet adopted it; the real reward is also far
# noisier than this one: section 7 shows how much.

# %% [markdown]
# ## 7. The controller on real measurements: the surrogate benchmark
#
# The synthetic reward above has one sharp optimum and little noise. The real reward is an accuracy
# after a short training times a measured latency ratio, and both are noisy. Training and timing a
# child takes a minute or more here, so the paper's 8,000 children would take a week, and comparing
# strategies fairly takes many such runs. The project therefore ships a **surrogate benchmark** of the
# whole search space, built the way NAS-Bench-301 was built for the DARTS space: several hundred
# architectures drawn uniformly from the space (networks that the space spells two ways counted once),
# each trained for real at the project's final recipe ("recipe F": 3 epochs on 10,000 CIFAR-10
# images, top-1 on 5,000 other images of `train/`; `test/` is never read), a tenth of them with three
# training seeds, all timed with the search's paired meter against the skeleton on ONNX Runtime and on
# eager PyTorch. A regressor fitted on those measurements (ridge and gradient boosting on the
# decisions and the resolved blocks: MACs, parameters, layers, SE layers) predicts any network's
# recipe-F accuracy; per-engine latency models predict its paired latency. A search in **surrogate
# mode** (`SearchConfig(evaluator="surrogate")`) runs the same loop, samplers and reward, but each
# child's accuracy is the prediction plus one draw of the measured seed noise, so the reward is as
# noisy as a real training's, and thousands of children take seconds to a minute.
#
# First the measurements themselves: how far apart the architectures are (the *signal* a controller
# can learn) against how much one architecture's accuracy moves from one training seed to another (the
# *noise*), and how well the surrogate predicts an architecture it was not fitted on (five-fold
# cross-validation: each architecture predicted by a model that never saw it).

# %%
from mnas.latency.meter import spearman
from mnas.search.reward import objective
from mnas.search.surrogate.features import features
from mnas.search.surrogate.model import cross_validated, measured_architectures, seed_noise
from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, load_runs

header, trainings = load_runs(SURROGATE_FILE or DEFAULT_SURROGATE)
measured = measured_architectures(trainings)
randoms = [m for m in measured if m.role == "random"]
accuracy = np.array([m.accuracy for m in randoms])
ratio = np.array([m.latency["onnxruntime"] for m in randoms])
noise = seed_noise(randoms)
predicted = cross_validated("ensemble", np.array([features(m.arch) for m in randoms]), accuracy)
rank_correlation = float(spearman(predicted, accuracy))
print(f"{len(trainings):,} trainings at recipe {header['recipe']['name']}: {len(randoms)} random architectures, "
      f"{noise['architectures']} of them with several seeds")
print(f"signal: top-1 across random architectures {accuracy.min():.1%} to {accuracy.max():.1%}, "
      f"standard deviation {accuracy.std():.2%}")
print(f"noise:  top-1 of one architecture across training seeds, standard deviation {noise['seed_sd']:.2%}; "
      f"one seed's share of the variance that is the architecture's (intraclass correlation) "
      f"{noise['icc_one_seed']:.2f}")
print(f"the surrogate on architectures it never saw: Spearman {rank_correlation:.2f} against the measured top-1")
record_claims(OUTPUTS, surrogate_noise={"accuracy_spread_std": float(accuracy.std()), "accuracy_seed_std":
                                        noise["seed_sd"], "icc_one_seed": noise["icc_one_seed"],
                                        "cross_validated_spearman": rank_correlation,
                                        "random_architectures": len(randoms)})

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.scatter(ratio, accuracy, s=8, color="tab:blue", label="random architectures")
for family, style, color in (("b1", "o-", "black"), ("mobilenetv2", "s-", "tab:red")):
    curve = sorted((m.latency["onnxruntime"], m.accuracy) for m in measured if m.family == family)
    left.plot(*zip(*curve), style, color=color, label=f"{family} at 4 widths")
left.errorbar([ratio.max()], [accuracy.min()], yerr=noise["seed_sd"], color="black", capsize=4,
              label="+-1 seed standard deviation")
left.axvline(1.0, color="grey", linestyle=":", label="T (the skeleton)")
left.set(xscale="log", xlabel="paired latency on ONNX Runtime (x T)", ylabel="recipe-F top-1",
         title=f"the measurements: {len(randoms)} random architectures")
left.set_xticks((0.25, 0.5, 1, 2, 4), ["0.25", "0.5", "1", "2", "4"], minor=False)
left.set_xticks([], minor=True)
left.legend(fontsize=7)
right.scatter(accuracy, predicted, s=8)
line = [accuracy.min(), accuracy.max()]
right.plot(line, line, color="grey", linestyle=":")
right.set(xlabel="measured top-1", ylabel="surrogate's prediction (never fitted on it)",
          title=f"five-fold cross-validation: Spearman {rank_correlation:.2f}")
fig.tight_layout()
show(fig, "surrogate")

# %% [markdown]
# Now the project's three strategies on the surrogate, each run `len(SURROGATE_SEEDS)` times (seeds)
# with `SURROGATE_BUDGET` children, under the paper's **hard** constraint at T = the skeleton's latency
# (lesson 4 explains the rules; most of the space is slower than the skeleton, so the constraint
# binds): the PPO controller with the library's default settings (`sampler="rl"`), uniform random
# search (`"random"`), and regularised evolution (`"evolution"`: Real et al., 2019; mutate one
# decision of the best of a few members drawn from the last 20 children). Each run is a real `Search` in
# its own folder, with its logs; `mnas.search.benchmark_search` makes one. The runs are independent, so
# they share the cores: `mnas.search.parallel.run_searches` takes `{key: Search}`, runs them in
# parallel processes (one per core, one torch thread each: the controller is tiny, and processes use
# the cores better than threads do) and returns `{key: children}`.

# %%
import functools

from mnas.search import SearchConfig, benchmark_search
from mnas.search.parallel import run_searches

STRATEGIES = ("rl", "random", "evolution")
# a fresh surrogate-mode search each time the lesson runs, in a folder named after its sampler, its seed
# and any setting it changes: lesson_search(sampler="rl", seed=0, entropy_weight=0.01)
lesson_search = functools.partial(benchmark_search, OUTPUTS / "surrogate", evaluator="surrogate", fresh=True,
                                  surrogate_file=SURROGATE_FILE, budget_children=SURROGATE_BUDGET,
                                  constraint="hard")

start = time.perf_counter()
searches = run_searches({(sampler, seed): lesson_search(sampler=sampler, seed=seed)
                         for sampler in STRATEGIES for seed in SURROGATE_SEEDS})
print(f"{len(searches)} surrogate searches of {SURROGATE_BUDGET:,} children in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# What each run's log tells us, averaged over the seeds (shaded: the 95 % bootstrap interval of that
# mean over the seeds):
#
# * the **reward of the children sampled**, per window of a tenth of the budget: a sampler that learns
#   samples better children as it goes;
# * the controller's **entropy** per decision (the mean over the 42; uniform sampling's is drawn
#   dotted);
# * the **regret** of the search's answer: after $n$ children the search answers with its best
#   *logged* child (the highest noisy reward, the same rule for every strategy), whose true worth is
#   its **noise-free** reward (the surrogate's prediction, without the seed draw). The regret is the
#   surrogate's optimum minus that; the optimum is found by local search over single decisions
#   (`mnas.search.surrogate.optimum`), so the regret is a lower bound;
# * the median **latency** of the children sampled, where T = 1.

# %%
from mnas.search.surrogate.executor import SurrogateExecutor
from mnas.search.surrogate.optimum import surrogate_optimum
from mnas.utils.stats import mean_interval

hard_reward = objective("hard", 1.0)  # T is the skeleton's latency: every latency is a ratio LAT / T
executor = SurrogateExecutor(SearchConfig(evaluator="surrogate", surrogate_file=SURROGATE_FILE))
start = time.perf_counter()
optimum = surrogate_optimum(executor, hard_reward, OPTIMUM_QUERIES)
print(f"the surrogate's optimum: noise-free reward {optimum['reward']:.4f}, found with {optimum['queries']:,} "
      f"networks scored in {time.perf_counter() - start:.0f} s")
WINDOW = max(1, SURROGATE_BUDGET // 10)  # children per window of the curves


def true_reward(record) -> float:
    """A child's reward with the surrogate's noise-free accuracy: its worth without one seed's luck."""
    return hard_reward(record["surrogate_accuracy"], record["latency_ratio"])


def regret_curve(children: list[dict]) -> list[float]:
    best, curve = None, []
    for record in children:
        best = record if best is None or record["reward"] > best["reward"] else best
        curve.append(optimum["reward"] - true_reward(best))
    return curve


def per_seed(runs: list[list[dict]], value) -> np.ndarray:
    """seeds x children: value(record) of every child of every run."""
    return np.array([[value(record) for record in children] for children in runs])


def windows(values: np.ndarray, statistic=np.mean) -> np.ndarray:
    """seeds x windows: the statistic of each window of WINDOW children (a last partial one left out)."""
    count = values.shape[1] // WINDOW
    return statistic(values[:, :count * WINDOW].reshape(len(values), count, WINDOW), axis=2)


curves = {}
for sampler in STRATEGIES:
    seed_runs = [searches[sampler, seed] for seed in SURROGATE_SEEDS]
    curves[sampler] = {"reward": windows(per_seed(seed_runs, lambda r: r["reward"])),
                       "entropy": windows(per_seed(seed_runs, lambda r: r["entropy"])),
                       "latency": windows(per_seed(seed_runs, lambda r: r["latency_ratio"]), np.median),
                       "regret": np.array([regret_curve(children) for children in seed_runs])}
uniform_entropy = float(np.mean(np.log(executor.space.num_choices)))
window_ends = np.arange(1, SURROGATE_BUDGET // WINDOW + 1) * WINDOW
checkpoints = np.unique(np.geomspace(1, SURROGATE_BUDGET, 30).astype(int))  # budgets the regret is drawn at
strategy_colors = {"rl": "tab:orange", "random": "grey", "evolution": "tab:green"}


def plot_band(axis, x, values, color, label=None):
    """The mean over seeds (rows) and its 95 % bootstrap interval."""
    bands = np.array([mean_interval(column) for column in values.T])
    axis.fill_between(x, bands[:, 1], bands[:, 2], color=color, alpha=0.2)
    axis.plot(x, bands[:, 0], color=color, label=label)


fig, axes = plt.subplots(2, 2, figsize=(11, 7))
for sampler in STRATEGIES:
    color = strategy_colors[sampler]
    plot_band(axes[0, 0], window_ends, curves[sampler]["reward"], color, sampler)
    plot_band(axes[1, 0], checkpoints, curves[sampler]["regret"][:, checkpoints - 1], color, sampler)
    plot_band(axes[1, 1], window_ends, curves[sampler]["latency"], color, sampler)
plot_band(axes[0, 1], window_ends, curves["rl"]["entropy"], strategy_colors["rl"], "rl")
axes[0, 1].axhline(uniform_entropy, color="grey", linestyle=":", label="uniform (random search)")
axes[1, 1].axhline(1.0, color="black", linestyle=":", label="T")
axes[1, 0].set_xscale("log")
for axis, title in zip(axes.flat, ("mean reward of the children sampled", "entropy per decision (nats)",
                                   "regret of the best logged child", "median latency sampled (x T)")):
    axis.set(title=title, xlabel="children")
    axis.legend(fontsize=7)
fig.suptitle(f"the surrogate benchmark: {len(SURROGATE_SEEDS)} seeds x {SURROGATE_BUDGET:,} children per strategy")
fig.tight_layout()
show(fig, "surrogate_strategies")

# %%
def interval_text(values) -> str:
    mean, low, high = mean_interval(values)
    return f"{mean:.4f} ({low:.4f} to {high:.4f})"


early = [b for b in (100, 500, 1000, 3000) if b < SURROGATE_BUDGET] + [SURROGATE_BUDGET]
entropy = curves["rl"]["entropy"]
gaps = {other: curves["rl"]["regret"] - curves[other]["regret"] for other in ("random", "evolution")}  # by seed
print(f"mean over {len(SURROGATE_SEEDS)} seeds (95 % bootstrap interval)")
for sampler in STRATEGIES:
    sampled, regret = curves[sampler]["reward"], curves[sampler]["regret"]
    print(f"{sampler:<10} reward sampled, first window {interval_text(sampled[:, 0])}, "
          f"last window {interval_text(sampled[:, -1])}")
    print(" " * 11 + "regret after " + ", ".join(f"{b}: {interval_text(regret[:, b - 1])}" for b in early))
print(f"rl entropy per decision: first window {entropy[:, 0].mean():.3f}, last {entropy[:, -1].mean():.3f} "
      f"(uniform {uniform_entropy:.3f})")
for other, gap in gaps.items():
    print(f"rl's regret minus {other}'s, paired by seed (below zero: rl's answer is better)")
    for b in early:
        print(f"  after {b:>5} children {interval_text(gap[:, b - 1])}")

record_claims(OUTPUTS, surrogate={
    "budget": SURROGATE_BUDGET, "seeds": len(SURROGATE_SEEDS), "uniform_entropy": uniform_entropy,
    "optimum_reward": optimum["reward"],
    "rl_entropy": {"first_window": float(entropy[:, 0].mean()), "last_window": float(entropy[:, -1].mean())},
    "reward": {s: {"first_window": mean_interval(curves[s]["reward"][:, 0]),
                   "last_window": mean_interval(curves[s]["reward"][:, -1])} for s in STRATEGIES},
    "regret": {s: {b: mean_interval(curves[s]["regret"][:, b - 1]) for b in early} for s in STRATEGIES},
    "rl_minus_other_regret": {other: {b: mean_interval(gap[:, b - 1]) for b in early}
                              for other, gap in gaps.items()},
    "latency_last_window": {s: float(curves[s]["latency"][:, -1].mean()) for s in STRATEGIES}})

# %% [markdown]
# Read the panels with the figures printed above them.
#
# * **The measurements have a signal.** At recipe F the architectures of the space lie several seed
#   standard deviations apart, and one training seed says most of what the architecture is worth (the
#   intraclass correlation). The surrogate ranks architectures it never saw close to their measured
#   order. It was not so for the project's first benchmark, a table of a small sub-space measured
#   with the 1-epoch proxy: there the spread between architectures was smaller than one seed's noise,
#   and a controller learned the proxy's luck (the repository's `docs/search/findings.md` tells that
#   story).
# * **The controller learns.** The reward of the children it samples rises far above random search's
#   flat line, and its entropy falls below uniform: it concentrates on the choices that pay (most of
#   its late children are under T) while still drawing new networks, since 42 decisions leave room.
# * **Its answer beats random search's.** The regret of its best logged child falls faster than random
#   search's, and at the end of the budget the paired interval of their difference lies below zero:
#   random search keeps drawing uniformly from a space where most networks are slower than T, while
#   the controller learns where the good networks under T are. Regularised evolution, which also
#   exploits what it has measured, is printed beside it: compare them yourself.
# * **How sure is this?** Over a handful of seeds the intervals are wide; the project's claims bench
#   (`bench/claims.py`) runs the same comparison over 30 seeds x 8,000 children and checks the answers
#   by training them for real (the repository's `docs/search/findings.md`, "What the search shows").
#
# Your run's figures are the ones printed above; the teacher's edition's, for comparison, are in the
# repository's `docs/lessons.md` ("The teacher's runs of lessons 3 and 4").
#
# ## Exercises
#
# 1. Set `CONFIG = PPOConfig(epochs=1)`: PPO then takes a single step per batch. How close does it come
#    to REINFORCE, and why (what is the ratio r on the first step)?
# 2. Set the entropy weight to 0 (`PPOConfig(entropy_weight=0.0)`) and then to 0.5. How do the entropy
#    and the greedy-match curves change? What goes wrong with too little exploration on a noisier
#    reward (`NOISE = 0.2`)?
# 3. Replace the reward by one with a trade-off, e.g. matches minus 0.02 per `mbconv6` op (a latency
#    penalty). Which decisions does the controller now learn differently?
# 4. On the surrogate (section 7), run the controller alone with one of its settings changed:
#    `lesson_search(sampler="rl", seed=seed, ppo_normalize=...)` with the opposite of
#    `SearchConfig().ppo_normalize`
#    (advantages divided by the running standard deviation of the rewards), then with four times the
#    default `entropy_weight`; run them with `run_searches` over a few of `SURROGATE_SEEDS`. How do the
#    entropy, the reward sampled in the last window and the final regret change?
# 5. Run section 7's three strategies with `constraint="soft"` (the paper's w = -0.07) instead of the
#    hard rule, scoring the answers by the soft reward. Does the controller's edge over random search
#    change? Lesson 4 shows where each rule makes the controller sample.
#
# ## Summary
#
# * The controller is a policy: an LSTM emitting the 42 decisions of the factorized space one softmax
#   at a time; a child's log-probability is the sum of its 42 choices'.
# * REINFORCE takes one gradient step per batch on $(R-b)\log p$; PPO reuses the batch for several
#   clipped steps, so it learns more per child (and, here, also takes 4x the gradient steps).
# * Learning shows as reward rising above random search's flat line, entropy falling and the best
#   architecture's probability climbing by orders of magnitude.
# * With a real reward every child costs a training run: the paper's 8,000 children are out of reach
#   on a laptop, so lesson 4's live search shows the loop's mechanics, not a controller learning.
# * A surrogate benchmark (a few hundred real trainings of the whole space and a regressor fitted on
#   them, with the measured seed noise) makes the paper's 8,000 children cheap. Where the
#   measurements carry a signal, the controller learns it: its sampled reward rises, its entropy
#   falls, and its answer beats random search's at the same budget. Judge strategies over many seeds,
#   with intervals, and check a surrogate's answers by training them for real.
#
# ## References
#
# * B. Zoph, Q. V. Le. *Neural Architecture Search with Reinforcement Learning.* ICLR 2017.
#   [arXiv:1611.01578](https://arxiv.org/abs/1611.01578) (REINFORCE controller)
# * B. Zoph, V. Vasudevan, J. Shlens, Q. V. Le. *Learning Transferable Architectures for Scalable Image
#   Recognition* (NASNet). CVPR 2018. [arXiv:1707.07012](https://arxiv.org/abs/1707.07012) (PPO controller)
# * J. Schulman, F. Wolski, P. Dhariwal, A. Radford, O. Klimov. *Proximal Policy Optimization
#   Algorithms.* 2017. [arXiv:1707.06347](https://arxiv.org/abs/1707.06347)
# * R. J. Williams. *Simple statistical gradient-following algorithms for connectionist reinforcement
#   learning.* Machine Learning 8, 1992.
# * M. Tan et al. *MnasNet: Platform-Aware Neural Architecture Search for Mobile.* CVPR 2019.
#   [arXiv:1807.11626](https://arxiv.org/abs/1807.11626)
# * X. Dong, Y. Yang. *NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search.*
#   ICLR 2020. [arXiv:2001.00326](https://arxiv.org/abs/2001.00326) (a benchmark table)
# * A. Zela, J. Siems, L. Zimmer, J. Lukasik, M. Keuper, F. Hutter. *Surrogate NAS Benchmarks: Going
#   Beyond the Limited Search Spaces of Tabular NAS Benchmarks* (NAS-Bench-301). ICLR 2022.
#   [arXiv:2008.09777](https://arxiv.org/abs/2008.09777)
# * C. Li et al. *HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark.* ICLR 2021.
#   [arXiv:2103.10584](https://arxiv.org/abs/2103.10584) (measured latencies in the table)
# * E. Real, A. Aggarwal, Y. Huang, Q. V. Le. *Regularized Evolution for Image Classifier Architecture
#   Search.* AAAI 2019. [arXiv:1802.01548](https://arxiv.org/abs/1802.01548)
