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
# # Lesson 1 — MnasNet's building blocks, written as strings
#
# MnasNet (Tan et al., CVPR 2019) is a family of mobile networks found by an architecture search.
# Before we search, we need a language in which an architecture *is* a value the search can emit.
# The official MnasNet code uses one: every block of the network is a short string such as
#
#     r3_k5_s22_e3_i24_o40_se0.25
#
# which reads: **r**epeat the layer 3 times, **k**ernel 5x5, **s**tride 2 (first layer only),
# **e**xpansion 3, **i**nput 24 channels, **o**utput 40 channels, squeeze-and-excitation with ratio
# 0.25. In this lesson we take that grammar apart, build the three published MnasNets from it, and see
# where their parameters and their multiply-accumulates (MACs) go.
#
# **Objectives.** After this lesson you can
#
# * draw a depthwise separable conv, an MBConv block and a squeeze-and-excitation module, and count
#   their multiply-accumulates (MACs);
# * read and write any MnasNet as a block string, and build it with `mnas.models.create_model`;
# * say where MnasNet-B1 and MnasNet-A1 spend their parameters and their MACs, and why the search's
#   space is *per block*;
# * explain how a 224 px network is adapted to 32 px CIFAR images, and which adaptation the search uses.
#
# **Lesson time:** measured on the project's 2-core machine in fast mode (the test suite) and in full
# mode (the teacher's edition): `docs/lessons.md`, "Lesson times", in the repository.

# %% tags=["parameters"]
import os

FAST = os.environ.get("MNAS_FAST", "0") == "1"  # the test suite runs every lesson in fast mode

# %% [markdown]
# ## 1. Three kinds of layer
#
# * A **regular convolution** mixes space and channels at once: a $k\times k$ conv from $C_{in}$ to
#   $C_{out}$ channels costs $k^2 C_{in} C_{out}$ MACs per output pixel.
# * A **depthwise separable convolution** splits the two: a $k\times k$ *depthwise* conv filters each
#   channel on its own ($k^2 C_{in}$), then a $1\times 1$ *pointwise* conv mixes channels
#   ($C_{in} C_{out}$). In the grammar it is an MBConv with expansion 1: `e1`. Its cost relative to
#   the regular conv is
#   $$\frac{k^2 C_{in} + C_{in} C_{out}}{k^2 C_{in} C_{out}} = \frac{1}{C_{out}} + \frac{1}{k^2}.$$
# * An **MBConv** (MobileNetV2's inverted residual) first *expands* the channels by a factor $e$ with a
#   $1\times 1$ conv, filters them depthwise, then *projects* back down with a linear $1\times 1$ conv;
#   when the shape is unchanged a residual connection adds the input back. Per pixel, with $C$ channels
#   in and out: $C\cdot eC + k^2\, eC + eC\cdot C = eC\,(2C + k^2)$ MACs.
# * **Squeeze-and-excitation** (SE) pools each channel to one number, passes the vector through a tiny
#   bottleneck and multiplies the channels by the resulting gates in (0, 1): cheap channel attention.
#
# The picture (drawn by `mnas.lessons.pictures.draw_blocks`) shows the three side by side.

# %%
import matplotlib.pyplot as plt
import torch

from mnas.arch import format_block, parse_arch, parse_block
from mnas.lessons import figure_shower, lesson_outputs, record_claims
from mnas.models import MnasNet, count_macs, count_params
from mnas.lessons import draw_blocks

OUTPUTS = lesson_outputs(1)  # outputs/lesson01, git-ignored: the figures and the checked claims
show = figure_shower(OUTPUTS)  # show(fig, name): saved there as name.png, then displayed
show(draw_blocks(), "blocks")

# %% [markdown]
# Let us count what each costs for the same input and output: 40 channels in and out, $3\times 3$, on
# a $28\times 28$ map.

# %%

designs = {
    "regular conv": "r1_k3_s11_e1_i40_o40_conv",
    "depthwise separable": "r1_k3_s11_e1_i40_o40",
    "MBConv e3": "r1_k3_s11_e3_i40_o40",
    "MBConv e6": "r1_k3_s11_e6_i40_o40",
    "MBConv e6 + SE": "r1_k3_s11_e6_i40_o40_se0.25",
}
cost = {}  # MACs of each design
for name, block in designs.items():
    # one block on a 28x28 map: wrap it in a network whose stem makes 40 channels at 28x28
    net = MnasNet(f"r1_k1_s11_e1_i3_o40_conv, {block}", num_classes=1)
    stem = MnasNet("r1_k1_s11_e1_i3_o40_conv", num_classes=1)
    params = count_params(net) - count_params(stem)
    macs = count_macs(net, 28) - count_macs(stem, 28)
    cost[name] = macs
    print(f"{name:<22} {block:<30} params {params:>7,}  MACs {macs / 1e6:6.2f}M  "
          f"({macs / cost.get('regular conv', macs):.2f}x the regular conv)")
