"""Any supported state dict on a model's keys: timm's, torchvision's or ours, every shape checked."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from mnas.models import MnasNet
from mnas.weights.state_dict import (
    MODULE_TENSORS,
    WeightsMismatchError,
    _some,
    check_finite,
    map_by_position,
    match_by_name,
)
from mnas.weights.timm import convert_timm_state_dict, is_timm_state_dict


def _torchvision_rank(key: str) -> tuple:
    """Where torchvision's MNASNet registers `key`, from its name: ``layers.<i>[.<j>.layers.<k>].<leaf>``
    in index order, then ``classifier.1.<leaf>``. A KeyError for a name torchvision has not."""
    top, *path, leaf = key.split(".")
    if top not in ("layers", "classifier") or leaf not in MODULE_TENSORS or not path or not all(
            part.isdigit() or part == "layers" for part in path):
        raise KeyError(key)
    return top == "classifier", tuple(int(part) for part in path if part.isdigit()), MODULE_TENSORS.index(leaf)


def is_torchvision_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """torchvision's MNASNet layout: ``layers.N.*`` keys (ours are ``features.*``)."""
    return any(key.startswith("layers.") for key in state_dict)


def convert_torchvision_state_dict(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *,
                                   source: str = "weights", model_label: str | None = None) -> dict:
    """A torchvision ``mnasnet*`` state dict (``layers.N`` / ``classifier.1`` keys) on `model`'s keys.

    torchvision's names cannot match ours, so the mapping is by position, but in the order its names
    give (module indices; the dict's own order does not matter): B1 in this package has torchvision's
    tensors in torchvision's order. Every shape and tensor kind is checked (`map_by_position`).
    """
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
    return map_by_position(order, state_dict, model, source=source, model_label=model_label)


def convert_state_dict(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *, source: str = "weights",
                       model_label: str | None = None) -> dict:
    """Any supported state dict on `model`'s keys: timm's (`convert_timm_state_dict`), torchvision's
    (`convert_torchvision_state_dict`) or ours (`match_by_name`)."""
    convert = (convert_timm_state_dict if is_timm_state_dict(state_dict) else
               convert_torchvision_state_dict if is_torchvision_state_dict(state_dict) else match_by_name)
    return convert(state_dict, model, source=source, model_label=model_label)


def load_state_dict_into(model: MnasNet, state_dict: Mapping[str, torch.Tensor], *,
                         source: str = "weights", model_label: str | None = None) -> MnasNet:
    """Load `state_dict` (torchvision's, timm's or ours, shapes checked) into `model`; non-finite
    weights refused."""
    check_finite(state_dict, source)
    model.load_state_dict(convert_state_dict(state_dict, model, source=source, model_label=model_label))
    return model
