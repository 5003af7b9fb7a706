"""``python -m mnas weights {fetch,list}``: the published ImageNet weights on this machine (`mnas.weights.model_file`).

    python -m mnas weights list                      # each variant's weights: where looked for, present?
    python -m mnas weights fetch                     # all six into the torch hub cache (when online)
    python -m mnas weights fetch mnasnet1_0 mnasnet_a1

``fetch`` downloads through the same checked path as a first use (a temporary file renamed only when
complete, of its known SHA-256 and loadable as the variant); a variant whose weights are already on this
machine (the torch hub cache, the Ikomia HUB plugin's folder, timm's Hugging Face cache) is not fetched
again. Offline (``MNAS_OFFLINE=1``) or on a failed download, each missing variant is named with the file
to copy by hand and the folder to put it in; the exit status is then 1.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mnas.weights.published import PRETRAINED_VARIANTS

    actions = parser.add_subparsers(dest="action", required=True, metavar="{fetch,list}")
    fetch = actions.add_parser(
        "fetch", help="download the published ImageNet weights into the torch hub cache",
        description="Download the published ImageNet weights of the named variants (default: all of "
                    f"them: {', '.join(PRETRAINED_VARIANTS)}) into the torch hub cache "
                    "($TORCH_HOME/hub/checkpoints), each checked before it is kept; weights already on "
                    "this machine are left as they are.")
    fetch.add_argument("names", nargs="*", metavar="NAME",
                       help=f"variants to fetch (default: all): {', '.join(PRETRAINED_VARIANTS)}")
    actions.add_parser("list", help="each published weight, where it is looked for and whether it is present",
                       description="Each variant's published ImageNet weights: origin, ImageNet top-1, "
                                   "every place looked for (in order) and what is there.")


def _names(names: list[str]) -> list[str]:
    from mnas.weights.published import PRETRAINED_VARIANTS

    unknown = [name for name in names if name not in PRETRAINED_VARIANTS]
    if unknown:
        raise ValueError(f"no published ImageNet weights for {', '.join(map(repr, unknown))}: expected "
                         f"names among {', '.join(PRETRAINED_VARIANTS)}")
    return list(dict.fromkeys(names)) or list(PRETRAINED_VARIANTS)


def fetch(names: list[str], log=print) -> list[str]:
    """Fetch each variant's weights unless already on this machine; the variants that could not be
    fetched (each logged with why and where to put its file by hand)."""
    from mnas.utils.fileio import DownloadError
    from mnas.utils.paths import OFFLINE_ENV
    from mnas.weights.published import (
        download_allowed,
        download_imagenet_weights,
        find_imagenet_weights,
        imagenet_checkpoint_path,
        published_weights,
    )

    missing = []
    for name in _names(names):
        found = find_imagenet_weights(name)
        for why in found.rejected:
            log(f"{name}: not used: {why}")
        if found.path is not None:
            log(f"{name}: present ({found.label}): {found.path}")
            continue
        weights, path = published_weights(name), imagenet_checkpoint_path(name)
        by_hand = f"copy {path.name} (from {weights.url}) into {path.parent}"
        if not download_allowed():
            log(f"{name}: not fetched, offline ({OFFLINE_ENV}=1): {by_hand}")
            missing.append(name)
            continue
        log(f"{name}: downloading {weights.url}")
        try:
            download_imagenet_weights(name)
        except DownloadError as error:
            log(f"{name}: not fetched: {error}. By hand: {by_hand}")
            missing.append(name)
            continue
        log(f"{name}: fetched and checked: {path}")
    return missing


def list_weights(log=print) -> None:
    from mnas.weights.published import (
        PRETRAINED_VARIANTS,
        _files_at,
        check_found_weights,
        imagenet_weights_places,
        published_weights,
    )

    for name in PRETRAINED_VARIANTS:
        weights = published_weights(name)
        log(f"{name}: {weights.origin}, ImageNet top-1 {weights.top1:.1f} %, file {weights.file_name}")
        for place in imagenet_weights_places(name):
            files = _files_at(place)
            if not files:
                log(f"    {place.label + ':':<46} absent    {place.path}")
            for path in files:
                state = "present"
                if place.checked:
                    try:
                        check_found_weights(name, place, path)
                        state = "present, checked"
                    except (ValueError, OSError) as error:
                        state = f"unusable ({error})"
                log(f"    {place.label + ':':<46} {state}  {path}")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        list_weights()
        return 0
    missing = fetch(args.names)
    if missing:
        print(f"not fetched: {', '.join(missing)} (see above for where to put each file by hand)")
        return 1
    return 0