ratios = {name: macs / cost["regular conv"] for name, macs in cost.items()}
print(f"depthwise separable: {1 / ratios['depthwise separable']:.1f}x cheaper than the regular conv "
      f"(formula: 1 / (1/40 + 1/9) = {1 / (1 / 40 + 1 / 9):.1f}x, the rest is batch norm)")
record_claims(OUTPUTS, macs_vs_regular_conv=ratios)

# %% [markdown]
# The depthwise separable conv is about 7x cheaper than the regular conv here, which is why mobile
# networks are built from it. MBConv spends that saving, and more, on a wider hidden layer: e3 costs
# about 0.75x the regular conv's MACs and e6 about 1.5x (the ratios printed above; the notebook tests
# check them). SE adds almost no MACs (one value per channel) but about a fifth more parameters. What it buys is
# representational power at a given channel count, not a cheaper block: the search decides per block
# whether that is worth its latency.
#
# ## 2. The grammar: one parser, one printer
#
# `mnas.arch` turns a string into a `BlockSpec` and back. The printer is the exact inverse of the
# parser, so a string survives any number of round trips: the search log, a training parameter and
# the saved weights all carry the same text.

# %%
spec = parse_block("r3_k5_s22_e3_i24_o40_se0.25")
print(spec)
print(repr(spec))
print("first layer strided, the rest keep the shape:",
      [(layer.stride, layer.in_ch, layer.out_ch, layer.has_residual) for layer in spec.layers()])
assert format_block(spec) == "r3_k5_s22_e3_i24_o40_se0.25"

# %% [markdown]
# The grammar is strict: a malformed string is refused with a message naming the token and what was
# expected. Try your own typos.

# %%
for bad in ["r3_k5_s21_e3_i24_o40", "r3_k4_s22_e3_i24_o40", "r3_k5_s22_e3_i24_o40_se0.25_xx"]:
    try:
        parse_block(bad)
    except ValueError as error:
        print(f"{bad!r:36} -> {error}")

# %% [markdown]
# ## 3. The three published MnasNets, from their strings
#
# A whole network is a comma-separated list of blocks: a stem (a regular 3x3 stride-2 conv, written as
# a `conv` block), the seven searched blocks, and a 1x1 conv to 1280 channels before pooling and the
# classifier. The named variants are exactly such strings.

# %%
from mnas.models import VARIANTS, create_model, macs_per_block, variant_arch

for name in ("mnasnet1_0", "mnasnet_a1", "mnasnet_small"):
    print(f"{name}:\n  " + variant_arch(name).replace(", ", ",\n  "))

# %%
rows = []
for name in VARIANTS:
    model = create_model(name)
    rows.append((name, count_params(model), count_macs(model, 224)))
    print(f"{name:<14} {rows[-1][1]:>10,} params {rows[-1][2] / 1e6:7.1f}M MACs   {VARIANTS[name].description}")

# %% [markdown]
# These match the published figures: torchvision's `mnasnet1_0` has 4,383,312 parameters and about
# 314M MACs, the paper's MnasNet-A1 3.9M parameters and 312M MACs.
#
# ## 4. Where do the MACs and the parameters go?
#
# Parameters pile up in the last blocks, where channels are many (block 6 alone holds over a third of
# MnasNet-B1's). MACs are spread much more evenly, because early blocks work on large maps with few
# channels and late blocks on small maps with many. Compare the two models: the searched A1 moved
# compute *out* of block 6 and into blocks 2, 4 and 5 (and added SE), for about the same total. (In
# the plot "1" to "7" are the seven blocks; "MnasNet-B1" is the *model*, B1 for short in later lessons.) Such per-block trade-offs are
# exactly what the search explores — which is why its space is *factorized per block*.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
per_block = {}
for name, color in (("mnasnet1_0", "tab:blue"), ("mnasnet_a1", "tab:orange")):
    model = create_model(name)
    blocks = parse_arch(model.arch)
    macs = macs_per_block(model, 224)
    params = [count_params(stage) for stage in model.features]
    per_block[name] = {"macs": macs, "params": params, "total_params": count_params(model)}
    offset = -0.2 if color == "tab:blue" else 0.2
    positions = [i + offset for i in range(len(blocks))]
    axes[0].bar(positions, [m / 1e6 for m in macs], width=0.4, color=color, label=name)
    axes[1].bar(positions, [p / 1e6 for p in params], width=0.4, color=color, label=name)
labels = ["stem"] + [str(i) for i in range(1, 8)] + ["head"]
for axis, title in zip(axes, ("MACs per block (M)", "parameters per block (M)")):
    axis.set_xticks(range(len(labels)), labels)
    axis.set(title=title, xlabel="block")
    axis.legend()
fig.tight_layout()
show(fig, "per_block")
b1, a1 = per_block["mnasnet1_0"], per_block["mnasnet_a1"]
print(f"block 6 holds {b1['params'][6] / b1['total_params']:.0%} of MnasNet-B1's parameters")
print("A1 minus B1, MACs per block (M):", {i: round((a1["macs"][i] - b1["macs"][i]) / 1e6, 1) for i in range(1, 8)})
record_claims(OUTPUTS, block6_param_share_b1=b1["params"][6] / b1["total_params"],
              a1_minus_b1_block_macs={i: a1["macs"][i] - b1["macs"][i] for i in range(1, 8)},
              variants={name: {"params": params, "macs": macs} for name, params, macs in rows})

