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
(``semnasnet_100``, ``mnasnet_small``; converted by `mnas.timm_convert`). Either file is looked up in the
torch hub cache, ``$TORCH_HOME/hub/checkpoints/<file name of the url>`` (`imagenet_checkpoint_path`),
and downloaded there when missing, as torchvision and timm do, unless offline: ``download=False`` or
``MNAS_OFFLINE=1`` (``MNAS_DOWNLOAD_WEIGHTS=0`` too). Before any download, a copy a user already has is
looked for (`find_imagenet_weights`): the Ikomia HUB task infer_torchvision_mnasnet's own folder (B1) and
timm's Hugging Face cache (A1, small); such a file is used only once checked as a download is (its
SHA-256 where known, loads as the variant). ``mnas weights fetch`` fills the cache (`mnas.weights_cli`). A download goes to a temporary file renamed only
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

import dataclasses
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from .data import IMAGE_CHANNELS, check_class_names
from .fileio import (DownloadError, atomic_download, atomic_torch_save, atomic_write_text, file_sha256,
                     read_torch_file)
from .models import MnasNet, create_model, get_variant
from .timm_convert import TIMM_WEIGHTS, convert_timm_state_dict, is_timm_state_dict
from .preprocess import IMAGENET_MEAN, IMAGENET_STD, MAX_INPUT_SIZE, MIN_IMAGE_SIDE

MODEL_FILE_FORMAT = "mnas-model/1"
# variant -> the torchvision weights enum holding its ImageNet checkpoint
IMAGENET_WEIGHTS = {"mnasnet0_5": "MNASNet0_5_Weights", "mnasnet0_75": "MNASNet0_75_Weights",
                    "mnasnet1_0": "MNASNet1_0_Weights", "mnasnet1_3": "MNASNet1_3_Weights"}
OFFLINE_ENV = "MNAS_OFFLINE"          # 1: never download weights
DOWNLOAD_ENV = "MNAS_DOWNLOAD_WEIGHTS"  # older switch: 0 means offline too
DOWNLOAD_TIMEOUT_S = 30.0     # per read: a dead link fails in this time
DOWNLOAD_DEADLINE_S = 600.0   # per download, all reads together: a server dribbling bytes never ends one
DEFAULT_INPUT_SIZE = 224
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
    an empty, HTML, truncated or code-carrying file a ValueError naming it (`mnas.fileio.read_torch_file`)."""
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


def check_finite(state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Weights holding NaN or infinity (a diverged training) are refused: they would classify nothing."""
    for key, tensor in state_dict.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"{source} holds non-finite values (NaN or infinity) in {key!r}: the training "
                             "that wrote it diverged; retrain with a smaller learning rate")


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


# ---------------------------------------------------------------------------------------------------
# torchvision checkpoints and plain state dicts


_COUNTER = "num_batches_tracked"


class WeightsMismatchError(ValueError):
    """Weights whose tensors do not fit the model: they are for a different architecture."""


class WeightsNotFoundError(FileNotFoundError):
    """No weights where they were looked for; the message says where and how to provide them."""


def extract_state_dict(payload, source: str = "model_weight_file") -> dict[str, torch.Tensor]:
    """The state dict inside a loaded checkpoint: a plain state dict, an mnas model file, or a training
    checkpoint holding one under ``state_dict`` / ``model``; a ``module.`` prefix (DataParallel) is
    dropped. torchvision's ``_metadata`` (its layout version) is kept."""
    for key in ("state_dict", "model"):
        if isinstance(payload, Mapping) and isinstance(payload.get(key), Mapping):
            payload = payload[key]
            break
    if (not isinstance(payload, Mapping) or not payload
            or not all(isinstance(v, torch.Tensor) for v in payload.values())):
        raise ValueError(f"{source} holds no state dict: expected a dict of tensors (model.state_dict()), "
                         f"an mnas model file, or a checkpoint with a 'state_dict' or 'model' entry")
    if all(key.startswith("module.") for key in payload):
        metadata = getattr(payload, "_metadata", None)
        payload = type(payload)((key[len("module."):], value) for key, value in payload.items())
        if metadata is not None:
            payload._metadata = metadata
    return payload


