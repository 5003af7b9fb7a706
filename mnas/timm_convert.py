"""timm's ImageNet checkpoints of MnasNet-A1 (``semnasnet_100``) and MnasNet-small (``mnasnet_small``)
as weights of this package's `mnas_a1` / `mnasnet_small`.

timm builds both from the same block strings as ours (``ds``/``ir`` blocks, SE on the block's input
channels, ReLU, a 1x1 head of 1280), and registers its modules in our order: ``conv_stem, bn1,
blocks.*, conv_head, bn2, classifier`` against our ``features.0`` (stem) ... ``features.N`` (head),
``classifier``. So, as for torchvision's B1, the conversion is positional and every shape is checked
(`mnas.weights.convert_torchvision_state_dict`); tests/test_timm_convert.py shows equal logits within
1e-5 against timm itself with random weights.

The files are found, or downloaded, where timm's own ``url`` loader puts them: the torch hub cache,
``$TORCH_HOME/hub/checkpoints/<file name of the url>`` (`mnas.weights.imagenet_checkpoint_path`).
Accuracies are timm's published ImageNet-1k validation figures (results-imagenet.csv: 224 px,
crop 0.875, bicubic).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import torch

from .models import MnasNet

_RELEASES = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/"
# our variant -> timm's model name, pretrained tag, checkpoint url, published top-1 / top-5 (%)
TIMM_WEIGHTS = {
    "mnasnet_a1": {"timm_model": "semnasnet_100", "tag": "rmsp_in1k",
                   "url": _RELEASES + "mnasnet_a1-d9418771.pth", "acc@1": 75.452, "acc@5": 92.608},
    "mnasnet_small": {"timm_model": "mnasnet_small", "tag": "lamb_in1k",
                      "url": _RELEASES + "mnasnet_small_lamb-aff75073.pth", "acc@1": 66.204, "acc@5": 86.470},
}
TIMM_FIRST_KEY = "conv_stem.weight"


def is_timm_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """timm's EfficientNet-family layout: a ``conv_stem`` first, ``blocks.*`` and a ``classifier``."""
    keys = list(state_dict)
    return bool(keys) and keys[0] == TIMM_FIRST_KEY and "classifier.weight" in state_dict and any(
        key.startswith("blocks.") for key in keys)


def convert_timm_state_dict(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *,
                            source: str = "timm weights", model_label: str | None = None) -> dict:
    """`state_dict` of timm's ``semnasnet_100`` / ``mnasnet_small`` (or their fine-tuned versions) on
    `model`'s keys; a `mnas.weights.WeightsMismatchError` naming both keys when a shape differs."""
    from .weights import convert_torchvision_state_dict

    if not is_timm_state_dict(state_dict):
        raise ValueError(f"{source} is not a timm EfficientNet-family state dict: expected "
                         f"{TIMM_FIRST_KEY!r} first, 'blocks.*' and 'classifier.weight'")
    return convert_torchvision_state_dict(state_dict, model, source=source, model_label=model_label)


def from_timm_model(timm_model: torch.nn.Module) -> MnasNet:
    """Our model with the weights of a timm ``semnasnet_100`` / ``mnasnet_small`` instance (eval mode)."""
    from .models import create_model

    name = getattr(timm_model, "pretrained_cfg", {}).get("architecture", "")
    variant = next((ours for ours, info in TIMM_WEIGHTS.items() if info["timm_model"] == name), None)
    if variant is None:
        known = ", ".join(info["timm_model"] for info in TIMM_WEIGHTS.values())
        raise ValueError(f"timm model {name!r} has no MnasNet counterpart here: expected one of {known}")
    model = create_model(variant, num_classes=timm_model.num_classes, input_size=224)
    model.load_state_dict(convert_timm_state_dict(timm_model.state_dict(), model,
                                                  source=f"timm {name}", model_label=variant))
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    """Convert a timm checkpoint file into an mnas model file that infer_mnasnet loads by itself."""
    from .weights import (extract_state_dict, head_size, imagenet_categories, read_checkpoint,
                          read_class_file, save_model_file)
    from .models import create_model

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("checkpoint", help="timm state dict (.pth) of semnasnet_100 or mnasnet_small")
    parser.add_argument("--variant", choices=tuple(TIMM_WEIGHTS), required=True)
    parser.add_argument("--output", required=True, help="model file to write")
    parser.add_argument("--class-file", help="class names, one per line (default: ImageNet's for 1000)")
    args = parser.parse_args(argv)
    state_dict = extract_state_dict(read_checkpoint(args.checkpoint, "checkpoint"), args.checkpoint)
    num_classes = head_size(state_dict)
    model = create_model(args.variant, num_classes=num_classes, input_size=224)
    model.load_state_dict(convert_timm_state_dict(state_dict, model, source=args.checkpoint,
                                                  model_label=args.variant))
    if args.class_file:
        names = read_class_file(args.class_file, expected=num_classes)
    elif num_classes == 1000:
        names = imagenet_categories()
    else:
        parser.error(f"--class-file is needed: the checkpoint has {num_classes} classes, not ImageNet's 1000")
    save_model_file(args.output, model.eval(), class_names=names, input_size=224,
                    metadata={"converted_from": f"timm {TIMM_WEIGHTS[args.variant]['timm_model']}",
                              "checkpoint": str(args.checkpoint)})
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
