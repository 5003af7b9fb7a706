"""Architecture strings: the one grammar used from the search controller to the saved weights.

A network is a comma-separated list of *block strings*; each block string is underscore-separated
tokens in the notation of the official MnasNet code, extended with two op tokens the search needs:

    r1_k3_s22_e1_i3_o32_conv, r1_k3_s11_e1_i32_o16_noskip, r3_k3_s22_e3_i16_o24, ...

| token | meaning |
|---|---|
| ``rN`` | repeats: the block's layer design is stacked N times (N >= 1) |
| ``kN`` | kernel size of the spatial conv (odd, >= 1) |
| ``sNN`` | stride pair, both digits equal (s11, s22); only the first layer of the block is strided |
| ``eX`` | expansion ratio of MBConv; ``e1`` means no expansion conv (depthwise separable conv) |
| ``iN`` | input channels of the block (the previous block's ``o``; the first block's is the image's) |
| ``oN`` | output channels of the block |
| ``seX`` | squeeze-and-excitation ratio, 0 < X <= 1; squeeze width = max(1, int(i * X)) (absent: no SE) |
| ``conv`` | op: a regular k x k conv + BN + ReLU instead of MBConv (needs ``e1``) |
| ``noskip`` | skip op: no residual connection |
| ``poolskip`` | skip op: residual through avg-pooling (when strided) and a 1x1 conv + BN (when channels change), so the block always has a shortcut |

Without a skip token the skip op is *identity*: a residual exists only where stride is 1 and i == o,
exactly as in the official code and torchvision.  The network built from a string is the blocks in
order (stem and 1x1 head included, as ``conv`` blocks), then global average pooling, dropout and a
linear classifier.  ``format_arch(parse_arch(s)) == s`` for every canonical string (tokens in the
order of the table, ``", "`` between blocks).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Sequence

OPS = ("mbconv", "conv")
SKIPS = ("identity", "none", "pool")
_SKIP_TOKENS = {"noskip": "none", "poolskip": "pool"}
_SKIP_NAMES = {value: key for key, value in _SKIP_TOKENS.items()}
# ASCII digits only: \d (and int()) would also read Arabic-Indic or full-width digits as numbers
_DIGITS = r"[0-9]+"
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"


class ArchStringError(ValueError):
    """A malformed architecture string; the message names the block, the token and what was expected."""


@dataclasses.dataclass(frozen=True)
class BlockSpec:
    """One block: `repeats` layers of the same design, only the first one strided."""

    repeats: int
    kernel: int
    stride: int
    expansion: float
    in_ch: int
    out_ch: int
    se_ratio: float = 0.0
    op: str = "mbconv"
    skip: str = "identity"

    def __post_init__(self):
        problems = []
        if self.repeats < 1:
            problems.append(f"repeats must be >= 1, got {self.repeats}")
        if self.kernel < 1 or self.kernel % 2 == 0:
            problems.append(f"kernel must be odd and >= 1, got {self.kernel}")
        if self.stride not in (1, 2):
            problems.append(f"stride must be 1 or 2, got {self.stride}")
        if self.expansion < 1:
            problems.append(f"expansion must be >= 1, got {self.expansion}")
        if self.in_ch < 1 or self.out_ch < 1:
            problems.append(f"channels must be >= 1, got i{self.in_ch} o{self.out_ch}")
        if not 0 <= self.se_ratio <= 1:
            problems.append(f"se ratio must be in (0, 1], got {self.se_ratio}")
        if self.op not in OPS:
            problems.append(f"op must be one of {OPS}, got {self.op!r}")
        if self.op == "conv" and self.expansion != 1:
            problems.append(f"a regular conv block takes no expansion (e1), got e{_fmt(self.expansion)}")
        if self.skip not in SKIPS:
            problems.append(f"skip must be one of {SKIPS}, got {self.skip!r}")
        if problems:
            raise ArchStringError("; ".join(problems))

    def layers(self) -> list["BlockSpec"]:
        """The block unrolled into single layers: the first one strided, the rest stride 1 at out_ch."""
        first = dataclasses.replace(self, repeats=1)
        rest = dataclasses.replace(self, repeats=1, stride=1, in_ch=self.out_ch)
        return [first] + [rest] * (self.repeats - 1)

    @property
    def has_residual(self) -> bool:
        """Whether a single layer of this spec adds a shortcut (computed, never stored)."""
        if self.skip == "pool":
            return True
        return self.skip == "identity" and self.stride == 1 and self.in_ch == self.out_ch

    def __str__(self) -> str:
        return format_block(self)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format(value, "g")


_TOKENS = (
    # (prefix, field, value pattern, what is expected); longer prefixes first so "se" is not read as "s"
    ("se", "se_ratio", _NUMBER, "seX with 0 < X <= 1, e.g. se0.25"),
    ("r", "repeats", _DIGITS, "rN, e.g. r3"),
    ("k", "kernel", _DIGITS, "kN with N odd, e.g. k5"),
    ("s", "stride", r"([0-9])\1", "sNN with two equal digits, e.g. s11 or s22"),
    ("e", "expansion", _NUMBER, "eX, e.g. e6"),
    ("i", "in_ch", _DIGITS, "iN, e.g. i24"),
    ("o", "out_ch", _DIGITS, "oN, e.g. o40"),
)
_INTEGER_FIELDS = {"repeats", "kernel", "in_ch", "out_ch"}
_REQUIRED = ("repeats", "kernel", "stride", "expansion", "in_ch", "out_ch")


def _parse_token(token: str, where: str) -> tuple[str, object]:
    if token == "conv":
        return "op", "conv"
    if token in _SKIP_TOKENS:
        return "skip", _SKIP_TOKENS[token]
    for prefix, field, value_pattern, expected in _TOKENS:
        if not token.startswith(prefix):
            continue
        value = token[len(prefix):]
        if not re.fullmatch(value_pattern, value):
            note = "" if value.isascii() else " (ASCII digits 0-9 only)"
            raise ArchStringError(f"{where}: token {token!r}: expected {expected}{note}")
        if field == "stride":
            return field, int(value[0])
        return field, int(value) if field in _INTEGER_FIELDS else float(value)
    raise ArchStringError(f"{where}: unknown token {token!r}: expected r, k, s, e, i, o or se with a "
                          "number, or one of conv, noskip, poolskip")


def parse_block(text: str, where: str = "block") -> BlockSpec:
    """Parse one block string such as ``r3_k5_s22_e3_i24_o40_se0.25``."""
    text = text.strip()
    if not text:
        raise ArchStringError(f"{where}: empty block string")
    fields: dict[str, object] = {}
    for token in text.split("_"):
        field, value = _parse_token(token, f"{where} {text!r}")
        if field in fields:
            raise ArchStringError(f"{where} {text!r}: {field} given twice (token {token!r})")
        fields[field] = value
    missing = [f for f in _REQUIRED if f not in fields]
    if missing:
        raise ArchStringError(f"{where} {text!r}: missing {', '.join(missing)} "
                              f"(a block needs r, k, s, e, i and o tokens)")
    try:
        return BlockSpec(**fields)
    except ArchStringError as error:
        raise ArchStringError(f"{where} {text!r}: {error}") from None


def format_block(spec: BlockSpec) -> str:
    """The canonical block string of `spec` (the inverse of `parse_block`)."""
    tokens = [f"r{spec.repeats}", f"k{spec.kernel}", f"s{spec.stride}{spec.stride}",
              f"e{_fmt(spec.expansion)}", f"i{spec.in_ch}", f"o{spec.out_ch}"]
    if spec.se_ratio:
        tokens.append(f"se{_fmt(spec.se_ratio)}")
    if spec.op == "conv":
        tokens.append("conv")
    if spec.skip != "identity":
        tokens.append(_SKIP_NAMES[spec.skip])
    return "_".join(tokens)


def parse_arch(text: str | Sequence[str], image_channels: int | None = None) -> list[BlockSpec]:
    """Parse a network string (blocks separated by commas) or a list of block strings.

    Checks that each block's input channels equal the previous block's output channels and, with
    `image_channels`, that the first block takes that many (3 for RGB images).
    """
    if isinstance(text, str):
        parts = [p for p in re.split(r"[,\n;]", text) if p.strip()]
    else:
        parts = list(text)
    if not parts:
        raise ArchStringError("architecture string is empty: expected comma-separated block strings "
                              "such as 'r1_k3_s22_e1_i3_o32_conv, r2_k3_s22_e6_i32_o24'")
    blocks = [parse_block(p, where=f"block {n}") for n, p in enumerate(parts)]
    if image_channels is not None and blocks[0].in_ch != image_channels:
        raise ArchStringError(f"block 0 {format_block(blocks[0])!r}: input channels i{blocks[0].in_ch} "
                              f"must be the images' {image_channels} channels: expected i{image_channels}")
    check_channel_chain(blocks)
    return blocks


def check_channel_chain(blocks: Sequence[BlockSpec]) -> None:
    for n in range(1, len(blocks)):
        if blocks[n].in_ch != blocks[n - 1].out_ch:
            raise ArchStringError(
                f"block {n} {format_block(blocks[n])!r}: input channels i{blocks[n].in_ch} must equal "
                f"the previous block's output channels o{blocks[n - 1].out_ch}")


def format_arch(blocks: Iterable[BlockSpec]) -> str:
    """The canonical network string of `blocks` (the inverse of `parse_arch`)."""
    return ", ".join(format_block(b) for b in blocks)


def network_signature(arch: str | Sequence[BlockSpec]) -> tuple:
    """The network an architecture builds, layer by layer: two strings with one signature build the same
    network (block boundaries, a skip choice where no shortcut can exist, repeats clamped at 1 leave no
    trace), so a sample of a search space can count each network once."""
    blocks = parse_arch(arch) if isinstance(arch, str) else list(arch)
    return tuple((layer.op, layer.kernel, layer.stride, layer.expansion, layer.in_ch, layer.out_ch,
                  layer.se_ratio, layer.has_residual) for block in blocks for layer in block.layers())


def total_stride(blocks: Iterable[BlockSpec]) -> int:
    result = 1
    for block in blocks:
        result *= block.stride
    return result
