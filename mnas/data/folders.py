"""Image-classification datasets decoded once and kept in memory as one uint8 tensor.

Layouts::

    <root>/train/<class>/<image files>    the Ikomia classification folder layout
    <root>/val/<class>/<image files>      (or test/ when there is no val/; or neither: carve one)

    <root>/<class>/<image files>          a flat folder of class folders (no train/): the validation
                                          split is carved from it (stratified, seeded)

With both val/ and test/, training validates on val/ and test/ stays untouched: ``splits.test_dir``, what
a final evaluation can report on (`mnas.evaluation.report`).

API
---
``load_folder_dataset(root, *, image_size=None, val_fraction=None, ...) -> (train, val, splits)``
    The one call the trainer's users make: finds the splits, checks them, decodes every image once,
    carves a stratified validation split from train/ when there is no val/ (or when asked).
``find_dataset_splits(root) -> DatasetSplits``
    Checks the folder layout and the class sets; raises `DatasetError` before any decoding.
``load_split(split_dir, *, classes=None, limit_per_class=None, image_size=None, cache_dir=...)``
    One split folder -> `ImageDataset`.
``stratified_split(dataset, val_fraction | counts, seed) -> (train, val)``
    (`stratified_indices` gives the same split as index tensors).
``cifar10_root(download=False)``: the CIFAR-10 folder (class files: `mnas.weights.model_file`).

An `ImageDataset` holds ``images`` (uint8, N x H x W x 3, RGB), ``labels`` (int64, N),
``class_names`` (sorted folder names: the class order is stable and written out as classes.txt) and
``files`` (each image's file, so that a split or a prediction can name its images).
All images of a dataset share one size: with ``image_size=S`` each whole image is resized to S x S
(bilinear, antialiased, aspect ratio not kept: what infer_mnasnet does at inference); without it they
must already share one size (CIFAR-10's 32 x 32). Files are read by `mnas.preprocess.read_image_file`:
only regular files, the EXIF orientation applied (a phone photo is upright, as at inference). Files that
cannot be decoded (non-images, corrupt or empty files, images over `MAX_IMAGE_PIXELS`, checked from the
header before decoding) are skipped, counted in the log and listed in ``dataset.skipped``; a class left
with no usable image is an error.

``dataset_fingerprint(root)`` names a dataset's files (relative names and sizes, hashed): a resumed
training checks it still trains on the same images.

Decoding is cached: the decoded tensor is saved in ``cache_dir`` (default ``$MNAS_CACHE/datasets`` or
``~/.cache/mnas/datasets``) under a key made of every file's path, size and modification time plus
`image_size`, so a changed folder never reads a stale cache; loading from the cache skips the
decoding.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

VAL_SPLIT_NAMES = ("val", "test")


IMAGE_CHANNELS = 3  # every image is decoded to RGB

class DatasetError(ValueError):
    """A dataset folder that cannot be trained on; the message names the folder and what was expected."""


class LabelledImages:
    """What every dataset of the training engine shares: one label per image and the class names."""

    labels: torch.Tensor
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()



@dataclasses.dataclass
class ImageDataset(LabelledImages):
    """Decoded images in memory: uint8 N x H x W x 3, int64 labels, class names, skipped files."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    skipped: list[str] = dataclasses.field(default_factory=list)
    source: str = ""
    files: list[str] = dataclasses.field(default_factory=list)  # one per image; empty: not known

    def __post_init__(self):
        if self.files and len(self.files) != len(self.images):
            raise ValueError(f"files must name each of the {len(self.images)} images, got {len(self.files)}")
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ValueError(f"images must be a uint8 N x H x W x 3 tensor, got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},), got {tuple(self.labels.shape)}")

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    def subset(self, indices: torch.Tensor) -> "ImageDataset":
        files = [self.files[int(i)] for i in indices] if self.files else []
        return ImageDataset(self.images[indices], self.labels[indices], list(self.class_names),
                            [], self.source, files)

def files_by_class(split_dir: str | os.PathLike, per_class: int = 0) -> tuple[list[Path], list[str]]:
    """The files of each class folder of `split_dir` (sorted; the first `per_class` of each, 0: all) and
    the class name of each: what a test over a whole split reads."""
    files, labels = [], []
    for class_dir in sorted(p for p in Path(split_dir).iterdir() if p.is_dir()):
        chosen = sorted(p for p in class_dir.iterdir() if p.is_file())
        chosen = chosen[:per_class] if per_class else chosen
        files += chosen
        labels += [class_dir.name] * len(chosen)
    return files, labels


FLAT, SPLIT_FOLDERS = "flat", "train/"  # DatasetSplits.layout


@dataclasses.dataclass(frozen=True)
class DatasetSplits:
    """Where a dataset's splits are and its classes (sorted), as `find_dataset_splits` checked them.

    `layout` is ``"train/"`` (``root/train/<class>/``) or ``"flat"`` (``root/<class>/``: `train_dir` is
    `root` itself and there is no `val_dir`). `test_dir` is ``root/test`` when ``root/val`` is the
    validation split and test/ has the same classes: images training never looks at."""

    root: Path
    train_dir: Path
    val_dir: Path | None
    class_names: list[str]
    layout: str = SPLIT_FOLDERS
    test_dir: Path | None = None