def head_size(state_dict: Mapping[str, torch.Tensor]) -> int:
    """Number of classes of a checkpoint: the rows of its classifier weight (ours and timm's
    ``classifier.weight``, torchvision's ``classifier.1.weight``; else the last 2-D tensor)."""
    named = [state_dict[key] for key in ("classifier.weight", "classifier.1.weight")
             if key in state_dict and state_dict[key].ndim == 2]
    matrices = named or [value for value in state_dict.values() if value.ndim == 2]
    if not matrices:
        raise WeightsMismatchError("weights are for a different architecture: no classifier weight "
                                   "(2-D tensor) in the state dict")
    return int(matrices[-1].shape[0])


def _version_hint(state_dict) -> str:
    """For a torchvision MNASNet checkpoint (``layers.N`` keys) of the old layout, why it does not fit."""
    if not any(key.startswith("layers.") for key in state_dict):
        return ""  # ours, or someone else's: torchvision's layout versions say nothing about it
    version = getattr(state_dict, "_metadata", {}).get("", {}).get("version")
    if version == 1:
        return (" (the file is a torchvision MNASNet _version 1 checkpoint, whose stem is not scaled by "
                "the width: only _version 2 checkpoints, such as torchvision's published ones, fit)")
    return ""


_LEAVES = ("weight", "bias", "running_mean", "running_var", _COUNTER)  # a module's tensors, in torch's order


def _some(keys: list[str]) -> str:
    more = f" (and {len(keys) - 3} more)" if len(keys) > 3 else ""
    return ", ".join(repr(key) for key in keys[:3]) + more


def missing_batch_norm_tensors(keys) -> list[str]:
    """Of every batch norm (a module with running statistics), the tensors of the four it needs that
    `keys` lack: a tensor dropped from a file shows by its name, not as a shifted mapping."""
    keys = set(keys)
    norms = sorted({key.rsplit(".", 1)[0] for key in keys if key.endswith((".running_mean", ".running_var"))})
    return [f"{norm}.{leaf}" for norm in norms for leaf in _LEAVES[:4] if f"{norm}.{leaf}" not in keys]


def _torchvision_rank(key: str) -> tuple:
    """Where torchvision's MNASNet registers `key`, from its name: ``layers.<i>[.<j>.layers.<k>].<leaf>``
    in index order, then ``classifier.1.<leaf>``. A KeyError for a name torchvision has not."""
    top, *path, leaf = key.split(".")
    if top not in ("layers", "classifier") or leaf not in _LEAVES or not path or not all(
            part.isdigit() or part == "layers" for part in path):
        raise KeyError(key)
    return top == "classifier", tuple(int(part) for part in path if part.isdigit()), _LEAVES.index(leaf)


def is_torchvision_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """torchvision's MNASNet layout: ``layers.N.*`` keys (ours are ``features.*``)."""
    return any(key.startswith("layers.") for key in state_dict)


def convert_torchvision_state_dict(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *,
                                   source: str = "weights", model_label: str | None = None) -> dict:
    """A torchvision ``mnasnet*`` state dict (``layers.N`` / ``classifier.1`` keys) -- or one of ours,
    matched by name (`match_by_name`) -- on `model`'s keys.

    torchvision's names cannot match ours, so the mapping is by position, but in the order its names
    give (module indices; the dict's own order does not matter): B1 in this package has torchvision's
    tensors in torchvision's order. Every shape and tensor kind is checked (`map_in_order`).
    """
    if not is_torchvision_state_dict(state_dict):
        return match_by_name(state_dict, model, source=source, model_label=model_label)
    prefix = f"weights are for a different architecture: {source}"
    unknown = []
    for key in state_dict:
        try:
            _torchvision_rank(key)
        except KeyError:
            unknown.append(key)
    if unknown:
        raise WeightsMismatchError(f"{prefix} has {_some(unknown)}, not tensors of torchvision's MNASNet "
                                   "(expected layers.<i>[.<j>.layers.<k>].<weight|bias|running_*> and "
                                   "classifier.1.<weight|bias>)")
    order = sorted(state_dict, key=_torchvision_rank)
    return map_in_order(order, state_dict, model, source=source, model_label=model_label)


