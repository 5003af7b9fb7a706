"""MnasNet in pure PyTorch: architecture strings, one model builder, weights, training, search.

No Ikomia import anywhere in this package; the Ikomia plugins and `mnas_ikomia` adapt it.
"""

from mnas.arch import ArchStringError, BlockSpec, format_arch, parse_arch
from mnas.models import VARIANTS, MnasNet, count_macs, count_params, create_model, variant_arch

__all__ = ["ArchStringError", "BlockSpec", "MnasNet", "VARIANTS", "count_macs", "count_params",
           "create_model", "format_arch", "parse_arch", "variant_arch"]
