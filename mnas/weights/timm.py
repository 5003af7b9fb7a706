"""timm's ImageNet checkpoints of MnasNet-A1 (``semnasnet_100``) and MnasNet-small (``mnasnet_small``)
as weights of this package's `mnas_a1` / `mnasnet_small`.

timm builds both from the same block strings as ours (``ds``/``ir`` blocks, SE on the block's input
channels, ReLU, a 1x1 head of 1280), and registers its modules in our order: ``conv_stem, bn1,
blocks.*, conv_head, bn2, classifier`` against our ``features.0`` (stem) ... ``features.N`` (head),
``classifier``. timm's names cannot match ours, so, as for torchvision's B1, the conversion is
positional: timm's tensors are put in the order its modules are registered -- derived from their names
(`timm_order`), so the order of the file's dict does not matter -- and mapped one by one onto ours,
every shape and tensor kind checked (`mnas.weights.state_dict.map_by_position`); a name that is no tensor of these
networks, or a batch norm lacking a tensor, is refused naming the key. tests/test_timm_convert.py shows
equal logits within 1e-5 against timm itself with random weights.

The files are found, or downloaded, where timm's own ``url`` loader puts them: the torch hub cache,
``$TORCH_HOME/hub/checkpoints/<file name of the url>`` (`mnas.weights.published.imagenet_checkpoint_path`).
Accuracies are timm's published ImageNet-1k validation figures (results-imagenet.csv: 224 px,
crop 0.875, bicubic). The suffixes of the file names look like SHA-256 prefixes but timm itself does
not check them (``set_pretrained_check_hash`` is off by default) and they could not be verified here:
a download is checked for its announced size and for loading as these weights; an entry's optional
``"sha256"`` (a full hash, or a prefix) is checked too once someone has pinned it from the real file.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import torch

from mnas.models import MnasNet
from mnas.weights.state_dict import MODULE_TENSORS, WeightsMismatchError, map_by_position

_RELEASES = "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/"
# our variant -> timm's model name, pretrained tag, checkpoint url, published top-1 / top-5 (%)
TIMM_WEIGHTS = {
    "mnasnet_a1": {"timm_model": "semnasnet_100", "tag": "rmsp_in1k",
                   "url": _RELEASES + "mnasnet_a1-d9418771.pth", "acc@1": 75.452, "acc@5": 92.608},
    "mnasnet_small": {"timm_model": "mnasnet_small", "tag": "lamb_in1k",
                      "url": _RELEASES + "mnasnet_small_lamb-aff75073.pth", "acc@1": 66.204, "acc@5": 86.470},
}
TIMM_FIRST_KEY = "conv_stem.weight"
# the order timm registers its modules in: the network, an InvertedResidual block (it has a conv_pwl),
# a DepthwiseSeparableConv block, a squeeze-excite; a module's tensors in torch's order
_TIMM_TOP = ("conv_stem", "bn1", "blocks", "conv_head", "bn2", "classifier")
_TIMM_INVERTED = ("conv_pw", "bn1", "conv_dw", "bn2", "se", "conv_pwl", "bn3")
_TIMM_SEPARABLE = ("conv_dw", "bn1", "se", "conv_pw", "bn2")
_TIMM_SE = ("conv_reduce", "conv_expand")


def is_timm_state_dict(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """timm's EfficientNet-family layout: ``blocks.*`` with a ``conv_stem`` or a ``conv_head``, in any
    key order (a key-sorted copy is still timm's)."""
    return any(key.startswith("blocks.") for key in state_dict) and any(
        key.startswith(("conv_stem.", "conv_head.")) for key in state_dict)


def _timm_rank(key: str, inverted: set[tuple[str, str]]) -> tuple:
    """Where timm registers `key`'s tensor; a ValueError for a name none of its modules has."""
    top, *path, leaf = key.split(".")
    if leaf not in MODULE_TENSORS:
        raise ValueError(key)
    if top != "blocks":
        if path or top not in _TIMM_TOP:
            raise ValueError(key)
        return _TIMM_TOP.index(top), 0, 0, 0, 0, MODULE_TENSORS.index(leaf)
    stage, block, module, *inner = path
    order = _TIMM_INVERTED if (stage, block) in inverted else _TIMM_SEPARABLE
    if module not in order or (module == "se") != bool(inner) or len(inner) > 1 or (
            inner and inner[0] not in _TIMM_SE):
        raise ValueError(key)
    se_rank = _TIMM_SE.index(inner[0]) if inner else 0
    return _TIMM_TOP.index("blocks"), int(stage), int(block), order.index(module), se_rank, MODULE_TENSORS.index(leaf)


def timm_order(state_dict: Mapping[str, torch.Tensor], source: str = "timm weights") -> list[str]:
    """The keys of a timm state dict in the order timm's network registers them, from their names; a
    `mnas.weights.state_dict.WeightsMismatchError` naming the keys that are no tensor of timm's MnasNets."""

    inverted = {tuple(key.split(".")[1:3]) for key in state_dict
                if key.startswith("blocks.") and ".conv_pwl." in key}
    ranks, unknown = {}, []
    for key in state_dict:
        try:
            ranks[key] = _timm_rank(key, inverted)
        except (ValueError, IndexError):
            unknown.append(key)
    if unknown:
        more = f" (and {len(unknown) - 3} more)" if len(unknown) > 3 else ""
        raise WeightsMismatchError(
            f"weights are for a different architecture: {source} has {', '.join(map(repr, unknown[:3]))}{more}, "
            "which timm's semnasnet_100 / mnasnet_small have not (expected conv_stem, bn1, "
            "blocks.<stage>.<block>.<conv_pw|conv_dw|conv_pwl|bn1-3|se.conv_reduce|se.conv_expand>, "
            "conv_head, bn2, classifier)")
    return sorted(state_dict, key=ranks.__getitem__)


def convert_timm_state_dict(state_dict: Mapping[str, torch.Tensor], model: MnasNet, *,
                            source: str = "timm weights", model_label: str | None = None) -> dict:
    """`state_dict` of timm's ``semnasnet_100`` / ``mnasnet_small`` (or their fine-tuned versions) on
    `model`'s keys, in timm's module order (`timm_order`); a `mnas.weights.state_dict.WeightsMismatchError` naming
    the keys when a name or a shape does not fit."""

    if not is_timm_state_dict(state_dict):
        raise ValueError(f"{source} is not a timm EfficientNet-family state dict: expected "
                         "'conv_stem.*', 'blocks.*' and 'classifier.*' keys")
    return map_by_position(timm_order(state_dict, source), state_dict, model, source=source,
                        model_label=model_label)


def from_timm_model(timm_model: torch.nn.Module) -> MnasNet:
    """Our model with the weights of a timm ``semnasnet_100`` / ``mnasnet_small`` instance (eval mode)."""
    from mnas.models import create_model

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
    from mnas.models import create_model
    from mnas.weights.classes import read_class_file
    from mnas.weights.model_file import read_checkpoint, save_model_file
    from mnas.weights.published import imagenet_categories
    from mnas.weights.state_dict import extract_state_dict, head_size

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
