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
# # Lesson 2 — Latency is not FLOPs
#
# Mobile architecture papers before MnasNet counted **multiply-accumulates** (MACs, often loosely
# called FLOPs) as their measure of speed. MnasNet's authors argued that this proxy is inaccurate: two
# networks with about the same MACs can run at very different speeds, because speed also depends on
# memory traffic, on how many separate layers must be launched, and on how well each kind of operation
# is implemented on the device. So they put the **measured latency on the target phone** into the
# search's reward.
#
# In this lesson we check that claim on *this* machine: we time many networks, compare their measured
# latency with their MACs, then build the cheaper alternative the project also offers — a per-layer
# **lookup table** that predicts a network's latency without running it — and see how well it ranks
# networks.
#
# **Objectives.** After this lesson you can
#
# * measure a network's latency at batch 1 the way the search does, and read a latency's noise;
# * test whether MACs *rank* networks as latency does (Spearman's $\rho$), and say why ranking is what a
#   search needs;
# * build a per-layer lookup-table predictor and judge it on networks it was and was not built from;
# * explain why the paper measured on the phone, and which engine this project's search measures with.
#
# **Lesson time:** measured on the project's 2-core machine in fast mode (the test suite) and in full
# mode (the teacher's edition): `docs/lessons.md`, "Lesson times", in the repository.

# %% tags=["parameters"]
import os

FAST = os.environ.get("MNAS_FAST", "0") == "1"  # the test suite runs every lesson in fast mode

CHILDREN = 10 if FAST else 60        # networks sampled from the search space, timed at 32 px
REPEATS = 8 if FAST else 30          # timed calls per network (after warm-up); the median is kept
TABLE_REPEATS = 4 if FAST else 15    # timed calls per layer of the lookup table
VARIANT_REPEATS = 5 if FAST else 20  # the same for the named variants at 224 px

# %% [markdown]
# ## 1. How we measure
#
# `mnas.latency.meter.measure_latency` runs the network at **batch 1** (one image at a time, as on a phone
# camera), on **one thread** (the paper used one big core of a Pixel 1), after a few warm-up calls, and
# keeps every call's time; the **median** is the figure we use, because a busy machine adds occasional
# slow calls that would drag a mean. The coefficient of variation (std / mean) says how repeatable the
# samples were: if other programs run on the same cores, it grows.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from mnas.latency import measure_latency
from mnas.lessons import figure_shower, lesson_outputs
from mnas.models import VARIANTS, count_macs, count_params, create_model

torch.manual_seed(0)
OUTPUTS = lesson_outputs(2)  # outputs/lesson02, git-ignored: the figures of this lesson
show = figure_shower(OUTPUTS)  # show(fig, name): saved there as name.png, then displayed

latency = measure_latency(create_model("mnasnet1_0"), 224, threads=1, repeats=VARIANT_REPEATS)
print(f"mnasnet1_0 at 224 px: median {latency.median_ms:.1f} ms over {len(latency.samples_ms)} calls, "
      f"coefficient of variation {latency.cv:.0%}")
print("samples (ms):", [round(s, 1) for s in latency.samples_ms])

# %% [markdown]
# ## 2. The published variants at 224 px
#
# First the six named MnasNets at ImageNet resolution. The table sorts them by MACs; look whether the
# latency column comes out in the same order.

# %%
variant_rows = []
for name in VARIANTS:
    model = create_model(name)
    variant_rows.append((name, count_macs(model, 224), measure_latency(model, 224, repeats=VARIANT_REPEATS)))
variant_rows.sort(key=lambda row: row[1])
print(f"{'variant':<14} {'MACs':>8} {'latency':>10} {'ms per 100M MACs':>17}")
for name, macs, lat in variant_rows:
    print(f"{name:<14} {macs / 1e6:7.0f}M {lat.median_ms:8.1f} ms {lat.median_ms / (macs / 1e8):14.1f}")

