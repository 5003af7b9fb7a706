"""Our model file: the architecture string, class names, input size and normalisation beside the state dict,
so that ``infer_mnasnet`` needs nothing but the file to rebuild and use the model; loaded ``weights_only``."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

from mnas.data.folders import check_class_names
from mnas.models import MnasNet
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD, MAX_INPUT_SIZE, MIN_IMAGE_SIDE
from mnas.utils.fileio import atomic_torch_save, read_torch_file
from mnas.weights.convert import load_state_dict_into
from mnas.weights.state_dict import check_finite

MODEL_FILE_FORMAT = "mnas-model/1"
logger = logging.getLogger(__name__)


def save_model_file(path: str | os.PathLike, model: MnasNet, *, class_names: list[str], input_size: int,
                    mean=IMAGENET_MEAN, std=IMAGENET_STD, metadata: dict | None = None) -> Path:
    """Write `model` with everything needed to use it; atomic (never half-written)."""
    if len(class_names) != model.num_classes:
        raise ValueError(f"class_names has {len(class_names)} names but the model has "
                         f"{model.num_classes} outputs")
    check_class_names(class_names, "class_names")
    check_finite(model.state_dict(), f"the model to save as {str(path)!r}")
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


def read_checkpoint(path: str | os.PathLike, what: str = "model_weight_file"):
    """``torch.load(path, weights_only=True)`` on CPU; a missing file is a FileNotFoundError, a directory,
    an empty, HTML, truncated or code-carrying file a ValueError naming it (`mnas.utils.fileio.read_torch_file`)."""
    return read_torch_file(path, what)


def is_model_file(payload) -> bool:
    return isinstance(payload, Mapping) and payload.get("format") == MODEL_FILE_FORMAT


def read_model_file(path: str | os.PathLike) -> dict:
    """Load a model file's dict safely; a clear error when it is missing, corrupt, not ours or damaged."""
    payload = read_checkpoint(path)
    if not is_model_file(payload):
        raise ValueError(f"model_weight_file {str(path)!r} is not an mnas model file "
                         f"(expected a dict with format {MODEL_FILE_FORMAT!r})")
    check_model_file(payload, f"model_weight_file {str(path)!r}")
    return payload


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_model_file(payload: Mapping, source: str) -> None:
    """Every field a model file must hold, with its type and range: a file edited by hand or written by
    other code fails here, naming the field, not later with a KeyError or IndexError."""
    num_classes = payload.get("num_classes")
    names = payload.get("class_names")
    checks = [
        ("arch", isinstance(payload.get("arch"), str) and payload.get("arch"), "an architecture string"),
        ("num_classes", isinstance(num_classes, int) and num_classes >= 2, "an integer >= 2"),
        ("class_names", isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names)
         and len(names) == num_classes, f"a list of {num_classes} class names (one per output)"),
        ("input_size", isinstance(payload.get("input_size"), int)
         and MIN_IMAGE_SIDE <= payload["input_size"] <= MAX_INPUT_SIZE,
         f"an integer in [{MIN_IMAGE_SIDE}, {MAX_INPUT_SIZE}]"),
        ("mean", isinstance(payload.get("mean"), (list, tuple)) and len(payload["mean"]) == 3
         and all(map(_is_number, payload["mean"])), "three finite numbers"),
        ("std", isinstance(payload.get("std"), (list, tuple)) and len(payload["std"]) == 3
         and all(_is_number(v) and v > 0 for v in payload["std"]), "three finite numbers > 0"),
        ("state_dict", isinstance(payload.get("state_dict"), Mapping), "a state dict"),
    ]
    for field, ok, expected in checks:
        if not ok:
            found = repr(payload[field])[:80] if field in payload else "missing"
            raise ValueError(f"{source} is damaged: its {field!r} must be {expected}, got {found}")
    check_class_names(names, f"{source}: class_names")


def load_model_file(path: str | os.PathLike) -> tuple[MnasNet, dict]:
    """Rebuild the model a model file describes; returns (model in eval mode, the file's metadata)."""
    payload = read_model_file(path)
    return model_from_payload(payload, f"model_weight_file {str(path)!r}"), payload


def model_from_payload(payload: dict, source: str) -> MnasNet:
    """The model a checked model file's payload describes, its weights loaded (eval mode); the payload
    keeps everything but its state dict."""
    model = MnasNet(payload["arch"], payload["num_classes"], payload.get("dropout", 0.2))
    load_state_dict_into(model, payload.pop("state_dict"), source=source,
                         model_label=f"its architecture ({payload['num_classes']} classes)")
    return model.eval()


