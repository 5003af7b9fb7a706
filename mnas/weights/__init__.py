"""Weights: our model files, torchvision's and timm's state dicts, the published ImageNet weights, class
files; every load ``weights_only``.

Modules:

- `mnas.weights.model_file`: our model file: architecture, classes, input size and normalisation beside the state dict
- `mnas.weights.state_dict`: what a payload holds; matching by name; the positional, shape-checked mapping
- `mnas.weights.convert`: any supported state dict (ours, torchvision's, timm's) on a model's keys
- `mnas.weights.timm`: timm's MnasNet-A1 / small checkpoints: their tensor order, conversion
- `mnas.weights.published`: the ImageNet weights: where they are published, where a copy may already be, downloads
- `mnas.weights.classes`: class files, one name per line
- `mnas.weights.loading`: a (variant, weights file, class file) triple -> a model ready for training or inference
- `mnas.weights.cli`: ``mnas weights list | fetch``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.weights import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "is_model_file": "mnas.weights.model_file", "load_model_file": "mnas.weights.model_file",
    "read_checkpoint": "mnas.weights.model_file", "read_model_file": "mnas.weights.model_file",
    "save_model_file": "mnas.weights.model_file",
    "WeightsMismatchError": "mnas.weights.state_dict",
    "convert_torchvision_state_dict": "mnas.weights.convert", "load_state_dict_into": "mnas.weights.convert",
    "TIMM_WEIGHTS": "mnas.weights.timm", "from_timm_model": "mnas.weights.timm", "main": "mnas.weights.timm",
    "IMAGENET_WEIGHTS": "mnas.weights.published", "WeightsNotFoundError": "mnas.weights.published",
    "download_allowed": "mnas.weights.published", "find_imagenet_weights": "mnas.weights.published",
    "imagenet_categories": "mnas.weights.published", "imagenet_checkpoint_path": "mnas.weights.published",
    "load_imagenet_state_dict": "mnas.weights.published", "missing_imagenet_message": "mnas.weights.published",
    "published_weights": "mnas.weights.published",
    "read_class_file": "mnas.weights.classes", "write_class_file": "mnas.weights.classes",
    "LoadedWeights": "mnas.weights.loading", "build_model": "mnas.weights.loading",
    "load_classifier_weights": "mnas.weights.loading",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