# %% [markdown]
# The last column is the cost of 100M MACs on this CPU for each network. If latency were
# *proportional* to MACs it would be the same on every row. That is a stronger claim than a search
# needs: a search only needs MACs to *order* networks the way latency does, and a column that varies
# does not rule that out (a network can cost more per MAC and still be faster overall). Section 4
# tests the ordering itself, on many networks.
#
# ## 3. Many networks from the search space, at 32 px
#
# The search of lessons 3-4 samples networks from MnasNet's factorized space (per block: conv op,
# kernel, squeeze-and-excitation, skip, filters, layers) over a MnasNet-B1 skeleton for 32 px images.
# We draw networks uniformly from that space and time each of them the same way as the search does.

# %%
from mnas.search.space import SearchSpace

space = SearchSpace()
print(space.describe())
generator = torch.Generator().manual_seed(0)
children = []
for _ in range(CHILDREN):
    arch = space.arch(space.random_actions(generator))
    model = create_model(arch, num_classes=10, input_size=32)
    children.append({"arch": arch, "macs": count_macs(model, 32), "params": count_params(model),
                     "layers": sum(1 for m in model.modules() if isinstance(m, torch.nn.Conv2d)),
                     "latency": measure_latency(model, 32, repeats=REPEATS)})
macs = np.array([c["macs"] / 1e6 for c in children])
measured = np.array([c["latency"].median_ms for c in children])
noise = np.median([c["latency"].cv for c in children])
print(f"{len(children)} networks: {macs.min():.1f}-{macs.max():.1f}M MACs, "
      f"{measured.min():.2f}-{measured.max():.2f} ms; median coefficient of variation {noise:.0%}")
if noise > 0.10:
    print("WARNING: the calls of one network vary by more than 10 %: other programs are using the CPU. "
          "The rankings below are then partly noise; close them and re-run for cleaner figures.")

# %% [markdown]
# ## 4. Latency against MACs
#
# A scatter plot, and one number: **Spearman's rank correlation** between MACs and latency. It only
# asks whether the two *order* the networks the same way (1: same order, 0: unrelated). Ranking is what
# a search needs: it must tell which of two candidates is faster, not by how many milliseconds.
# We also mark the pair of networks whose MACs differ the least relative to the gap in their latency.

# %%
from mnas.latency import spearman

rho_macs = spearman(macs, measured)
convs = np.array([c["layers"] for c in children])
rho_layers = spearman(convs, measured)


def most_misleading_pair(macs, latency):
    """(i, j) with the largest latency ratio among pairs whose MACs are within 15 % of each other."""
    best, pair = 1.0, None
    for i in range(len(macs)):
        for j in range(len(macs)):
            if i != j and abs(macs[i] - macs[j]) <= 0.15 * min(macs[i], macs[j]):
                if latency[i] / latency[j] > best:
                    best, pair = latency[i] / latency[j], (i, j)
    return pair


pair = most_misleading_pair(macs, measured)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.scatter(macs, measured, color="tab:blue")
if pair:
    left.plot(macs[list(pair)], measured[list(pair)], "o", mfc="none", ms=14, color="tab:red",
              label=f"similar MACs, {measured[pair[0]] / measured[pair[1]]:.1f}x latency")
    left.legend()
left.set(xlabel="MACs (M) at 32 px", ylabel="measured latency (ms)",
         title=f"latency vs MACs: Spearman {rho_macs:.2f}")
right.scatter(convs, measured, color="tab:purple")
right.set(xlabel="number of conv layers", ylabel="measured latency (ms)",
          title=f"latency vs layer count: Spearman {rho_layers:.2f}")
fig.tight_layout()
show(fig, "latency_vs_macs")
print(f"Spearman(MACs, latency) = {rho_macs:.2f}; Spearman(conv layers, latency) = {rho_layers:.2f}")
if pair:
    for k in pair:
        print(f"  {macs[k]:5.1f}M MACs, {convs[k]:3d} conv layers -> {measured[k]:6.2f} ms")

