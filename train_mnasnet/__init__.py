"""Ikomia plugin ``train_mnasnet``: train or fine-tune any MnasNet (a thin adapter over `mnas.train_job`)."""
