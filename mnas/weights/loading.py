"""Everything training and inference need from a variant name, a weights file and a class file."""

from __future__ import annotations

import dataclasses
import os

from torch import nn

from mnas.data.folders import IMAGE_CHANNELS
from mnas.models import MnasNet, create_model
from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD
from mnas.weights.classes import read_class_file
from mnas.weights.convert import load_state_dict_into
from mnas.weights.model_file import check_model_file, is_model_file, model_from_payload, read_checkpoint
from mnas.weights.published import (
    DEFAULT_INPUT_SIZE,
    PRETRAINED_VARIANTS,
    TRAIN_FROM_SCRATCH,
    imagenet_categories,
    load_imagenet_model,
)
from mnas.weights.state_dict import extract_state_dict, head_size


def build_model(name_or_arch: str, num_classes: int, input_size: int, *, pretrained: bool = False,
                freeze_backbone: bool = False, dropout: float | None = None) -> nn.Module:
    """A model ready to train, from scratch or from published ImageNet weights (torchvision's for the
    B1 widths, timm's for A1 and small).

    With `pretrained` the backbone gets the ImageNet weights (`load_imagenet_model`: the torch hub
    cache, downloaded when missing unless offline; `WeightsNotFoundError` naming the path) and the
    classifier is replaced by a fresh one for `num_classes`. Strides adapted to small inputs change
    no tensor shape, so the weights fit at 32 px too.
    """
    from mnas.arch import parse_arch
    from mnas.models import VARIANTS

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
