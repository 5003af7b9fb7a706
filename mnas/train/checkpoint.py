"""Training checkpoints: what a resumed run needs, written after every epoch, and the checks that a
resumed run is the same run (model, classes, settings)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from torch import nn

from mnas.settings import stored_fields
from mnas.utils.fileio import read_torch_file

CHECKPOINT_NAME = "last.pt"
CHECKPOINT_FORMAT = "mnas-checkpoint/1"
# Settings a resumed run may change (more epochs, other loader threads, another device); any other
# change would make the resumed run a different one than its checkpoint and history describe.
RESUMABLE_CHANGES = ("epochs", "num_workers", "eval_batch_size", "device", "mixed_precision",
                     "decode_workers")


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without any)."""
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def checkpoint_payload(model, optimizer, scaler, generator, epoch: int, history, config, class_names) -> dict:
    """Everything a resumed run needs, after `epoch` finished epochs (`history`: their `EpochStats`)."""
    device = model_device(model)
    return {"format": CHECKPOINT_FORMAT, "epoch": epoch, "arch": getattr(model, "arch", ""),
            "class_names": list(class_names), "config": dataclasses.asdict(config),
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
            # dropout draws from the CUDA generator on a GPU: restored when resuming on a GPU
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "grad_scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "trained_on": str(device), "history": [dataclasses.asdict(h) for h in history]}


def load_checkpoint(path: str | os.PathLike) -> dict:
    """The training checkpoint at `path`, on the CPU (any device's), loaded ``weights_only``: a damaged,
    empty or foreign file is a ValueError naming it, never a raw unpickling error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"resume: no checkpoint at {path}")
    payload = read_torch_file(path, "resume: checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"resume: {path} is not an mnas training checkpoint (expected a dict with format "
                         f"{CHECKPOINT_FORMAT!r}, as train writes after every epoch)")
    return payload


def check_resume_config(checkpoint: dict, config, path) -> None:
    """A resumed run must keep every setting (`config`, a `mnas.train.config.TrainConfig`) of its checkpoint but
    those in `RESUMABLE_CHANGES`."""
    old = stored_fields(type(config), checkpoint.get("config", {}))  # written before a field was renamed
    new = dataclasses.asdict(config)
    different = [name for name, value in new.items() if name not in RESUMABLE_CHANGES
                 and _comparable(old.get(name)) != _comparable(value)]
    if different:
        changes = ", ".join(f"{name} {_comparable(old.get(name))!r} -> {_comparable(new[name])!r}"
                            for name in different)
        raise ValueError(f"resume: checkpoint {path} was trained with other settings ({changes}): resume "
                         "with the checkpoint's settings (only epochs may grow), or train into another "
                         "output folder")
    if config.epochs < checkpoint.get("epoch", 0):
        raise ValueError(f"resume: checkpoint {path} has {checkpoint['epoch']} epochs done, more than "
                         f"epochs {config.epochs}: expected epochs >= {checkpoint['epoch']}")


def _comparable(value):
    return list(value) if isinstance(value, tuple) else value


def restore(checkpoint: dict, model, optimizer, scaler, generator, class_names, config, path) -> list[dict]:
    """Put the model, optimizer, generators and loss scaler back as `checkpoint` holds them; returns its
    history (one dict per finished epoch). Refuses another model, class list or settings."""
    if checkpoint["arch"] != getattr(model, "arch", "") or checkpoint["class_names"] != list(class_names):
        raise ValueError(f"resume: checkpoint {path} is for another model or class list "
                         f"(arch {checkpoint['arch']!r}, classes {checkpoint['class_names']}); "
                         "delete it or train without resume")
    check_resume_config(checkpoint, config, path)
    model.load_state_dict(checkpoint["model"])      # copied onto the model's device
    optimizer.load_state_dict(checkpoint["optimizer"])  # its state follows the parameters' device
    generator.set_state(checkpoint["generator"])
    torch.set_rng_state(checkpoint["torch_rng"])
    device = model_device(model)
    if device.type == "cuda" and checkpoint.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(checkpoint["cuda_rng"], device)
    if scaler.is_enabled() and checkpoint.get("grad_scaler"):
        scaler.load_state_dict(checkpoint["grad_scaler"])
    return list(checkpoint["history"])