def map_in_order(order: list[str], state_dict: Mapping[str, torch.Tensor], model: MnasNet, *,
                 source: str, model_label: str | None) -> dict:
    """`state_dict`'s tensors, taken in `order` (their network's), one by one on `model`'s keys in its
    order, for layouts whose names cannot match ours; the first tensor that does not fit raises
    `WeightsMismatchError` naming both keys and both shapes. BN's ``num_batches_tracked`` counters take
    no part (checkpoints older than PyTorch 0.4.1 lack them; they do not affect inference): copied when
    present, else the model's are kept."""
    target = model.state_dict()
    label = model_label or "the model"
    hint = _version_hint(state_dict)
    prefix = f"weights are for a different architecture: {source}"
    lacking = missing_batch_norm_tensors(order)
    if lacking:
        raise WeightsMismatchError(f"{prefix} lacks {_some(lacking)}: each batch norm needs its weight, "
                                   f"bias, running_mean and running_var{hint}")
    source_keys = [key for key in order if not key.endswith(_COUNTER)]
    target_keys = [key for key in target if not key.endswith(_COUNTER)]
    converted = dict(target)  # counters default to the model's own
    for src_key, dst_key in zip(source_keys, target_keys):
        tensor, expected = state_dict[src_key], target[dst_key]
        if src_key.rsplit(".", 1)[-1] != dst_key.rsplit(".", 1)[-1] or tensor.shape != expected.shape:
            counts = (f" (it holds {len(source_keys)} weight tensors where {label} has {len(target_keys)})"
                      if len(source_keys) != len(target_keys) else "")
            raise WeightsMismatchError(
                f"{prefix}: {src_key!r} has shape {tuple(tensor.shape)} where {label} expects "
                f"{dst_key!r} of shape {tuple(expected.shape)}{counts}{hint}")
        converted[dst_key] = tensor
        if src_key.endswith("running_var"):
            counter = src_key[:-len("running_var")] + _COUNTER
            if counter in state_dict:
                converted[dst_key[:-len("running_var")] + _COUNTER] = state_dict[counter]
    if len(source_keys) != len(target_keys):
        rest = source_keys[len(target_keys):] or target_keys[len(source_keys):]
        where = "has no counterpart for" if len(source_keys) > len(target_keys) else "lacks tensors for"
        raise WeightsMismatchError(f"{prefix} holds {len(source_keys)} weight tensors where {label} has "
                                   f"{len(target_keys)}: it {where} {_some(rest)}{hint}")
    return converted


def match_by_name(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *, source: str = "weights",
                  model_label: str | None = None) -> dict:
    """Our own state dict on `model`, key by key (any order), every shape checked; a key missing or
    unexpected raises `WeightsMismatchError` naming it. Missing BN counters keep the model's."""
    target = model.state_dict()
    label = model_label or "the model"
    prefix = f"weights are for a different architecture: {source}"
    missing = [key for key in target if key not in state_dict and not key.endswith(_COUNTER)]
    unexpected = [key for key in state_dict if key not in target]
    if missing or unexpected:
        parts = ([f"lacks {_some(missing)}"] if missing else []) + (
            [f"has unexpected {_some(unexpected)}"] if unexpected else [])
        raise WeightsMismatchError(
            f"{prefix} {' and '.join(parts)}: expected the keys of {label} (its model.state_dict()), a "
            "torchvision MNASNet state dict (layers.N) or a timm one (conv_stem, blocks.N)")
    for key, tensor in state_dict.items():
        if tensor.shape != target[key].shape:
            raise WeightsMismatchError(f"{prefix}: {key!r} has shape {tuple(tensor.shape)} where {label} "
                                       f"expects {tuple(target[key].shape)}")
    return {**target, **state_dict}


def convert_state_dict(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *, source: str = "weights",
                       model_label: str | None = None) -> dict:
    """Any supported state dict on `model`'s keys: timm's (`convert_timm_state_dict`), torchvision's
    (`convert_torchvision_state_dict`) or ours (`match_by_name`)."""
    convert = convert_timm_state_dict if is_timm_state_dict(state_dict) else convert_torchvision_state_dict
    return convert(state_dict, model, source=source, model_label=model_label)


def load_state_dict_into(model: MnasNet, state_dict: Mapping[str, torch.Tensor], *,
                         source: str = "weights", model_label: str | None = None) -> MnasNet:
    """Load `state_dict` (torchvision's, timm's or ours, shapes checked) into `model`; non-finite
    weights refused."""
    check_finite(state_dict, source)
    model.load_state_dict(convert_state_dict(state_dict, model, source=source, model_label=model_label))
    return model