# %% [markdown]
# Read the two titles. In eager PyTorch every layer also costs a fixed launch overhead on top of its
# arithmetic (section 6 shows how much of it an engine that plans the graph ahead removes), so on a
# small input the *number* of layers is a second driver of latency besides MACs. The circled pair
# shows how far apart two networks of near-equal MACs landed here. Mind the noise: if the coefficient
# of variation printed above is large, other programs shared the CPU and part of any gap is theirs.
# That latency depends on the machine and on what else runs on it is itself the lesson's point.
#
# ## 5. A latency predictor: the per-layer lookup table
#
# Measuring every candidate on the device is the most faithful signal, but each measurement costs
# time (the paper ran every sampled model on real phones). A cheaper alternative, used by later work
# such as FBNet, is a **lookup table**: time each distinct *layer* once, in isolation, at the input
# resolution where it occurs, and predict a network's latency as the sum of its layers' entries.
# `mnas.latency.meter.LatencyTable` does this, filling entries on demand. The table grows with the number of
# distinct layers (designs x input channels x resolutions), not with the number of networks: once it
# is filled, any of the 10^18 networks of the space is predicted without running it.
#
# We predict the first half of our networks, then the second half, and count how many new entries the
# second half still needed: random networks from a space this large share only some of their layers.
# So the second half is *not* held out: the table measures any layer it lacks on demand, and those
# new entries come from the very networks being predicted. What the split shows is how fast the table
# stops growing; what it predicts well without measuring is only the networks built entirely from
# layers it already holds.

# %%
from mnas.latency import LatencyTable, predictor_report

table = LatencyTable(engine="torch", threads=1, repeats=TABLE_REPEATS)
half = len(children) // 2
for child in children[:half]:
    child["predicted"] = table.predict(child["arch"], 32, 10)
entries_after_first_half = len(table.entries)
for child in children[half:]:
    child["predicted"] = table.predict(child["arch"], 32, 10)
print(f"table: {entries_after_first_half} entries after {half} networks, {len(table.entries)} after "
      f"{len(children)}")
predicted = np.array([c["predicted"] for c in children])
report = predictor_report(predicted, measured)
print(f"predictor on all {report['n']} networks: mean absolute error {report['mape']:.0%} of the measured "
      f"latency, Spearman {report['spearman']:.2f} (MACs: {rho_macs:.2f})")
second_half = predictor_report(predicted[half:], measured[half:])
print(f"on the second half only: Spearman {second_half['spearman']:.2f}, error {second_half['mape']:.0%} "
      f"(not a held-out test: {len(table.entries) - entries_after_first_half} of its layers were measured "
      "while predicting it)")
print(f"the table predicts less than the measurement for {np.mean(predicted < measured):.0%} of the networks")

fig, axis = plt.subplots(figsize=(5, 4.5))
axis.scatter(measured[:half], predicted[:half], label="first half (filled the table)")
axis.scatter(measured[half:], predicted[half:], label="second half (predicted after it)")
limit = max(measured.max(), predicted.max()) * 1.05
axis.plot([0, limit], [0, limit], color="grey", linestyle=":", label="prediction = measurement")
axis.set(xlabel="measured latency (ms)", ylabel="sum of table entries (ms)",
         title=f"lookup table: Spearman {report['spearman']:.2f}")
axis.legend(fontsize=8)
show(fig, "predictor")

# %% [markdown]
# Compare the predictor's Spearman with the MACs one above, and look where the points lie relative to
# the dotted line. A sum of layers timed in isolation can miss the absolute figure by far: a layer
# timed alone finds its weights and its input in the CPU caches every time, and the sum cannot see the
# work between layers. That is why `predictor_report` reports the rank correlation next to the error:
# for choosing between candidates, ranking is what matters, and an error that is roughly a constant
# factor does not change the ranking.
#
# ## 6. Why the paper measured on the phone
#
# Latency belongs to a *(network, device, software)* triple. To see it without a phone, time the same
# networks with a different inference engine on the same CPU: ONNX Runtime fuses batch norm into the
# convolutions and plans the graph ahead, so per-layer overhead shrinks and the ranking can change.

# %%
ort = np.array([measure_latency(create_model(c["arch"], 10, 32), 32, engine="onnxruntime",
                                repeats=REPEATS).median_ms for c in children])
rho_engines = spearman(measured, ort)
rho_ort_macs = spearman(macs, ort)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.scatter(measured, ort, color="tab:green")
left.set(xlabel="eager PyTorch (ms)", ylabel="ONNX Runtime (ms)",
         title=f"same networks, two engines: Spearman {rho_engines:.2f}")
