"""One builder for every MnasNet: architecture string -> nn.Module, plus the named variants.

The named variants are the official block tables (``../shared/mnasnet-facts.md``) with a stem conv and
a 1x1 head conv added as ``conv`` blocks, channels scaled by a depth multiplier, and strides adapted to
the input size, all resolved into one architecture string (see `mnas.arch`).
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
from torch import nn

from mnas.arch import BlockSpec, format_arch, parse_arch, parse_block, total_stride

HEAD_CHANNELS = 1280
# PyTorch's default epsilon matches torchvision's checkpoints; momentum 0.01 is the official code's 0.99
# decay (torchvision's 0.0003 makes running statistics far too slow for short CIFAR-scale training).
BN_EPS = 1e-5
BN_MOMENTUM = 0.01
MIN_FINAL_FEATURE_MAP = 4


@dataclasses.dataclass(frozen=True)
class Variant:
    """A published MnasNet: its official block strings, stem width, depth multiplier and dropout."""

    family: str
    blocks: tuple[str, ...]
    stem: int
    width: float
    dropout: float
    description: str


_B1 = ("r1_k3_s11_e1_i32_o16_noskip", "r3_k3_s22_e3_i16_o24", "r3_k5_s22_e3_i24_o40",
       "r3_k5_s22_e6_i40_o80", "r2_k3_s11_e6_i80_o96", "r4_k5_s22_e6_i96_o192",
       "r1_k3_s11_e6_i192_o320_noskip")
_A1 = ("r1_k3_s11_e1_i32_o16_noskip", "r2_k3_s22_e6_i16_o24", "r3_k5_s22_e3_i24_o40_se0.25",
       "r4_k3_s22_e6_i40_o80", "r2_k3_s11_e6_i80_o112_se0.25", "r3_k5_s22_e6_i112_o160_se0.25",
       "r1_k3_s11_e6_i160_o320")
# The official table writes i16 for the first block although the stem has 8 filters: the official
# builder ignores `i` and chains blocks, so the consistent string is i8.
_SMALL = ("r1_k3_s11_e1_i8_o8", "r1_k3_s22_e3_i8_o16", "r2_k3_s22_e6_i16_o16",
          "r4_k5_s22_e6_i16_o32_se0.25", "r3_k3_s11_e6_i32_o32_se0.25", "r3_k5_s22_e6_i32_o88_se0.25",
          "r1_k3_s11_e6_i88_o144")

VARIANTS: dict[str, Variant] = {
    "mnasnet0_5": Variant("b1", _B1, 32, 0.5, 0.2, "MnasNet-B1 x0.5 (torchvision mnasnet0_5)"),
    "mnasnet0_75": Variant("b1", _B1, 32, 0.75, 0.2, "MnasNet-B1 x0.75 (torchvision mnasnet0_75)"),
    "mnasnet1_0": Variant("b1", _B1, 32, 1.0, 0.2, "MnasNet-B1 x1.0 (torchvision mnasnet1_0)"),
    "mnasnet1_3": Variant("b1", _B1, 32, 1.3, 0.2, "MnasNet-B1 x1.3 (torchvision mnasnet1_3)"),
    "mnasnet_a1": Variant("a1", _A1, 32, 1.0, 0.2, "MnasNet-A1 with squeeze-and-excitation (paper)"),
    "mnasnet_small": Variant("small", _SMALL, 8, 1.0, 0.0, "MnasNet-small (official code)"),
}
# Other names of a variant: the Ikomia HUB MnasNet tasks' model_name "mnasnet" is torchvision's mnasnet1_0
MODEL_NAME_ALIASES = {"mnasnet": "mnasnet1_0"}


def canonical_model_name(name: str) -> str:
    """The variant's own name for `name` (``mnasnet`` -> ``mnasnet1_0``); any other text unchanged (a
    variant's name, or an architecture string)."""
    return MODEL_NAME_ALIASES.get(name.strip().lower(), name) if isinstance(name, str) else name