# ---------------------------------------------------------------------------------------------------
# ImageNet weights through torchvision's weights enums and the torch hub cache


PRETRAINED_VARIANTS = (*IMAGENET_WEIGHTS, *TIMM_WEIGHTS)


@dataclasses.dataclass(frozen=True)
class PublishedWeights:
    """A variant's published ImageNet checkpoint: where it comes from and how good it is."""

    model_name: str
    origin: str           # e.g. "torchvision MNASNet1_0_Weights.IMAGENET1K_V1", "timm semnasnet_100.rmsp_in1k"
    url: str
    top1: float           # published ImageNet-1k validation accuracy, %
    top5: float
    sha256: str | None    # its SHA-256 or a prefix, checked on download: torchvision's file names carry
                          # one; timm's entries only when pinned (see mnas.timm_convert)

    @property
    def file_name(self) -> str:
        return os.path.basename(urlparse(self.url).path)

    def metadata(self) -> dict:
        return {"weights": self.origin, "url": self.url, "imagenet_top1": self.top1,
                "imagenet_top5": self.top5}


def imagenet_weights(model_name: str):
    """torchvision's weights enum member (``IMAGENET1K_V1``) for a B1 variant."""
    import torchvision.models

    return getattr(torchvision.models, IMAGENET_WEIGHTS[model_name]).IMAGENET1K_V1


def published_weights(model_name: str) -> PublishedWeights:
    """The variant's ImageNet checkpoint (torchvision's for B1, timm's for A1 and small)."""
    get_variant(model_name)
    if model_name in IMAGENET_WEIGHTS:
        enum = imagenet_weights(model_name)
        metrics = enum.meta["_metrics"]["ImageNet-1K"]
        return PublishedWeights(model_name, f"torchvision {IMAGENET_WEIGHTS[model_name]}.IMAGENET1K_V1",
                                enum.url, float(metrics["acc@1"]), float(metrics["acc@5"]),
                                _name_hash(enum.url))
    if model_name in TIMM_WEIGHTS:
        info = TIMM_WEIGHTS[model_name]
        return PublishedWeights(model_name, f"timm {info['timm_model']}.{info['tag']}", info["url"],
                                info["acc@1"], info["acc@5"], info.get("sha256"))
    raise WeightsNotFoundError(
        f"no ImageNet weights are published for {model_name}: only {', '.join(PRETRAINED_VARIANTS)} "
        f"have them. Give model_weight_file (a model file written by train_mnasnet, or a state dict) "
        f"to use {model_name}")


def _name_hash(url: str) -> str | None:
    """The SHA-256 prefix in a torch hub file name (``name-<hex>.pth``), as torch.hub checks it."""
    match = torch.hub.HASH_REGEX.search(os.path.basename(urlparse(url).path))
    return match.group(1) if match and match.group(1) else None


def imagenet_checkpoint_path(model_name: str) -> Path:
    """Where torchvision (B1) and timm (A1, small) keep the variant's ImageNet checkpoint: the torch hub
    cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / published_weights(model_name).file_name


# Other places a user may already hold the published weights, looked at (after the torch hub cache,
# before any download) by `find_imagenet_weights`:
# * the Ikomia HUB task infer_torchvision_mnasnet calls ``torch.hub.set_dir(<plugin>/weights)`` before
#   torchvision's ``mnasnet1_0(pretrained=True)``, so its copy of torchvision's file lies in
#   ``~/Ikomia/Plugins/Python/infer_torchvision_mnasnet/weights/checkpoints/`` under torchvision's name
#   (train_torchvision_mnasnet uses the default torch hub cache, looked at first anyway; its models/
#   folder holds fine-tuned models, not ImageNet weights);
# * timm >= 0.9 fetches its pretrained weights from the Hugging Face Hub, repository
#   ``timm/<model>.<tag>``: ``$HF_HUB_CACHE/models--timm--<model>.<tag>/snapshots/<rev>/model.safetensors``
#   (or ``pytorch_model.bin``); the snapshot file links to a blob named by its SHA-256.
IKOMIA_HUB_INFER_TASK = "infer_torchvision_mnasnet"
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TORCH_HUB_CACHE = "torch hub cache"


def ikomia_plugins_dir() -> Path:
    """Where Ikomia keeps Python plugins by default: ``~/Ikomia/Plugins/Python``."""
    return Path.home() / "Ikomia" / "Plugins" / "Python"


def hf_hub_cache() -> Path:
    """The Hugging Face Hub cache as huggingface_hub finds it: ``$HF_HUB_CACHE``, ``$HF_HOME/hub``,
    else ``~/.cache/huggingface/hub`` (``$XDG_CACHE_HOME`` respected)."""
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return Path(os.environ[name]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "huggingface" / "hub"


@dataclasses.dataclass(frozen=True)
class WeightsPlace:
    """One place the variant's ImageNet weights are looked for; `path` may hold a ``*`` (a snapshot)."""

    label: str
    path: Path

    @property
    def checked(self) -> bool:  # a file found outside the torch hub cache is checked before use
        return self.label != TORCH_HUB_CACHE