right.scatter(macs, ort, color="tab:green")
right.set(xlabel="MACs (M)", ylabel="ONNX Runtime (ms)",
          title=f"ONNX Runtime vs MACs: Spearman {rho_ort_macs:.2f}")
fig.tight_layout()
show(fig, "two_engines")
print(f"median speed-up of ONNX Runtime over eager PyTorch: {np.median(measured / ort):.1f}x; "
      f"Spearman(torch, ORT) {rho_engines:.2f}, Spearman(MACs, ORT) {rho_ort_macs:.2f}, "
      f"Spearman(MACs, torch) {rho_macs:.2f}")

# %% [markdown]
# The speed-up is not the same for every network, so the two engines do not agree perfectly on which
# network is faster, and MACs agree with each engine to a different degree. A search that optimises
# latency must therefore measure on the platform it targets, with the software it will ship with —
# MnasNet's "platform-aware" search did exactly that on a Pixel phone. This lesson timed eager PyTorch
# in sections 1-5 because its per-layer overhead makes the point visible; the project's search does
# what the paper did: `SearchConfig.latency_engine` defaults to `"onnxruntime"`, the engine
# `infer_mnasnet` ships (lesson 6), and it times every child as a *ratio* to the 32 px B1 skeleton in
# interleaved bursts (`mnas.latency.meter.PairedMeter`), so a busy machine's drift cancels. Pairing cannot
# cancel everything: a neighbour process that stays for whole rounds slows the larger network more than
# the smaller one, so of its 40 rounds the meter keeps the quieter half (those where both networks ran
# closest to their usual times) before taking the median ratio. The next cell measures a few of our
# networks that way.

# %%
from mnas.latency import PairedMeter
from mnas.search.config import SearchConfig

search_config = SearchConfig()
meter = PairedMeter(create_model(space.skeleton_arch(), 10, 32), 32, engine=search_config.latency_engine,
                    threads=search_config.latency_threads, rounds=3 if FAST else search_config.latency_rounds,
                    burst=search_config.latency_burst)
paired = np.array([meter.measure(create_model(c["arch"], 10, 32)).ratio for c in children[:6]])
print(f"the search's meter ({search_config.latency_engine}, paired with the skeleton): "
      f"{', '.join(f'{r:.2f}' for r in paired)} x T")
print(f"Spearman with the ONNX Runtime medians above: {spearman(paired, ort[:6]):.2f}; "
      f"with eager PyTorch: {spearman(paired, measured[:6]):.2f}")
#
# ## Exercises
#
# 1. Run section 3 with `threads=2` in `measure_latency`. Which networks gain the most from a second
#    core: the ones with many MACs or the ones with many layers?
# 2. Time MnasNet-A1 and MnasNet-B1 1.0 at 224 px with both engines. Their MACs are nearly equal
#    (lesson 1): is A1 (with squeeze-and-excitation) faster or slower, and does the engine change the
#    answer?
# 3. Build the table with `engine="onnxruntime"` and compare its Spearman against ONNX Runtime
#    measurements with the torch table's against torch measurements. Which engine is easier to predict
#    by summing layers, and why?
#
# ## Summary
#
# * Latency is a property of a (network, device, software) triple; MACs ignore memory traffic and
#   per-layer overhead, so they rank networks only partly as latency does, and proportionality is rarer still.
# * A per-layer lookup table predicts latency cheaply and can rank well while missing absolute figures;
#   it must be judged on networks whose layers it did not measure while predicting them.
# * The search measures what it will ship: ONNX Runtime, batch 1, one thread, as a paired ratio to the
#   skeleton that defines $T$.
#
# ## References
#
# * M. Tan et al. *MnasNet: Platform-Aware Neural Architecture Search for Mobile.* CVPR 2019.
#   [arXiv:1807.11626](https://arxiv.org/abs/1807.11626) (sections 1 and 3: why measured latency)
# * B. Wu et al. *FBNet: Hardware-Aware Efficient ConvNet Design via Differentiable Neural Architecture
#   Search.* CVPR 2019. [arXiv:1812.03443](https://arxiv.org/abs/1812.03443) (the lookup table)
