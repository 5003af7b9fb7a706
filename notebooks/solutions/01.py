# %% [markdown]
# ### Exercise 1: kernel 3 / expansion 6 against kernel 5 / expansion 3
#
# At 224 px, A1's third block reads a 56x56 map (the stem and block 2 halved it twice). The cost of an
# MBConv layer is $eC_{in}\,(C_{in} + k^2 + C_{out})$ per pixel: the expansion multiplies every term,
# the kernel only the depthwise one, $k^2 = 9$ or $25$ against $C_{in} + C_{out} = 64$ for the two
# $1\times 1$ convs. So e6 with k3 costs about $6\cdot 73 / (3\cdot 89) \approx 1.6$ times e3 with k5
# (the later layers of the block, 40 channels in and out, follow the same rule).

# %%
def block_macs(block: str, in_channels: int, size: int) -> int:
    """MACs of `block` alone on a size x size map with `in_channels` channels (the stem subtracted)."""
    stem = f"r1_k1_s11_e1_i3_o{in_channels}_conv"
    return count_macs(MnasNet(f"{stem}, {block}", num_classes=1), size) - count_macs(MnasNet(stem, num_classes=1), size)


for block in ("r3_k5_s22_e3_i24_o40_se0.25", "r3_k3_s22_e6_i24_o40_se0.25"):
    print(f"{block}: {block_macs(block, 24, 56) / 1e6:6.1f}M MACs")

# %% [markdown]
# ### Exercise 2: MnasNet-B1 at 0.75 width by hand

# %%
import dataclasses

from mnas.models import round_filters

scaled = []  # every width but the input's 3 channels and the head's 1280 scaled by 0.75, rounded to 8
for block in parse_arch(variant_arch("mnasnet1_0")):
    in_ch = block.in_ch if block.in_ch == 3 else round_filters(block.in_ch * 0.75)
    out_ch = block.out_ch if block.out_ch == 1280 else round_filters(block.out_ch * 0.75)
    scaled.append(format_block(dataclasses.replace(block, in_ch=in_ch, out_ch=out_ch)))
mine_075 = create_model(", ".join(scaled), num_classes=1000)
print(f"{count_params(mine_075):,} parameters (torchvision's mnasnet0_75: 3,170,208); same string as the "
      f"variant: {mine_075.arch == variant_arch('mnasnet0_75')}")

# %% [markdown]
# ### Exercise 3: the cheapest op for 80 -> 80 channels on a 14x14 map
#
# Prediction from section 1: depthwise separable ($k^2 C + C^2$ per pixel) is far below the others; the
# regular conv ($k^2 C^2$) costs about $9/(2\cdot 3 + 9/80) \approx 1.5$ times an MBConv e3 at these
# channel counts (the printout: 1.4).

# %%
for name, block in {"conv": "r1_k3_s11_e1_i80_o80_conv", "dconv": "r1_k3_s11_e1_i80_o80",
                    "MBConv e3": "r1_k3_s11_e3_i80_o80", "MBConv e6": "r1_k3_s11_e6_i80_o80"}.items():
    print(f"{name:<10} {block_macs(block, 80, 14) / 1e6:6.2f}M MACs")
