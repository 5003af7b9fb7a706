"""Ikomia plugin ``infer_mnasnet``: MnasNet image classification (a thin adapter over `mnas.infer`)."""
