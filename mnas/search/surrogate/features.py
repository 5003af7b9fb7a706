"""What the surrogate sees of an architecture: features of its resolved blocks, computed from the string.

Features come from what the network *is* (op, kernel, SE, channels, layers and shortcuts of each block,
MACs and parameters), not from the decisions that named it, so aliases (decisions that build one
network) get one feature vector.  MACs and parameters are computed analytically from the block specs,
mirroring `mnas.models` (checked against `count_macs` / `count_params` in the tests): a search of
thousands of children cannot afford to build each network to count it.

`latency_features` is a second view, for latency: the network's operator inventory (how many of each
operator it runs and how much work each kind does), because a batch-1 forward pass of a 32-pixel network
costs per-operator overhead as much as arithmetic.  A latency is a sum of non-negative per-operator
costs, so the latency model fits that sum (the lookup table's idea, fitted to whole measured networks).

`SpaceIndex` tells whether a string is a network of the search space (each body block one of its
block's 432 designs, the stem and head the skeleton's), which the surrogate requires.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math

import numpy as np

from mnas.arch import BlockSpec, parse_arch
from mnas.search.space import DECISIONS, SearchSpace

OPS = ("conv", "dconv", "mbconv3", "mbconv6")
PER_BLOCK = ("conv", "dconv", "mbconv3", "mbconv6", "kernel5", "se", "log2_out", "layers", "identity_shortcuts",
             "projection_shortcuts")
GLOBAL = ("log_macs", "log_params", "layers", "se_layers")
# operator counts, then the work (MACs, or activation elements written) of each kind of operator
LATENCY_FEATURES = ("full_convs", "expansions", "depthwise", "depthwise_k5", "projections", "se_modules",
                    "residual_adds", "projected_shortcuts", "macs", "conv_macs", "depthwise_macs",
                    "pointwise_macs", "se_macs", "conv_activations", "se_activations")


@functools.lru_cache(maxsize=1 << 16)
def parsed(arch: str) -> tuple[BlockSpec, ...]:
    """`parse_arch(arch)`, remembered: a search asks for the features, the inventory, the membership and
    the costs of each child, and a long search revisits networks (BlockSpec is frozen, so sharing is safe)."""
    return tuple(parse_arch(arch))


@functools.lru_cache(maxsize=1 << 16)
def _layers(block: BlockSpec) -> tuple[BlockSpec, ...]:
    return tuple(block.layers())


def _op_name(block: BlockSpec) -> str:
    if block.op == "conv":
        return "conv"
    return {1: "dconv", 3: "mbconv3", 6: "mbconv6"}.get(int(block.expansion), "mbconv6")


def _layer_costs(layer: BlockSpec, side: int) -> tuple[int, int, int]:
    """(MACs, parameters, output side) of one layer at input side `side`, as `mnas.models.Layer` builds it."""
    out_side = (side - 1) // layer.stride + 1
    area_in, area_out = side * side, out_side * out_side
    i, o, k = layer.in_ch, layer.out_ch, layer.kernel
    macs = params = 0
    if layer.op == "conv":
        mid = o
        macs += area_out * i * k * k * o
        params += i * k * k * o + 2 * o
    else:
        mid = round(i * layer.expansion)
        if layer.expansion != 1:
            macs += area_in * i * mid
            params += i * mid + 2 * mid
        macs += area_out * k * k * mid
        params += k * k * mid + 2 * mid
    if layer.se_ratio:
        squeeze = max(1, int(i * layer.se_ratio))
        macs += 2 * mid * squeeze
        params += 2 * mid * squeeze + squeeze + mid
    if layer.op != "conv":
        macs += area_out * mid * o
        params += mid * o + 2 * o
    if layer.has_residual and i != o:  # the pooled / projected shortcut's 1x1 conv
        macs += area_out * i * o
        params += i * o + 2 * o
    return macs, params, out_side


def arch_costs(blocks: list[BlockSpec], input_size: int, num_classes: int) -> tuple[int, int]:
    """(MACs, parameters) of the whole network with its classifier, batch 1."""
    side, macs, params = input_size, 0, 0
    for block in blocks:
        for layer in _layers(block):
            layer_macs, layer_params, side = _layer_costs(layer, side)
            macs, params = macs + layer_macs, params + layer_params
    head = blocks[-1].out_ch
    return macs + head * num_classes, params + head * num_classes + num_classes


def feature_names(num_blocks: int) -> list[str]:
    return [f"b{n}_{name}" for n in range(num_blocks) for name in PER_BLOCK] + list(GLOBAL)


def features(arch: str, input_size: int = 32, num_classes: int = 10) -> np.ndarray:
    """The feature vector of `arch` (body blocks: every block but the stem and the head)."""
    blocks = parsed(arch)
    row = []
    for block in blocks[1:-1]:
        layers = _layers(block)
        op = _op_name(block)
        identity = sum(layer.has_residual and layer.stride == 1 and layer.in_ch == layer.out_ch for layer in layers)
        row += [float(op == name) for name in OPS]
        row += [float(block.kernel == 5), float(block.se_ratio > 0), math.log2(block.out_ch), block.repeats,
                identity, sum(layer.has_residual for layer in layers) - identity]
    macs, params = arch_costs(blocks, input_size, num_classes)
    se_layers = sum(b.repeats for b in blocks if b.se_ratio > 0)
    row += [math.log(macs), math.log(params), sum(b.repeats for b in blocks), se_layers]
    return np.asarray(row, dtype=np.float64)


def operator_inventory(arch: str, input_size: int = 32) -> dict[str, int]:
    """How many operators of each kind `arch` runs, and the work of each kind (`LATENCY_FEATURES`)."""
    counts = dict.fromkeys(LATENCY_FEATURES, 0)
    side = input_size
    for block in parsed(arch):
        for layer in _layers(block):
            layer_macs, _, out_side = _layer_costs(layer, side)
            i, o, k, area_in, area_out = layer.in_ch, layer.out_ch, layer.kernel, side * side, out_side * out_side
            counts["macs"] += layer_macs
            if layer.op == "conv":
                mid = o
                counts["full_convs"] += 1
                counts["conv_macs"] += area_out * i * k * k * o
                counts["conv_activations"] += area_out * o
            else:
                mid = round(i * layer.expansion)
                if layer.expansion != 1:
                    counts["expansions"] += 1
                    counts["pointwise_macs"] += area_in * i * mid
                counts["depthwise"] += 1
                counts["depthwise_k5"] += k == 5
                counts["depthwise_macs"] += area_out * k * k * mid
                counts["projections"] += 1
                counts["pointwise_macs"] += area_out * mid * o
            if layer.se_ratio:
                counts["se_modules"] += 1
                counts["se_macs"] += 2 * mid * max(1, int(i * layer.se_ratio))
                counts["se_activations"] += area_out * mid
            if layer.has_residual:
                counts["residual_adds"] += 1
                if i != o:
                    counts["projected_shortcuts"] += 1
                    counts["pointwise_macs"] += area_out * i * o
            side = out_side
    return counts


def latency_features(arch: str, input_size: int = 32) -> np.ndarray:
    inventory = operator_inventory(arch, input_size)
    return np.asarray([inventory[name] for name in LATENCY_FEATURES], dtype=np.float64)


class SpaceIndex:
    """Which block specs each body block of `space` can take: membership of an architecture string."""

    def __init__(self, space: SearchSpace):
        self.space = space
        skeleton = parse_arch(space.skeleton_arch())
        self.stem, self.head = skeleton[0], skeleton[-1]
        self.designs = []
        for n in range(len(space.skeleton)):
            options = [step.choices for step in space.steps if step.block == n]
            specs = set()
            for values in itertools.product(*options):
                choice = dict(zip(DECISIONS, values))
                specs.add(_design(space._block(space.skeleton[n], choice)))
            self.designs.append(specs)

    def contains(self, arch: str) -> bool:
        blocks = parsed(arch)
        if len(blocks) != len(self.designs) + 2:
            return False
        if blocks[0] != self.stem:
            return False
        if _design(blocks[-1]) != _design(self.head):
            return False
        return all(_design(b) in specs for b, specs in zip(blocks[1:-1], self.designs))


@functools.lru_cache(maxsize=1 << 16)
def _design(block: BlockSpec) -> tuple:
    """A block's spec without its input channels (the previous block's choice)."""
    fields = dataclasses.asdict(block)
    del fields["in_ch"]
    return tuple(fields.values())