def imagenet_weights_places(model_name: str) -> list[WeightsPlace]:
    """Every place the variant's ImageNet weights are looked for, in the order they are looked at."""
    weights = published_weights(model_name)
    places = [WeightsPlace(TORCH_HUB_CACHE, imagenet_checkpoint_path(model_name))]
    if model_name in IMAGENET_WEIGHTS:
        places.append(WeightsPlace(f"Ikomia HUB plugin {IKOMIA_HUB_INFER_TASK}",
                                   ikomia_plugins_dir() / IKOMIA_HUB_INFER_TASK / "weights" / "checkpoints"
                                   / weights.file_name))
    if model_name in TIMM_WEIGHTS:
        info = TIMM_WEIGHTS[model_name]
        repo = hf_hub_cache() / f"models--timm--{info['timm_model']}.{info['tag']}"
        places += [WeightsPlace("timm's Hugging Face cache", repo / "snapshots" / "*" / name)
                   for name in HF_WEIGHT_FILES]
    return places


def _files_at(place: WeightsPlace) -> list[Path]:
    """The files present at `place`: a snapshot pattern gives the revision of refs/main first."""
    if "*" not in place.path.parts:  # in the torch hub cache anything there is used (and said wrong if so)
        present = place.path.exists() if not place.checked else place.path.is_file()
        return [place.path] if present else []
    snapshots = place.path.parent.parent
    found = sorted(path for path in snapshots.glob(f"*/{place.path.name}") if path.is_file())
    ref = snapshots.parent / "refs" / "main"
    main = ref.read_text(encoding="utf-8", errors="replace").strip() if ref.is_file() else ""
    return sorted(found, key=lambda path: path.parent.name != main)


def _known_sha256(model_name: str, place: WeightsPlace, path: Path) -> str | None:
    """The SHA-256 a found file must have, where known: torchvision's file name carries a prefix; a
    Hugging Face snapshot links to a blob named by its SHA-256."""
    if place.label.startswith("Ikomia HUB"):
        return published_weights(model_name).sha256
    blob = Path(os.path.realpath(path)).name
    return blob if len(blob) == 64 and all(c in "0123456789abcdef" for c in blob) else None


