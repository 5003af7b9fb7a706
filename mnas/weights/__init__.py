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
``MNAS_OFFLINE=1``. Before any download, a copy a user already has is
looked for (`find_imagenet_weights`): the Ikomia HUB task infer_torchvision_mnasnet's own folder (B1) and
timm's Hugging Face cache (A1, small); such a file is used only once checked as a download is (its
SHA-256 where known, loads as the variant). ``mnas weights fetch`` fills the cache (`mnas.weights.cli`).
A download goes to a temporary file renamed only
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
    "MODEL_FILE_FORMAT": "mnas.weights.model_file", "check_model_file": "mnas.weights.model_file",
    "is_model_file": "mnas.weights.model_file", "load_model_file": "mnas.weights.model_file",
    "model_from_payload": "mnas.weights.model_file", "read_checkpoint": "mnas.weights.model_file",
    "read_model_file": "mnas.weights.model_file", "save_model_file": "mnas.weights.model_file",
    "MODULE_TENSORS": "mnas.weights.state_dict", "WeightsMismatchError": "mnas.weights.state_dict",
    "check_finite": "mnas.weights.state_dict", "extract_state_dict": "mnas.weights.state_dict",
    "head_size": "mnas.weights.state_dict", "map_by_position": "mnas.weights.state_dict",
    "match_by_name": "mnas.weights.state_dict", "missing_batch_norm_tensors": "mnas.weights.state_dict",
    "convert_state_dict": "mnas.weights.convert", "convert_torchvision_state_dict": "mnas.weights.convert",
    "is_torchvision_state_dict": "mnas.weights.convert", "load_state_dict_into": "mnas.weights.convert",
    "TIMM_FIRST_KEY": "mnas.weights.timm", "TIMM_WEIGHTS": "mnas.weights.timm",
    "convert_timm_state_dict": "mnas.weights.timm", "from_timm_model": "mnas.weights.timm",
    "is_timm_state_dict": "mnas.weights.timm", "main": "mnas.weights.timm", "timm_order": "mnas.weights.timm",
    "DEFAULT_INPUT_SIZE": "mnas.weights.published", "DOWNLOAD_DEADLINE_S": "mnas.weights.published",
    "DOWNLOAD_TIMEOUT_S": "mnas.weights.published", "FoundWeights": "mnas.weights.published",
    "HF_WEIGHT_FILES": "mnas.weights.published", "IKOMIA_HUB_INFER_TASK": "mnas.weights.published",
    "IMAGENET_WEIGHTS": "mnas.weights.published", "PRETRAINED_VARIANTS": "mnas.weights.published",
    "PublishedWeights": "mnas.weights.published", "TORCH_HUB_CACHE": "mnas.weights.published",
    "TRAIN_FROM_SCRATCH": "mnas.weights.published", "USE_A_WEIGHTS_FILE": "mnas.weights.published",
    "WeightsNotFoundError": "mnas.weights.published", "WeightsPlace": "mnas.weights.published",
    "check_found_weights": "mnas.weights.published", "download_allowed": "mnas.weights.published",
    "download_imagenet_weights": "mnas.weights.published", "find_imagenet_weights": "mnas.weights.published",
    "hf_hub_cache": "mnas.weights.published", "ikomia_plugins_dir": "mnas.weights.published",
    "imagenet_categories": "mnas.weights.published", "imagenet_checkpoint_path": "mnas.weights.published",
    "imagenet_weights": "mnas.weights.published", "imagenet_weights_places": "mnas.weights.published",
    "load_imagenet_model": "mnas.weights.published", "load_imagenet_state_dict": "mnas.weights.published",
    "missing_imagenet_message": "mnas.weights.published", "published_weights": "mnas.weights.published",
    "read_weights_file": "mnas.weights.published",
    "read_class_file": "mnas.weights.classes", "write_class_file": "mnas.weights.classes",
    "LoadedWeights": "mnas.weights.loading", "build_model": "mnas.weights.loading",
    "load_classifier_weights": "mnas.weights.loading",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
