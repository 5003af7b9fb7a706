"""State dicts: what a payload holds, our own keys matched by name, and the positional, shape-checked mapping
that torchvision's and timm's layouts need (their names cannot match ours)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mnas.models import MnasNet


def check_finite(state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Weights holding NaN or infinity (a diverged training) are refused: they would classify nothing."""
    for key, tensor in state_dict.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ValueError(f"{source} holds non-finite values (NaN or infinity) in {key!r}: the training "
                             "that wrote it diverged; retrain with a smaller learning rate")


_COUNTER = "num_batches_tracked"


class WeightsMismatchError(ValueError):
    """Weights whose tensors do not fit the model: they are for a different architecture."""


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


MODULE_TENSORS = ("weight", "bias", "running_mean", "running_var", _COUNTER)  # a module's tensors, in torch's order


def _some(keys: list[str]) -> str:
    more = f" (and {len(keys) - 3} more)" if len(keys) > 3 else ""
    return ", ".join(repr(key) for key in keys[:3]) + more


def missing_batch_norm_tensors(keys) -> list[str]:
    """Of every batch norm (a module with running statistics), the tensors of the four it needs that
    `keys` lack: a tensor dropped from a file shows by its name, not as a shifted mapping."""
    keys = set(keys)
    norms = sorted({key.rsplit(".", 1)[0] for key in keys if key.endswith((".running_mean", ".running_var"))})
    return [f"{norm}.{leaf}" for norm in norms for leaf in MODULE_TENSORS[:4] if f"{norm}.{leaf}" not in keys]


def map_by_position(order: list[str], state_dict: Mapping[str, torch.Tensor], model: MnasNet, *,
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
