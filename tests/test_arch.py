import pytest

from mnas.arch import ArchStringError, BlockSpec, format_arch, format_block, parse_arch, parse_block
from mnas.models import VARIANTS

OFFICIAL_BLOCKS = [b for v in VARIANTS.values() for b in v.blocks] + [
    "r1_k3_s22_e1_i3_o32_conv", "r2_k5_s11_e6_i24_o24_se0.25_poolskip", "r1_k3_s22_e3_i16_o24_noskip",
    "r3_k3_s11_e1_i40_o40_conv_noskip", "r1_k5_s22_e4.5_i8_o16",
]


@pytest.mark.parametrize("text", OFFICIAL_BLOCKS)
def test_block_strings_round_trip_exactly(text):
    assert format_block(parse_block(text)) == text


def test_fields_of_an_official_block():
    spec = parse_block("r3_k5_s22_e3_i24_o40_se0.25")
    assert spec == BlockSpec(repeats=3, kernel=5, stride=2, expansion=3, in_ch=24, out_ch=40, se_ratio=0.25)
    assert not spec.has_residual  # strided: official code adds no residual
    first, *rest = spec.layers()
    assert first.stride == 2 and first.in_ch == 24
    assert [(layer.stride, layer.in_ch, layer.out_ch) for layer in rest] == [(1, 40, 40)] * 2
    assert all(layer.has_residual for layer in rest)


def test_skip_ops():
    assert parse_block("r1_k3_s11_e6_i16_o16").has_residual
    assert not parse_block("r1_k3_s11_e6_i16_o16_noskip").has_residual
    assert parse_block("r1_k3_s22_e6_i16_o24_poolskip").has_residual


def test_network_string_round_trip_and_tolerant_separators():
    text = "r1_k3_s22_e1_i3_o32_conv, r1_k3_s11_e1_i32_o16_noskip, r2_k3_s22_e6_i16_o24"
    assert format_arch(parse_arch(text)) == text
    assert parse_arch(text.replace(", ", ",\n")) == parse_arch(text)
    assert parse_arch(text.split(", ")) == parse_arch(text)


@pytest.mark.parametrize("text, fragment", [
    ("r1_k3_s21_e1_i3_o32", "s21"),
    ("r1_k3_s22_e1_i3", "missing out_ch"),
    ("r1_k4_s22_e1_i3_o8", "kernel must be odd"),
    ("r1_k3_s22_e1_i3_o8_x7", "unknown token 'x7'"),
    ("r1_k3_s22_e6_i3_o8_conv", "takes no expansion"),
    ("r1_k3_s22_e1_i3_o8_se1.5", "se ratio"),
    ("r1_r2_k3_s22_e1_i3_o8", "repeats given twice"),
    ("r0_k3_s22_e1_i3_o8", "repeats must be >= 1"),
    ("rx_k3_s22_e1_i3_o8", "token 'rx': expected rN"),
    ("", "empty"),
])
def test_malformed_strings_name_the_token_and_what_was_expected(text, fragment):
    with pytest.raises(ArchStringError, match=None) as error:
        parse_arch(text)
    assert fragment in str(error.value)


def test_channel_chain_is_checked():
    with pytest.raises(ArchStringError, match=r"block 1 .*i24 must equal .* o16"):
        parse_arch("r1_k3_s22_e1_i3_o16_conv, r1_k3_s11_e6_i24_o24")
