"""Shared by the training, search and widget tests: real CIFAR-10 subsets and a check for servers."""

from __future__ import annotations

import subprocess
from pathlib import Path

# A small but complete network of the grammar (stem conv, MBConv with SE, 1x1 head): fast on 2 cores
TINY_ARCH = ("r1_k3_s11_e1_i3_o16_conv, r1_k3_s22_e3_i16_o24_se0.25, r2_k3_s22_e3_i24_o32, "
             "r1_k1_s11_e1_i32_o64_conv")


def link_cifar_subset(cifar10_root: Path, root: Path, classes, counts: dict[str, int]) -> Path:
    """`root/<split>/<class>/` holding links to the first `counts[split]` real CIFAR-10 images."""
    for split, count in counts.items():
        for name in classes:
            (root / split / name).mkdir(parents=True)
            for source in sorted((cifar10_root / split / name).iterdir())[:count]:
                (root / split / name / source.name).symlink_to(source)
    return root


def no_server_left() -> bool:
    """No MLflow or TensorBoard server process is running (a task must never start one in tests)."""
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return not any("mlflow server" in line or "tensorboard" in line for line in listing.splitlines())
