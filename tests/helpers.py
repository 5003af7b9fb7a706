"""Shared by the training, search and widget tests: a tiny architecture and a check for servers."""

from __future__ import annotations

import subprocess

# A small but complete network of the grammar (stem conv, MBConv with SE, 1x1 head): fast on 2 cores
TINY_ARCH = ("r1_k3_s11_e1_i3_o16_conv, r1_k3_s22_e3_i16_o24_se0.25, r2_k3_s22_e3_i24_o32, "
             "r1_k1_s11_e1_i32_o64_conv")


def no_server_left() -> bool:
    """No MLflow or TensorBoard server process is running (a task must never start one in tests)."""
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return not any("mlflow server" in line or "tensorboard" in line for line in listing.splitlines())