def read_weights_file(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """A state dict from a ``.safetensors`` file (no code can run) or a PyTorch checkpoint
    (``weights_only=True``); a ValueError naming `what` when it is neither."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return extract_state_dict(read_torch_file(path, what), f"{what} {str(path)!r}")
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ValueError(f"{what} {str(path)!r} is a .safetensors file: reading it needs the safetensors "
                         "package (pip install safetensors)") from None
    try:
        return dict(load_file(str(path), device="cpu"))
    except Exception as error:  # safetensors' own errors: a truncated or damaged file
        raise ValueError(f"{what} {str(path)!r} is not a readable safetensors file "
                         f"({type(error).__name__}: {str(error)[:200]})") from None


def check_found_weights(model_name: str, place: WeightsPlace, path: Path) -> dict[str, torch.Tensor]:
    """A file found at `place` checked as a download is: its SHA-256 where known, then loads as the
    variant's weights; its state dict, or a ValueError saying what is wrong."""
    what = f"{place.label} file"
    sha256 = _known_sha256(model_name, place, path)
    if sha256:
        digest = file_sha256(path)
        if not digest.startswith(sha256.lower()):
            raise ValueError(f"{what} {str(path)!r} has SHA-256 {digest}, not the expected {sha256}: "
                             "not the published file (damaged or replaced)")
    state_dict = read_weights_file(path, what)
    model = create_model(model_name, num_classes=head_size(state_dict))
    load_state_dict_into(model, state_dict, source=f"{what} {str(path)!r}", model_label=model_name)
    return state_dict


@dataclasses.dataclass
class FoundWeights:
    """The outcome of `find_imagenet_weights`."""

    path: Path | None                 # the file to use, None when none was found or usable
    label: str | None = None          # where it was found
    state_dict: dict | None = None    # already read and checked (files outside the torch hub cache)
    rejected: list[str] = dataclasses.field(default_factory=list)  # files found but unusable, and why


def find_imagenet_weights(model_name: str) -> FoundWeights:
    """The variant's ImageNet weights in the torch hub cache (used as torchvision uses it), else in the
    Ikomia HUB plugin's folder or timm's Hugging Face cache (`imagenet_weights_places`), a file there
    used only once `check_found_weights` passes; nothing downloaded."""
    rejected = []
    for place in imagenet_weights_places(model_name):
        for path in _files_at(place):
            if not place.checked:
                return FoundWeights(path, place.label)
            try:
                return FoundWeights(path, place.label, check_found_weights(model_name, place, path), rejected)
            except (ValueError, OSError) as error:
                logger.warning("not using %s: %s", path, error)
                rejected.append(str(error))
    return FoundWeights(None, rejected=rejected)


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, from torchvision's weights meta (nothing downloaded)."""
    return list(imagenet_weights("mnasnet1_0").meta["categories"])


def _env_says(name: str, values: tuple[str, ...]) -> bool:
    return os.environ.get(name, "").strip().lower() in values


def download_allowed(download: bool | None = None) -> bool:
    """`download` when given; else True unless ``MNAS_OFFLINE=1`` (or ``MNAS_DOWNLOAD_WEIGHTS=0``)."""
    if download is not None:
        return download
    return not (_env_says(OFFLINE_ENV, ("1", "true", "yes")) or _env_says(DOWNLOAD_ENV, ("0", "false", "no")))


# What else a user can do without the ImageNet weights, in the parameters of what asked for them
USE_A_WEIGHTS_FILE = "give model_weight_file"           # inference: infer_mnasnet, python -m mnas infer
TRAIN_FROM_SCRATCH = "turn pretrained off to train from scratch"  # training: train_mnasnet, python -m mnas train


def missing_imagenet_message(model_name: str, instead: str = USE_A_WEIGHTS_FILE) -> str:
    """Where the variant's ImageNet weights were looked for and how to get them; `instead` is the other
    way, named in the parameters of the task or command that needed them (no other parameter named)."""
    weights, path = published_weights(model_name), imagenet_checkpoint_path(model_name)
    others = "".join(f"; {place.label}: {place.path}" for place in imagenet_weights_places(model_name)[1:])
    return (f"ImageNet weights for {model_name} not found: looked for {path} ({weights.origin} in the "
            f"torch hub cache, $TORCH_HOME/hub/checkpoints){others}. Copy {path.name} (from {weights.url}) to "
            f"that folder, or fetch it when online ('mnas weights fetch {model_name}', or a download on "
            f"first use; downloads are off with {OFFLINE_ENV}=1), or {instead}")


def download_imagenet_weights(model_name: str) -> Path:
    """Download the variant's ImageNet checkpoint into the torch hub cache (`mnas.fileio.atomic_download`):
    kept only when complete, of its known hash and loadable as the variant's weights; else a
    `DownloadError` naming the url, the file and what was wrong, and no file under its name."""
    weights, path = published_weights(model_name), imagenet_checkpoint_path(model_name)

    def usable(tmp: Path) -> None:  # a file that loads but is not these weights would fail every later load
        what = "the downloaded file"
        state_dict = extract_state_dict(read_torch_file(tmp, what, show_path=False), what)
        model = create_model(model_name, num_classes=head_size(state_dict))
        load_state_dict_into(model, state_dict, source=what, model_label=model_name)

    logger.info("downloading %s to %s", weights.url, path)
    return atomic_download(weights.url, path, deadline_s=DOWNLOAD_DEADLINE_S, read_timeout_s=DOWNLOAD_TIMEOUT_S,
                           sha256=weights.sha256, check=usable)


def load_imagenet_state_dict(model_name: str, *, download: bool | None = None,
                             instead: str = USE_A_WEIGHTS_FILE) -> dict:
    """The variant's ImageNet state dict (timm's converted to our layout by the caller): the file
    `find_imagenet_weights` finds, or a download when allowed (see the module doc); loaded
    ``weights_only=True``. A missing file's error ends with `instead` (`missing_imagenet_message`)."""
    return _imagenet_state_dict(model_name, download=download, instead=instead)[0]


def _imagenet_state_dict(model_name: str, *, download: bool | None, instead: str) -> tuple[dict, Path]:
    found = find_imagenet_weights(model_name)
    rejected = "".join(f". Not used: {why}" for why in found.rejected)
    if found.state_dict is not None:
        logger.info("ImageNet weights for %s from the %s: %s", model_name, found.label, found.path)
        return found.state_dict, found.path
    path = found.path or imagenet_checkpoint_path(model_name)
    if found.path is None:
        if not download_allowed(download):
            raise WeightsNotFoundError(f"{missing_imagenet_message(model_name, instead)}{rejected}. Offline: "
                                       "not downloaded")
        try:
            download_imagenet_weights(model_name)
        except DownloadError as error:
            raise WeightsNotFoundError(f"{missing_imagenet_message(model_name, instead)}{rejected}. The "
                                       f"download failed: {error}") from None
    what = "ImageNet weights file"
    try:
        return extract_state_dict(read_torch_file(path, what), f"{what} {str(path)!r}"), path
    except ValueError as error:
        raise ValueError(f"{error}: delete it and place the file again") from None


def load_imagenet_model(model_name: str, *, input_size: int = DEFAULT_INPUT_SIZE, dropout: float | None = None,
                        download: bool | None = None, instead: str = USE_A_WEIGHTS_FILE) -> MnasNet:
    """The variant with its published ImageNet weights (1000 classes), its `published_weights`
    metadata in ``model.pretrained_metadata``, the file used in ``model.pretrained_path``."""
    state_dict, path = _imagenet_state_dict(model_name, download=download, instead=instead)
    source = f"ImageNet weights {str(path)!r}"
    model = create_model(model_name, num_classes=head_size(state_dict), input_size=input_size, dropout=dropout)
    load_state_dict_into(model, state_dict, source=source, model_label=model_name)
    model.pretrained_metadata = published_weights(model_name).metadata()
    model.pretrained_path = path
    return model


def build_model(name_or_arch: str, num_classes: int, input_size: int, *, pretrained: bool = False,
                freeze_backbone: bool = False, dropout: float | None = None) -> nn.Module:
    """A model ready to train, from scratch or from published ImageNet weights (torchvision's for the
    B1 widths, timm's for A1 and small).

    With `pretrained` the backbone gets the ImageNet weights (`load_imagenet_model`: the torch hub
    cache, downloaded when missing unless offline; `WeightsNotFoundError` naming the path) and the
    classifier is replaced by a fresh one for `num_classes`. Strides adapted to small inputs change
    no tensor shape, so the weights fit at 32 px too.
    """
    from .arch import parse_arch
    from .models import VARIANTS

    if freeze_backbone and not pretrained:
        raise ValueError("freeze_backbone needs pretrained weights: freezing a random backbone would "
                         "train a classifier on random features; set pretrained or unfreeze")
    if not pretrained:
        model = create_model(name_or_arch, num_classes=num_classes, input_size=input_size, dropout=dropout)
        parse_arch(model.arch, image_channels=IMAGE_CHANNELS)  # the data path decodes RGB: i3 first
        return model
    if name_or_arch not in VARIANTS:
        raise ValueError("pretrained needs a model_name with ImageNet weights (one of "
                         f"{', '.join(PRETRAINED_VARIANTS)}), not an architecture string")
    # a clear error when not available
    model = load_imagenet_model(name_or_arch, input_size=input_size, dropout=dropout, instead=TRAIN_FROM_SCRATCH)
    model.classifier = nn.Linear(model.classifier.in_features, num_classes)
    nn.init.normal_(model.classifier.weight, 0, 0.01)
    nn.init.zeros_(model.classifier.bias)
    model.num_classes = num_classes
    return model


# ---------------------------------------------------------------------------------------------------
# class files: one class name per line, in label order


def read_class_file(path: str | os.PathLike, expected: int | None = None) -> list[str]:
    """Class names from a text file, one per line (blank lines ignored); with `expected`, the number
    of names must equal it (the head size of the weights)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class_file {str(path)!r} does not exist")
    try:
        # utf-8-sig: a byte-order mark (Windows editors) must not become part of the first class name
        names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except UnicodeDecodeError:
        raise ValueError(f"class_file {str(path)!r} is not UTF-8 text: expected one class name per "
                         "line") from None
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"class_file {str(path)!r} holds no class name: expected one per line")
    if expected is not None and len(names) != expected:
        raise ValueError(f"class_file {str(path)!r} has {len(names)} class names (lines) but the weights' "
                         f"head has {expected} classes: expected one name per class, in label order")
    check_class_names(names, f"class_file {str(path)!r}")
    return names


def write_class_file(path: str | os.PathLike, class_names) -> Path:
    """Write class names one per line (atomic)."""
    names = [str(name) for name in class_names]
    if not names:
        raise ValueError("class names: expected at least one")
    check_class_names(names, "class names")
    atomic_write_text(path, "".join(f"{name}\n" for name in names))
    return Path(path)


# ---------------------------------------------------------------------------------------------------
# everything inference needs from a (variant, weights, class file) triple


@dataclasses.dataclass
class LoadedWeights:
    """A ready model (eval mode, CPU) and what using it needs."""

    model: MnasNet
    class_names: list[str]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str          # where the weights came from, for messages and logs
    model_name: str      # the variant, or "custom" for a model file's own architecture
    metadata: dict = dataclasses.field(default_factory=dict)  # published accuracy, or the model file's


def load_classifier_weights(model_name: str = "mnasnet1_0", weight_file: str | os.PathLike | None = None,
                            class_file: str | os.PathLike | None = None, input_size: int | None = None,
                            *, download: bool | None = None) -> LoadedWeights:
    """A variant with its ImageNet weights, or any weights file, plus class names.

    * no `weight_file`: `model_name`'s ImageNet weights from the torch hub cache (B1: torchvision's;
      A1, small: timm's), downloaded when missing unless offline, and the ImageNet class names;
    * an mnas model file: its own architecture, class names, input size and normalisation
      (`model_name` is not used; `input_size` and `class_file` override the file's when given);
    * a state dict (torchvision's or ours): `model_name`'s architecture with the head size of the
      weights; class names from `class_file`, or ImageNet's when the head has 1000 classes.

    `input_size` None means the model file's, else 224. A `class_file` must have one name per class.
    """
    mean, std = IMAGENET_MEAN, IMAGENET_STD
    metadata = {}
    if weight_file:
        source = f"model_weight_file {str(weight_file)!r}"
        payload = read_checkpoint(weight_file)
        if is_model_file(payload):
            check_model_file(payload, source)
            model = model_from_payload(payload, source)
            class_names, model_name = list(payload["class_names"]), "custom"
            metadata = dict(payload.get("metadata") or {})
            input_size = input_size or int(payload["input_size"])
            mean, std = tuple(payload["mean"]), tuple(payload["std"])
        else:
            state_dict = extract_state_dict(payload, source)
            num_classes = head_size(state_dict)
            input_size = input_size or DEFAULT_INPUT_SIZE
            model = create_model(model_name, num_classes=num_classes, input_size=input_size)
            load_state_dict_into(model, state_dict, source=source,
                                 model_label=f"{model_name} ({num_classes} classes)")
            if num_classes == 1000:
                class_names = imagenet_categories()
            elif not class_file:
                raise ValueError(f"class_file is needed: {source} has {num_classes} classes (not "
                                 f"ImageNet's 1000), so give a text file with their names, one per line")
    else:
        input_size = input_size or DEFAULT_INPUT_SIZE
        model = load_imagenet_model(model_name, input_size=input_size, download=download)
        source = f"ImageNet weights {str(model.pretrained_path)!r}"
        class_names, metadata = imagenet_categories(), model.pretrained_metadata
    if class_file:
        class_names = read_class_file(class_file, expected=model.num_classes)
    return LoadedWeights(model.eval(), class_names, int(input_size), tuple(mean), tuple(std), source,
                         model_name, metadata)
