"""Model files: one self-describing checkpoint format, always loaded with ``weights_only=True``.

A model file is a dict with the architecture string, class names, input size and normalisation next
to the state dict, so that ``infer_mnasnet`` needs nothing but the file to rebuild and use the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .fileio import atomic_torch_save
from .models import MnasNet

MODEL_FILE_FORMAT = "mnas-model/1"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def save_model_file(path: str | os.PathLike, model: MnasNet, *, class_names: list[str], input_size: int,
                    mean=IMAGENET_MEAN, std=IMAGENET_STD, metadata: dict | None = None) -> Path:
    """Write `model` with everything needed to use it; atomic (never half-written)."""
    if len(class_names) != model.num_classes:
        raise ValueError(f"class_names has {len(class_names)} names but the model has "
                         f"{model.num_classes} outputs")
    payload = {
        "format": MODEL_FILE_FORMAT,
        "arch": model.arch,
        "num_classes": model.num_classes,
        "dropout": float(model.dropout.p),
        "class_names": list(class_names),
        "input_size": int(input_size),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "metadata": dict(metadata or {}),
        "state_dict": model.state_dict(),
    }
    atomic_torch_save(payload, path)
    return Path(path)


def read_model_file(path: str | os.PathLike) -> dict:
    """Load a model file's dict safely; a clear error when it is missing, corrupt or not ours."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model_weight_file {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"model_weight_file {str(path)!r} is not a readable PyTorch checkpoint "
                         f"({type(error).__name__}: {str(error).splitlines()[0][:200]})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FILE_FORMAT:
        raise ValueError(f"model_weight_file {str(path)!r} is not an mnas model file "
                         f"(expected a dict with format {MODEL_FILE_FORMAT!r})")
    return payload


def load_model_file(path: str | os.PathLike) -> tuple[MnasNet, dict]:
    """Rebuild the model a model file describes; returns (model in eval mode, the file's metadata)."""
    payload = read_model_file(path)
    model = MnasNet(payload["arch"], payload["num_classes"], payload.get("dropout", 0.2))
    model.load_state_dict(payload.pop("state_dict"))
    return model.eval(), payload
