"""``python -m mnas data cifar10 [FOLDER]``: CIFAR-10 onto this machine as JPEG class folders (`mnas.data.cifar10`).

    python -m mnas data cifar10                   # into ~/.cache/mnas/cifar10, where the lessons look
    python -m mnas data cifar10 ~/datasets/cifar10 --raw-dir ~/Downloads

Downloads through torchvision when online (163 MB, MD5 checked); offline, copy cifar-10-python.tar.gz
into the --raw-dir folder first. A folder that already holds the export is left as it is.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mnas.utils.paths import CIFAR10_ENV


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from mnas.data.cifar10 import DEFAULT_FOLDER, DEFAULT_RAW_DIR

    datasets = parser.add_subparsers(dest="dataset", required=True, metavar="{cifar10}")
    cifar = datasets.add_parser(
        "cifar10", help="CIFAR-10 as train/<class>/*.jpg and test/<class>/*.jpg",
        description="Write CIFAR-10 (50,000 training and 10,000 test images, 32 x 32) into FOLDER as "
                    "train/<class>/NNNN.jpg and test/<class>/NNNN.jpg, the layout train, search and the "
                    "lessons read; downloaded through torchvision when the archive is not in --raw-dir.")
    cifar.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER),
                       help=f"a new or empty folder (default: {DEFAULT_FOLDER}, where the lessons and the "
                            "search look without MNAS_CIFAR10)")
    cifar.add_argument("--raw-dir", default=str(DEFAULT_RAW_DIR),
                       help="where the official archive (cifar-10-python.tar.gz) is kept, or was copied by "
                            f"hand on a machine without internet (default: {DEFAULT_RAW_DIR})")


def run(args: argparse.Namespace) -> int:
    from mnas.data.cifar10 import DEFAULT_FOLDER, export_cifar10

    folder = export_cifar10(args.folder, raw_dir=args.raw_dir, log=lambda line: print(f"[data] {line}"))
    counts = {split: sum(1 for _ in (folder / split).glob("*/*.jpg")) for split in ("train", "test")}
    print(f"CIFAR-10 in {folder}: train/ ({counts['train']:,} images) and test/ ({counts['test']:,}), "
          "one folder per class")
    if folder.resolve() != Path(DEFAULT_FOLDER).resolve() and os.environ.get(CIFAR10_ENV) != str(folder):
        print(f"the lessons and 'mnas search' find it with: export MNAS_CIFAR10={folder}")
    return 0
