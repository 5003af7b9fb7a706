"""The factorized hierarchical search space of MnasNet over a CIFAR-size MnasNet-B1 skeleton.

The network is the skeleton's fixed sequence of 7 blocks; each block picks one layer design that all
of its layers share (paper, section 4.1):

| decision | choices |
|---|---|
| op | conv (regular conv), dconv (depthwise separable, e1), mbconv3 / mbconv6 (MBConv e3 / e6) |
| kernel | 3, 5 |
| se | 0 (none), 0.25 |
| skip | pool, identity, none (see `mnas.arch`: poolskip, identity residual, noskip) |
| filters | 0.75, 1.0, 1.25 x the skeleton's output filters (then rounded to a multiple of 8) |
| layers | -1, 0, +1 layers relative to the skeleton's (at least 1) |

432 designs per block, 432^7 ~ 2.8e18 networks.  A sampled child is a flat ``{label: choice}`` dict
(labels ``b<block>_<decision>``, NNI style, good as a JSON log record) or, equivalently, the
controller's sequence of action indices in `SearchSpace.steps` order; `SearchSpace.arch` turns either
into an architecture string of the project's grammar: stem conv, the 7 blocks, 1x1 head conv.

The skeleton is B1's block table at a base width (0.5 by default so that children train in seconds on
two CPU cores).  At 32 px, B1's total stride 32 would leave a 1x1 map; we keep the stride of the stem,
block 2 and block 4 and unstride blocks 3 and 6, for a total stride 8 and a 4x4 final map.  Keeping the
stem strided (16x16 from the start) halves a child's training time against unstriding the stem.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import torch

from mnas.arch import BlockSpec, format_arch, parse_block
from mnas.models import HEAD_CHANNELS, round_filters, with_stem_and_head

# MnasNet-B1 (official table) with the strides of a 32 px skeleton: s22 kept on blocks 2 and 4 only.
SKELETON_32 = ("r1_k3_s11_e1_i32_o16_noskip", "r3_k3_s22_e3_i16_o24", "r3_k5_s11_e3_i24_o40",
               "r3_k5_s22_e6_i40_o80", "r2_k3_s11_e6_i80_o96", "r4_k5_s11_e6_i96_o192",
               "r1_k3_s11_e6_i192_o320_noskip")
SKELETON_STEM = 32
SKELETON_STEM_STRIDE = 2

OP_CHOICES = ("conv", "dconv", "mbconv3", "mbconv6")
_OP_FIELDS = {"conv": ("conv", 1), "dconv": ("mbconv", 1), "mbconv3": ("mbconv", 3), "mbconv6": ("mbconv", 6)}
_OP_OF_EXPANSION = {1: "dconv", 3: "mbconv3", 6: "mbconv6"}
# decision name -> choices, in the order the controller emits them within a block
DECISIONS: dict[str, tuple] = {
    "op": OP_CHOICES,
    "kernel": (3, 5),
    "se": (0.0, 0.25),
    "skip": ("pool", "identity", "none"),
    "filters": (0.75, 1.0, 1.25),
    "layers": (-1, 0, 1),
}


@dataclasses.dataclass(frozen=True)
class Step:
    """One decision of the controller: its label, the block it belongs to and its choices."""

    label: str
    block: int
    name: str
    choices: tuple


class SearchSpace:
    """Per-block decisions over a skeleton; converts between decisions, actions and arch strings."""

    def __init__(self, skeleton: Sequence[str] = SKELETON_32, width: float = 0.5,
                 stem: int = SKELETON_STEM, stem_stride: int = SKELETON_STEM_STRIDE,
                 head: int = HEAD_CHANNELS, in_channels: int = 3,
                 choices: Mapping[str, Sequence] | None = None):
        """`choices`: per label, the subset of its choices this space allows (a sub-space, e.g. a
        benchmark table's); a label with one choice is fixed."""
        if width <= 0:
            raise ValueError(f"width must be > 0, got {width}")
        self.skeleton = [parse_block(b, where=f"skeleton block {n}") for n, b in enumerate(skeleton)]
        self.width = width
        self.stem = stem
        self.stem_stride = stem_stride
        self.head = head
        self.in_channels = in_channels
        self.steps = [Step(f"b{n}_{name}", n, name, options)
                      for n in range(len(self.skeleton)) for name, options in DECISIONS.items()]
        if choices:
            known = {step.label: step for step in self.steps}
            for label, subset in choices.items():
                if label not in known or not subset or any(c not in known[label].choices for c in subset):
                    raise ValueError(f"sub-space choices[{label!r}] = {subset!r}: expected a label b<block>_<"
                                     f"decision> and a non-empty subset of its choices")
            self.steps = [dataclasses.replace(step, choices=tuple(choices[step.label]))
                          if step.label in choices else step for step in self.steps]

    @property
    def num_choices(self) -> list[int]:
        return [len(step.choices) for step in self.steps]

    @property
    def size(self) -> int:
        return math.prod(self.num_choices)

    def describe(self) -> str:
        free = [step for step in self.steps if len(step.choices) > 1]
        if len(free) < len(self.steps):
            return f"sub-space of {self.size:,} networks ({len(free)} free decisions of {len(self.steps)})"
        per_block = math.prod(len(c) for c in DECISIONS.values())
        return (f"{len(self.skeleton)} blocks x {per_block} designs per block = {self.size:.3g} "
                f"networks ({len(self.steps)} decisions)")

    # --- decisions <-> actions -------------------------------------------------------------------
    def decisions(self, actions: Sequence[int]) -> dict[str, object]:
        """The flat ``{label: choice}`` dict of a sequence of action indices."""
        actions = list(actions)
        if len(actions) != len(self.steps):
            raise ValueError(f"actions: expected {len(self.steps)} indices, got {len(actions)}")
        result = {}
        for step, index in zip(self.steps, actions):
            if not 0 <= int(index) < len(step.choices):
                raise ValueError(f"action for {step.label}: expected an index in "
                                 f"0..{len(step.choices) - 1}, got {index}")
            result[step.label] = step.choices[int(index)]
        return result

    def actions(self, decisions: Mapping[str, object]) -> list[int]:
        """The action indices of a ``{label: choice}`` dict (the inverse of `decisions`)."""
        missing = [s.label for s in self.steps if s.label not in decisions]
        if missing:
            raise ValueError(f"decisions: missing labels {', '.join(missing)}")
        result = []
        for step in self.steps:
            value = decisions[step.label]
            matches = [n for n, choice in enumerate(step.choices) if choice == value]
            if not matches:
                raise ValueError(f"decisions[{step.label!r}] = {value!r}: expected one of {step.choices}"
                                 f"{' (this sub-space)' if len(step.choices) < len(DECISIONS[step.name]) else ''}")
            result.append(matches[0])
        return result

    def random_actions(self, generator: torch.Generator) -> list[int]:
        """Uniform sample over the whole space (the random-search baseline)."""
        return [int(torch.randint(n, (1,), generator=generator)) for n in self.num_choices]

    def skeleton_decisions(self) -> dict[str, object]:
        """The decisions that reproduce the skeleton itself (B1 at the base width)."""
        result = {}
        for n, block in enumerate(self.skeleton):
            op = "conv" if block.op == "conv" else _OP_OF_EXPANSION[int(block.expansion)]
            values = {"op": op, "kernel": block.kernel, "se": block.se_ratio, "skip": block.skip,
                      "filters": 1.0, "layers": 0}
            result.update({f"b{n}_{name}": value for name, value in values.items()})
        return result

    # --- decisions -> architecture string --------------------------------------------------------
    def arch(self, decisions_or_actions: Mapping[str, object] | Sequence[int]) -> str:
        """The architecture string (stem, blocks, head) of a child, channels rounded to multiples of 8."""
        decisions = (dict(decisions_or_actions) if isinstance(decisions_or_actions, Mapping)
                     else self.decisions(decisions_or_actions))
        self.actions(decisions)  # validates every label and value
        body = [self._block(block, {name: decisions[f"b{n}_{name}"] for name in DECISIONS})
                for n, block in enumerate(self.skeleton)]
        return self._wrap(body)

    def skeleton_arch(self, width: float | None = None) -> str:
        """The skeleton (MnasNet-B1 at 32 px) at `width` (default: the space's base width)."""
        width = self.width if width is None else width
        body = [dataclasses.replace(b, out_ch=round_filters(b.out_ch * width)) for b in self.skeleton]
        return self._wrap(body, width)

    def _block(self, base: BlockSpec, choice: Mapping[str, object]) -> BlockSpec:
        op, expansion = _OP_FIELDS[choice["op"]]
        return dataclasses.replace(
            base, op=op, expansion=expansion, kernel=int(choice["kernel"]),
            se_ratio=float(choice["se"]), skip=str(choice["skip"]),
            out_ch=round_filters(base.out_ch * self.width * float(choice["filters"])),
            repeats=max(1, base.repeats + int(choice["layers"])))

    def _wrap(self, body: list[BlockSpec], width: float | None = None) -> str:
        """Chain channels through the body and add the stem and head convs."""
        stem = round_filters(self.stem * (self.width if width is None else width))
        chained, in_ch = [], stem
        for block in body:
            chained.append(dataclasses.replace(block, in_ch=in_ch))
            in_ch = block.out_ch
        blocks = with_stem_and_head(chained, stem, self.head, self.in_channels)
        blocks[0] = dataclasses.replace(blocks[0], stride=self.stem_stride)
        return format_arch(blocks)
