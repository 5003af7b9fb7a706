import pytest
import torch

from mnas.arch import parse_arch
from mnas.models import VARIANTS, count_macs, count_params, create_model, variant_arch

# Published figures at 224 px (../shared/mnasnet-facts.md): exact params for torchvision's B1,
# approximate (2 %) for A1 / small, MACs within 2 %.
PUBLISHED = {
    "mnasnet0_5": (2_218_512, 104e6, True),
    "mnasnet0_75": (3_170_208, 215e6, True),
    "mnasnet1_0": (4_383_312, 314e6, True),
    "mnasnet1_3": (6_282_256, 526e6, True),
    "mnasnet_a1": (3.9e6, 312e6, False),
    "mnasnet_small": (2.03e6, 68e6, False),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_published_params_and_macs(name):
    params, macs, exact = PUBLISHED[name]
    model = create_model(name)
    if exact:
        assert count_params(model) == params
    else:
        assert count_params(model) == pytest.approx(params, rel=0.02)
    assert count_macs(model, 224) == pytest.approx(macs, rel=0.02)


def test_every_variant_string_parses_and_round_trips():
    for name in VARIANTS:
        for size in (32, 64, 224):
            arch = variant_arch(name, size)
            assert create_model(arch).arch == arch


@pytest.mark.parametrize("size, expected_map", [(224, 7), (32, 4), (64, 4), (96, 6)])
def test_small_inputs_keep_a_useful_final_feature_map(size, expected_map):
    model = create_model("mnasnet1_0", input_size=size).eval()
    with torch.no_grad():
        features = model.features(torch.zeros(1, 3, size, size))
    assert features.shape[-1] == expected_map


def test_num_classes_and_forward_shape():
    model = create_model("mnasnet_a1", num_classes=10, input_size=32).eval()
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_a1_has_squeeze_excitation_with_official_squeeze_width():
    from mnas.models import SqueezeExcite

    model = create_model("mnasnet_a1")
    widths = [(m.reduce.in_channels, m.reduce.out_channels) for m in model.modules()
              if isinstance(m, SqueezeExcite)]
    # block r3_k5_s22_e3_i24_o40_se0.25: first layer squeeze max(1, int(24 * 0.25)) = 6 of 72 mid
    assert widths[0] == (72, 6)
    assert widths[1] == (120, 10)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="model_name 'mnasnet9'.*expected one of"):
        variant_arch("mnasnet9")
    with pytest.raises(ValueError, match="num_classes"):
        create_model("mnasnet0_5", num_classes=0)
    with pytest.raises(ValueError, match="block 0"):
        create_model("r1_k3_s22_e1_i3_o32_convv")


def test_regular_conv_and_pool_skip_ops_build_and_run():
    arch = ("r1_k3_s11_e1_i3_o16_conv, r2_k5_s22_e6_i16_o24_se0.25_poolskip, "
            "r1_k3_s11_e1_i24_o24_conv, r1_k1_s11_e1_i24_o64_conv")
    model = create_model(arch, num_classes=5).eval()
    assert [b.out_ch for b in parse_arch(model.arch)] == [16, 24, 24, 64]
    assert model(torch.rand(1, 3, 32, 32)).shape == (1, 5)


def test_macs_per_block_add_up_to_the_body_total():
    from mnas.models import macs_per_block

    model = create_model("mnasnet_a1")
    per_block = macs_per_block(model, 224)
    assert len(per_block) == len(model.features)
    classifier_macs = model.classifier.in_features * model.classifier.out_features
    assert sum(per_block) + classifier_macs == count_macs(model, 224)