# --------------------------------------------------------------------------------------------- layout

# os.scandir, not pathlib: listing CIFAR-10's 50,000 files with Path.iterdir + is_file is much slower

def _class_dirs(split_dir: Path) -> list[str]:
    with os.scandir(split_dir) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def _file_entries(class_dir: Path) -> list[os.DirEntry]:
    """The files of a class folder (hidden files ignored), sorted by name."""
    with os.scandir(class_dir) as entries:
        return sorted((e for e in entries if e.is_file() and not e.name.startswith(".")),
                      key=lambda e: e.name)


def _has_files(class_dir: Path) -> bool:
    with os.scandir(class_dir) as entries:
        return any(e.is_file() and not e.name.startswith(".") for e in entries)


def check_class_names(names, source: str) -> None:
    """Class names are shown, written one per line and matched by name: single-line, non-empty, distinct."""
    bad = [n for n in names if not n.strip() or n != n.strip() or not n.isprintable()]
    if bad:
        raise ValueError(f"{source}: class name {bad[0]!r} must be a non-empty single-line string with no "
                         "leading/trailing spaces or control characters")
    seen = set()
    duplicate = next((n for n in names if n in seen or seen.add(n)), None)
    if duplicate is not None:
        raise ValueError(f"{source}: class name {duplicate!r} appears twice: expected distinct names")


def _check_split(split_dir: Path) -> list[str]:
    classes = _class_dirs(split_dir)
    if not classes:
        raise DatasetError(f"{split_dir} holds no class folders: expected {split_dir}/<class>/<images>")
    return check_class_folders(split_dir, classes)


def check_class_folders(split_dir: Path, classes: list[str], minimum: int = 2) -> list[str]:
    """`classes` (folders of `split_dir`): valid names, at least `minimum` of them, none empty."""
    try:
        check_class_names(classes, f"{split_dir}: class folder")
    except ValueError as error:  # found before any decoding, not after the training when classes.txt is written
        raise DatasetError(f"{error} (rename the folder)") from None

    if len(classes) < minimum:
        raise DatasetError(f"{split_dir} holds one class folder ({classes[0]!r}): a classifier needs at "
                           "least two classes")
    empty = [c for c in classes if not _has_files(split_dir / c)]
    if empty:
        raise DatasetError(f"{split_dir}: class folder(s) {', '.join(map(repr, empty))} hold no files: "
                           "expected at least one image per class")
    return classes


LAYOUTS_EXPECTED = ("expected <root>/train/<class>/<images> (optionally <root>/val/<class>/), or a flat "
                    "folder of class folders <root>/<class>/<images>")


def find_dataset_splits(root: str | os.PathLike) -> DatasetSplits:
    """Check `root` has train/<class>/ (and val/ or test/ with the same classes), or is a flat folder of
    class folders (no train/, val/ or test/ among them); no decoding yet."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder {str(root)!r} does not exist or is not a folder")
    train_dir = root / "train"
    if not train_dir.is_dir():
        folders = _class_dirs(root)
        split_names = [n for n in folders if n in VAL_SPLIT_NAMES]
        if split_names or not folders:
            found = ", ".join(folders) or "nothing"
            raise DatasetError(f"dataset folder {str(root)!r} has no train/ subfolder (found: {found}): "
                               + LAYOUTS_EXPECTED)
        return DatasetSplits(root, root, None, _check_split(root), FLAT)
    classes = _check_split(train_dir)
    val_dir = next((root / n for n in VAL_SPLIT_NAMES if (root / n).is_dir()), None)
    if val_dir is not None:
        val_classes = _check_split(val_dir)
        if val_classes != classes:
            only_train = sorted(set(classes) - set(val_classes))
            only_val = sorted(set(val_classes) - set(classes))
            raise DatasetError(f"{train_dir} and {val_dir} have different classes: only in train: "
                               f"{only_train or 'none'}; only in {val_dir.name}: {only_val or 'none'}")
    return DatasetSplits(root, train_dir, val_dir, classes, SPLIT_FOLDERS, _test_dir(root, val_dir, classes))


def _test_dir(root: Path, val_dir: Path | None, classes: list[str]) -> Path | None:
    """root/test beside root/val, when it holds the same classes (else it is left out, with a warning)."""
    test_dir = root / "test"
    if val_dir is None or val_dir.name == "test" or not test_dir.is_dir():
        return None
    try:
        test_classes = _check_split(test_dir)
    except DatasetError as error:
        logger.warning("%s is not used for the final evaluation: %s", test_dir, error)
        return None
    if test_classes != classes:
        logger.warning("%s is not used for the final evaluation: its classes differ from train/'s", test_dir)
        return None
    return test_dir


# -------------------------------------------------------------------------------------------- decoding


# ---------------------------------------------------------------------------------------------- splits


# ---------------------------------------------------------------------------------------------- CIFAR

