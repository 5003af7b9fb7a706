"""Weights: model files, torchvision checkpoints, ImageNet weights, class files; every load ``weights_only``.

Model files (ours): a dict with the architecture string, class names, input size and normalisation next
to the state dict, so that ``infer_mnasnet`` needs nothing but the file to rebuild and use the model
(`save_model_file`, `read_model_file`, `load_model_file`).

State dicts (`convert_state_dict`): our own (``features.*`` / ``classifier.*`` keys) are matched by name,
in any key order. torchvision's ``mnasnet*`` (keys ``layers.N.*`` / ``classifier.1.*``) and timm's
(``conv_stem``, ``blocks.S.B.*``) name their tensors differently from ours, so no name can match: their
tensors are put in their network's order, derived from their names (not from the order of the dict),
and mapped one by one onto ours -- B1 has torchvision's tensors in torchvision's order, A1 and small
timm's -- every shape and tensor kind checked, so weights of another variant fail on the first tensor
that differs.

ImageNet weights (`published_weights`): the four B1 widths through torchvision's own path, its weights
enums (``MNASNet1_0_Weights.IMAGENET1K_V1``); MnasNet-A1 and MnasNet-small from timm's checkpoints
(``semnasnet_100``, ``mnasnet_small``; converted by `mnas.weights.timm`). Either file is looked up in the
torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file name of the url>`` (`imagenet_checkpoint_path`),
and downloaded there when missing, as torchvision and timm do, unless offline: ``download=False`` or
``MNAS_OFFLINE=1`` (``MNAS_DOWNLOAD_WEIGHTS=0`` too). Before any download, a copy a user already has is
looked for (`find_imagenet_weights`): the Ikomia HUB task infer_torchvision_mnasnet's own folder (B1) and
timm's Hugging Face cache (A1, small); such a file is used only once checked as a download is (its
SHA-256 where known, loads as the variant). ``mnas weights fetch`` fills the cache (`mnas.weights.cli`). A download goes to a temporary file renamed only
once it is complete (the announced size), has its known SHA-256 (torchvision's file names carry its
prefix; timm's entries may pin one, ``TIMM_WEIGHTS[..]["sha256"]``) and loads as these weights; a read
timeout (`DOWNLOAD_TIMEOUT_S`) and a deadline for the whole download (`DOWNLOAD_DEADLINE_S`) bound it.
Offline or failing, a missing file is a clear `WeightsNotFoundError` naming the url, the full path and
the file to place there, with nothing left under that name.
The weights' metadata carry their published ImageNet top-1 / top-5. Class names of ImageNet come from
torchvision's enum ``meta["categories"]`` (no download); timm's checkpoints use the same class order.

`load_classifier_weights` puts it together for inference: a variant name, an optional weights file (a
model file, a torchvision-style or our own state dict) and an optional class file -> model + metadata,
the head size taken from the weights.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path


from mnas.data.folders import check_class_names
from mnas.utils.fileio import (atomic_torch_save, read_torch_file)
from mnas.models import MnasNet
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD, MAX_INPUT_SIZE, MIN_IMAGE_SIDE
from mnas.weights.state_dict import check_finite
from mnas.weights.convert import load_state_dict_into

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