def round_filters(channels: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    """Round to a multiple of `divisor`, adding one when rounding would lose more than 10 %."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    return rounded if rounded >= round_up_bias * channels else rounded + divisor


def scale_blocks(blocks: Sequence[BlockSpec], width: float) -> list[BlockSpec]:
    if width == 1.0:
        return list(blocks)
    return [dataclasses.replace(b, in_ch=round_filters(b.in_ch * width),
                                out_ch=round_filters(b.out_ch * width)) for b in blocks]


def adapt_strides(blocks: Sequence[BlockSpec], input_size: int,
                  min_feature_map: int = MIN_FINAL_FEATURE_MAP) -> list[BlockSpec]:
    """Unstride the earliest strided blocks until the last feature map is at least `min_feature_map`.

    At 224 px MnasNet's stride 32 leaves 7x7; at 32 px it would collapse to 1x1 two stages early, so
    the stem and then the first MBConv stage lose their stride (CIFAR practice), giving 4x4.
    """
    blocks = list(blocks)
    for n, block in enumerate(blocks):
        if input_size // total_stride(blocks) >= min_feature_map:
            break
        if block.stride == 2:
            blocks[n] = dataclasses.replace(block, stride=1)
    return blocks


def with_stem_and_head(blocks: Sequence[BlockSpec], stem: int, head: int = HEAD_CHANNELS,
                       in_channels: int = 3) -> list[BlockSpec]:
    """Wrap body blocks in the 3x3 stride-2 stem conv and the 1x1 head conv."""
    stem_block = BlockSpec(1, 3, 2, 1, in_channels, stem, op="conv")
    head_block = BlockSpec(1, 1, 1, 1, blocks[-1].out_ch, head, op="conv")
    body = [dataclasses.replace(blocks[0], in_ch=stem)] + list(blocks[1:])
    return [stem_block, *body, head_block]


def variant_arch(name: str, input_size: int = 224) -> str:
    """The architecture string of a named variant at `input_size` (strides adapted for small inputs)."""
    variant = get_variant(name)
    body = scale_blocks([parse_block(b) for b in variant.blocks], variant.width)
    stem = round_filters(variant.stem * variant.width)
    return format_arch(adapt_strides(with_stem_and_head(body, stem), input_size))


def get_variant(name: str) -> Variant:
    if name not in VARIANTS:
        raise ValueError(f"model_name {name!r} is not a MnasNet variant: expected one of "
                         f"{', '.join(VARIANTS)}")
    return VARIANTS[name]


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


def conv_bn(in_ch: int, out_ch: int, kernel: int = 1, stride: int = 1, groups: int = 1,
            act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
              _bn(out_ch)]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """Channel gating: global pool -> 1x1 reduce -> ReLU -> 1x1 expand -> sigmoid -> scale."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.reduce = nn.Conv2d(channels, squeeze, 1)
        self.expand = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        scale = torch.sigmoid(self.expand(torch.relu(self.reduce(scale))))
        return x * scale


class Layer(nn.Module):
    """One layer of a block: regular conv, depthwise separable conv (e1) or MBConv, with SE and skip."""

    def __init__(self, spec: BlockSpec):
        super().__init__()
        self.body = nn.Sequential(*self._body(spec))
        self.shortcut = self._shortcut(spec)

    @staticmethod
    def _body(spec: BlockSpec) -> list[nn.Module]:
        k, s = spec.kernel, spec.stride
        if spec.op == "conv":
            body = [conv_bn(spec.in_ch, spec.out_ch, k, s)]
            mid = spec.out_ch
        else:
            mid = round(spec.in_ch * spec.expansion)
            body = [conv_bn(spec.in_ch, mid)] if spec.expansion != 1 else []
            body.append(conv_bn(mid, mid, k, s, groups=mid))
        if spec.se_ratio:
            body.append(SqueezeExcite(mid, max(1, int(spec.in_ch * spec.se_ratio))))
        if spec.op != "conv":
            body.append(conv_bn(mid, spec.out_ch, act=False))
        return body

    @staticmethod
    def _shortcut(spec: BlockSpec) -> nn.Module | None:
        if not spec.has_residual:
            return None
        if spec.stride == 1 and spec.in_ch == spec.out_ch:
            return nn.Identity()
        pool = [nn.AvgPool2d(spec.stride, ceil_mode=True)] if spec.stride > 1 else []
        project = [conv_bn(spec.in_ch, spec.out_ch, act=False)] if spec.in_ch != spec.out_ch else []
        return nn.Sequential(*pool, *project)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return out if self.shortcut is None else out + self.shortcut(x)


class MnasNet(nn.Module):
    """The network an architecture string describes: its blocks, global pooling, dropout, classifier."""

    def __init__(self, arch: str | Sequence[BlockSpec], num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        specs = parse_arch(arch) if isinstance(arch, str) else list(arch)
        self.arch = format_arch(specs)
        self.num_classes = num_classes
        self.in_channels = specs[0].in_ch
        self.features = nn.Sequential(*[nn.Sequential(*map(Layer, b.layers())) for b in specs])
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(specs[-1].out_ch, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.forward_features(x)))


def create_model(name_or_arch: str, num_classes: int = 1000, input_size: int = 224,
                 dropout: float | None = None) -> MnasNet:
    """Build a named variant (adapted to `input_size`) or any architecture string."""
    if name_or_arch in VARIANTS:
        arch = variant_arch(name_or_arch, input_size)
        default_dropout = VARIANTS[name_or_arch].dropout
    else:
        arch, default_dropout = name_or_arch, 0.2
    return MnasNet(arch, num_classes, default_dropout if dropout is None else dropout)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.Conv2d):
        k_h, k_w = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * k_h * k_w
    return output.numel() * module.in_features  # nn.Linear


def macs_per_block(model: MnasNet, input_size: int = 224) -> list[int]:
    """Multiply-accumulates of each block of `model.features` (one entry per block string), batch 1."""
    per_block = [0] * len(model.features)
    hooks = []
    for index, block in enumerate(model.features):
        for module in block.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                def hook(module, _inputs, output, index=index):
                    per_block[index] += _layer_macs(module, output)
                hooks.append(module.register_forward_hook(hook))
    _run_once(model, hooks, input_size, model.in_channels)
    return per_block


def count_macs(model: nn.Module, input_size: int = 224, in_channels: int = 3) -> int:
    """Multiply-accumulates of one forward pass at batch 1 (convs and linear layers)."""
    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        total += _layer_macs(module, output)

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    _run_once(model, hooks, input_size, in_channels)
    return total


def _run_once(model: nn.Module, hooks: list, input_size: int, in_channels: int) -> None:
    """One eval-mode forward pass on zeros, then remove `hooks` and restore the training flag."""
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, in_channels, input_size, input_size))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
