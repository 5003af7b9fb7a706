"""Where training runs: ``auto`` (CUDA when torch sees a GPU, else the CPU), ``cpu``, ``cuda`` or
``cuda:N``. One parser for every entry point (TrainConfig, the search config, both CLIs, the tasks).

`check_device_spec` checks the spelling only (a config may be written on one machine and run on
another); `resolve_device` also checks that the device exists here, with an error that says what torch
sees and what to use instead.
"""

from __future__ import annotations

import re

import torch

AUTO = "auto"
_SPEC = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")


def check_device_spec(spec, name: str = "device") -> str:
    """The spec normalised (lower case, no spaces); a ValueError naming `name` when it is not one."""
    text = spec.strip().lower() if isinstance(spec, str) else ""
    match = _SPEC.match(text)
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise ValueError(f"{name} must be auto, cpu, cuda or cuda:N (N a GPU index), got {spec!r}")
    return text


def resolve_device(spec: str = AUTO, name: str = "device") -> torch.device:
    """The torch device `spec` names here; auto is CUDA when available. A clear error when the device
    is not available (no CUDA build, no GPU, or an index past the GPUs torch sees)."""
    text = check_device_spec(spec, name)
    if text == "cpu" or (text == AUTO and not torch.cuda.is_available()):
        return torch.device("cpu")
    if text == AUTO:
        return torch.device("cuda", torch.cuda.current_device())
    if not torch.cuda.is_available():
        why = ("this torch build has no CUDA support" if torch.version.cuda is None
               else f"torch (CUDA {torch.version.cuda}) sees no GPU")
        raise ValueError(f"{name} {spec!r} is not available: {why}; use {name} auto or cpu")
    device = torch.device(text)
    count = torch.cuda.device_count()
    if device.index is not None and device.index >= count:
        raise ValueError(f"{name} {spec!r} is not available: torch sees {count} GPU(s), cuda:0 to "
                         f"cuda:{count - 1}")
    return device if device.index is not None else torch.device("cuda", torch.cuda.current_device())


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """Mixed precision on CUDA: bfloat16 where the GPU supports it (no loss scaling needed), else
    float16 (with a GradScaler); None on the CPU, which trains in float32."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
