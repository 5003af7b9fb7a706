"""The reference families at 32 px, in the block grammar: MnasNet-B1 and MobileNetV2 by width.

B1 is MnasNet's own searched model (and the skeleton of the search space); MobileNetV2 is the paper's
hand-designed reference.  Both are adapted to 32 px images the same way: the stem keeps its stride 2,
and of the four strided blocks after it the first and third keep theirs (total stride 8, a 4x4 final
map), as `mnas.search.space.SKELETON_32` does for B1.  A width scales the stem and every block's
filters (rounded to multiples of 8); the 1x1 head stays at 1,280 channels.  Our blocks use ReLU where
MobileNetV2 uses ReLU6 (the grammar has one activation).
"""

from __future__ import annotations

from mnas.search.space import SKELETON_32, SearchSpace

# torchvision's MobileNetV2 table (t, c, n, s): (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1)
# (6,160,3,2) (6,320,1,1), with the 32- and 160-channel blocks unstrided for 32 px.
MOBILENETV2_32 = ("r1_k3_s11_e1_i32_o16_noskip", "r2_k3_s22_e6_i16_o24", "r3_k3_s11_e6_i24_o32",
                  "r4_k3_s22_e6_i32_o64", "r3_k3_s11_e6_i64_o96", "r3_k3_s11_e6_i96_o160",
                  "r1_k3_s11_e6_i160_o320_noskip")
FAMILIES = {"b1": SKELETON_32, "mobilenetv2": MOBILENETV2_32}
REFERENCE_WIDTHS = (0.35, 0.5, 0.75, 1.0)


def family_arch(family: str, width: float) -> str:
    """The architecture string of `family` ("b1" or "mobilenetv2") at `width`, for 32 px images."""
    if family not in FAMILIES:
        raise ValueError(f"reference family {family!r}: expected one of {', '.join(FAMILIES)}")
    if not width > 0:
        raise ValueError(f"reference width must be > 0, got {width!r}")
    return SearchSpace(skeleton=FAMILIES[family], width=width).skeleton_arch()