# %% [markdown]
# ## 5. Input size changes the network
#
# At 224 px the total stride of 32 leaves a 7x7 final map. CIFAR images are 32 px: the same strides
# would shrink them to 1x1 two stages before the end. `variant_arch(name, input_size)` removes the
# stride of the earliest blocks until the final map is at least 4x4 — and the change is visible in the
# string itself (look for `s11` where there was `s22`). The search (lessons 4-6) makes another choice
# for its 32 px skeleton: it keeps the stem strided (16x16 from the start, which halves a child's
# training time) and unstrides blocks 3 and 6 instead (`mnas.search.space`); both end on a 4x4 map.
# The skeleton is printed below with the others: lessons 2 to 6 all use it.

# %%
for size in (224, 64, 32):
    arch = variant_arch("mnasnet0_5", size)
    model = create_model("mnasnet0_5", input_size=size, num_classes=10).eval()
    with torch.no_grad():
        final = model.features(torch.zeros(1, 3, size, size)).shape[-1]
    print(f"{size:>3} px: final map {final}x{final}, MACs {count_macs(model, size) / 1e6:6.1f}M, "
          f"strides {[b.stride for b in parse_arch(arch)]}")

from mnas.search.space import SearchSpace

skeleton = SearchSpace().skeleton_arch()  # B1 x0.5 as the search builds it for 32 px
model = create_model(skeleton, num_classes=10, input_size=32).eval()
with torch.no_grad():
    final = model.features(torch.zeros(1, 3, 32, 32)).shape[-1]
print(f"the search's skeleton: final map {final}x{final}, MACs {count_macs(model, 32) / 1e6:6.1f}M, "
      f"strides {[b.stride for b in parse_arch(skeleton)]}")

# %% [markdown]
# ## 6. Your own architecture
#
# Anything the grammar can say, the builder can build. Here is a small CIFAR-size network mixing all
# the ops, including the search's `poolskip` (a shortcut through average pooling and a 1x1 projection,
# so even a strided block keeps a residual path).

# %%
mine = ("r1_k3_s11_e1_i3_o16_conv, r1_k3_s11_e1_i16_o16, r2_k5_s22_e6_i16_o24_se0.25_poolskip, "
        "r2_k3_s22_e3_i24_o40, r1_k1_s11_e1_i40_o256_conv")
model = create_model(mine, num_classes=10).eval()
print(model.arch == mine, f"{count_params(model):,} params, {count_macs(model, 32) / 1e6:.1f}M MACs at 32 px")
print(model(torch.rand(2, 3, 32, 32)).softmax(-1).shape)

# %% [markdown]
# ## Exercises
#
# 1. MnasNet-A1's third block is `r3_k5_s22_e3_i24_o40_se0.25`. Change its kernel to 3 and its expansion
#    to 6: which costs more MACs, and why does the kernel matter less than the expansion?
# 2. Build MnasNet-B1 at 0.75 width yourself by scaling the channels of `VARIANTS["mnasnet1_0"]` with
#    `mnas.models.round_filters` and check that you get 3,170,208 parameters.
# 3. The paper's search chooses per block among {conv, dconv, MBConv e3, MBConv e6}. Using section 1,
#    predict the cheapest choice for a block with 80 input and 80 output channels on a 14x14 map, then
#    check it.
#
# ## Summary
#
# * A depthwise separable conv costs about $1/C_{out} + 1/k^2$ of a regular conv; MBConv spends more
#   than that saving on an expanded hidden layer ($e$ times the channels), for representational power.
# * SE is channel attention for almost no MACs; the residual path needs an unchanged shape (or, in
#   this project's grammar, a `poolskip`).
# * One grammar (`mnas.arch`) writes every network: the named variants, the search's children, the
#   trained model files. The search's 32 px skeleton is MnasNet-B1 x0.5 with blocks 3 and 6 unstrided.
# * Parameters pile up in late blocks, MACs spread evenly; the searched A1 moved MACs between blocks,
#   which a per-block search space makes possible.
#
# ## References
#
# * M. Tan, B. Chen, R. Pang, V. Vasudevan, M. Sandler, A. Howard, Q. V. Le. *MnasNet: Platform-Aware
#   Neural Architecture Search for Mobile.* CVPR 2019. [arXiv:1807.11626](https://arxiv.org/abs/1807.11626)
# * M. Sandler et al. *MobileNetV2: Inverted Residuals and Linear Bottlenecks.* CVPR 2018.
#   [arXiv:1801.04381](https://arxiv.org/abs/1801.04381) (the MBConv block)
# * J. Hu, L. Shen, G. Sun. *Squeeze-and-Excitation Networks.* CVPR 2018.
#   [arXiv:1709.01507](https://arxiv.org/abs/1709.01507)
