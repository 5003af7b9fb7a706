"""Image-classification datasets decoded once and kept in memory as one uint8 tensor.

Layouts::

    <root>/train/<class>/<image files>    the Ikomia classification folder layout
    <root>/val/<class>/<image files>      (or test/ when there is no val/; or neither: carve one)

    <root>/<class>/<image files>          a flat folder of class folders (no train/): the validation
                                          split is carved from it (stratified, seeded)

With both val/ and test/, training validates on val/ and test/ stays untouched: ``splits.test_dir``, what
a final evaluation can report on (`mnas.evaluation`).

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
``cifar10_root(download=False)``: the CIFAR-10 folder (class files: `mnas.weights`).

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
import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from .fileio import atomic_torch_save, mnas_cache_dir
from .preprocess import MAX_IMAGE_PIXELS, ImageTooLarge, apply_orientation, read_image_file

logger = logging.getLogger(__name__)

VAL_SPLIT_NAMES = ("val", "test")
DEFAULT_VAL_FRACTION = 0.1  # carved for validation when the dataset has no val/ or test/ folder
CACHE_FORMAT = "mnas-decoded/2"  # 2: EXIF orientation applied, MAX_IMAGE_PIXELS
REPO_ROOT = Path(__file__).resolve().parent.parent
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck")


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

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()


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

def _decode(path: Path) -> torch.Tensor | None:
    """RGB uint8 H x W x 3 shown upright (EXIF orientation applied; grey, RGBA, palette and 16-bit images
    converted), or None if unreadable: not a regular file, no image, or over `MAX_IMAGE_PIXELS`."""
    try:
        file = read_image_file(path)  # the header first: a FIFO or a huge image is never decoded
    except ImageTooLarge as error:
        logger.warning("skipping %s", error)
        return None
    except (OSError, ValueError):
        return None
    image = _decode_bytes(file.data)
    if image is None or file.orientation == 1:
        return image
    return torch.from_numpy(apply_orientation(image.numpy(), file.orientation))


def _decode_bytes(data: bytearray) -> torch.Tensor | None:
    from torchvision.io import ImageReadMode, decode_image

    try:
        image = decode_image(torch.frombuffer(data, dtype=torch.uint8), mode=ImageReadMode.RGB).permute(1, 2, 0)
        if image.dtype != torch.uint8:  # 16-bit PNG: scale its range to 0..255
            image = (image.double() * (255 / torch.iinfo(image.dtype).max)).round().to(torch.uint8)
        return image
    except Exception:  # not a format torchvision decodes: let PIL try (BMP, TIFF, ...)
        pass
    try:
        import numpy as np
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return torch.from_numpy(np.asarray(image.convert("RGB")).copy())
    except Exception:
        return None


def resize_uint8(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 N x H x W x 3 images, each resized whole to size x size (antialiased bilinear; aspect ratio
    not kept, as infer_mnasnet does), on their device; returned as they are when already that size."""
    if images.shape[1:3] == (size, size):
        return images
    x = F.interpolate(images.permute(0, 3, 1, 2).float(), size=(size, size), mode="bilinear", antialias=True,
                      align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def _resize_square(image: torch.Tensor, size: int) -> torch.Tensor:
    """One H x W x 3 image resized whole to size x size (`resize_uint8`)."""
    return resize_uint8(image[None], size)[0].contiguous()


def _cache_key(split_dir: Path, files: Sequence[os.DirEntry], image_size: int | None) -> str:
    """Every file's path, size and modification time: any change to the folder makes a new key."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}|{image_size}|{split_dir.resolve()}".encode())
    for entry in files:
        stat = entry.stat()
        digest.update(f"|{entry.path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _read_cache(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        cached = torch.load(path, map_location="cpu", weights_only=True)
        return cached if cached.get("format") == CACHE_FORMAT else None
    except Exception:  # a damaged cache is only a cache: decode again
        logger.warning("ignoring unreadable dataset cache %s", path)
        return None


def _decode_files(files: Sequence[Path], image_size: int | None, where: Path):
    """Decode `files` into one uint8 tensor; returns (images, kept indices, skipped paths)."""
    images, kept, skipped = [], [], []
    for n, path in enumerate(files):
        with warnings.catch_warnings():  # torchvision 0.29 flags its decoders as deprecated, per call
            warnings.simplefilter("ignore", DeprecationWarning)
            image = _decode(path)
        if image is None:
            skipped.append(str(path))
            continue
        if image_size is not None:
            image = _resize_square(image, image_size)
        elif images and image.shape != images[0].shape:
            raise DatasetError(
                f"{where}: images have different sizes ({tuple(images[0].shape[:2])} and "
                f"{tuple(image.shape[:2])} for {path.name}): give image_size to resize them")
        images.append(image)
        kept.append(n)
    stacked = torch.stack(images) if images else torch.empty(0, 1, 1, 3, dtype=torch.uint8)
    return stacked, kept, skipped


def split_files(split_dir: Path, class_names: Sequence[str],
                limit_per_class: int | None = None) -> tuple[list[os.DirEntry], list[int]]:
    """The files of a split folder class by class (each class's sorted by name, its first
    `limit_per_class` if given) and their labels: the order both the in-memory and the streamed
    datasets keep."""
    files, labels = [], []
    for label, name in enumerate(class_names):
        class_dir = split_dir / name
        if not class_dir.is_dir():
            raise DatasetError(f"{split_dir} has no folder for class {name!r}")
        class_files = _file_entries(class_dir)[:limit_per_class]
        files += class_files
        labels += [label] * len(class_files)
    return files, labels


def dataset_fingerprint(root: str | os.PathLike, limit_per_class: int | None = None) -> dict:
    """What identifies a dataset's images: the SHA-256 of every used file's relative name and size, split
    by split (names and sizes, not times or the folder: a copy elsewhere is the same dataset), the file
    counts and the folder."""
    splits = find_dataset_splits(root)
    digest, counts = hashlib.sha256(), {}
    for split_dir in (d for d in (splits.train_dir, splits.val_dir) if d is not None):
        files, _ = split_files(split_dir, splits.class_names, limit_per_class)
        split = "." if split_dir == splits.root else split_dir.name  # a flat folder: its class folders
        counts[split] = len(files)
        for entry in files:
            relative = f"{split}/{Path(entry.path).parent.name}/{entry.name}"
            digest.update(f"{relative}\0{entry.stat().st_size}\n".encode())
    return {"folder": str(splits.root.resolve()), "sha256": digest.hexdigest(), "files": counts}


def load_split(split_dir: str | os.PathLike, *, classes: Sequence[str] | None = None,
               limit_per_class: int | None = None, image_size: int | None = None,
               cache_dir: str | os.PathLike | None = None, use_cache: bool = True) -> ImageDataset:
    """Decode one split folder (`split_dir`/<class>/<files>) into memory.

    `classes` fixes the class order (default: the sorted folder names); `limit_per_class` keeps the
    first N files (sorted by name) of each class, for quick subsets.
    """
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise DatasetError(f"split folder {str(split_dir)!r} does not exist")
    class_names = list(classes) if classes is not None else _check_split(split_dir)
    if limit_per_class is not None and limit_per_class < 1:
        raise ValueError(f"limit_per_class must be >= 1, got {limit_per_class}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be >= 1, got {image_size}")
    files, labels = split_files(split_dir, class_names, limit_per_class)
    cache_path = Path(cache_dir or mnas_cache_dir("datasets")) / f"{_cache_key(split_dir, files, image_size)}.pt"
    cached = _read_cache(cache_path) if use_cache else None
    if cached is None:
        images, kept, skipped = _decode_files([Path(e.path) for e in files], image_size, split_dir)
        cached = {"format": CACHE_FORMAT, "images": images, "kept": torch.tensor(kept, dtype=torch.long),
                  "skipped": skipped}
        if use_cache:
            try:
                atomic_torch_save(cached, cache_path)
            except OSError as error:  # a read-only home must not stop training
                logger.warning("could not write dataset cache %s: %s", cache_path, error)
    labels_kept = torch.tensor(labels, dtype=torch.long)[cached["kept"]]
    kept_files = [files[int(k)].path for k in cached["kept"]]
    dataset = ImageDataset(cached["images"], labels_kept, class_names, list(cached["skipped"]),
                           str(split_dir), kept_files)
    _check_usable(dataset, split_dir)
    return dataset


def _check_usable(dataset: ImageDataset, split_dir: Path) -> None:
    if dataset.skipped:
        logger.warning("%s: skipped %d file(s) that are not readable images or have more than %s pixels "
                       "(first: %s)", split_dir, len(dataset.skipped), f"{MAX_IMAGE_PIXELS:,}", dataset.skipped[0])
    counts = dataset.class_counts() if len(dataset) else [0] * dataset.num_classes
    unusable = [name for name, count in zip(dataset.class_names, counts) if count == 0]
    if unusable:
        raise DatasetError(f"{split_dir}: no readable image left in class folder(s) "
                           f"{', '.join(map(repr, unusable))} ({len(dataset.skipped)} unreadable "
                           "file(s) skipped)")


# ---------------------------------------------------------------------------------------------- splits

def stratified_split(dataset: ImageDataset, val_fraction: float | None = None, *,
                     counts: Sequence[int] | None = None, seed: int = 0):
    """Carve a validation split: per class, `val_fraction` of its images (at least one) or `counts[c]`.

    Returns (train, val); every class keeps at least one training image.
    """
    train_idx, val_idx = stratified_indices(dataset.labels, dataset.class_names, val_fraction, counts=counts,
                                            seed=seed)
    return dataset.subset(train_idx), dataset.subset(val_idx)


def stratified_indices(labels: torch.Tensor, class_names: Sequence[str], val_fraction: float | None = None, *,
                       counts: Sequence[int] | None = None, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The (train, val) indices (sorted) of `stratified_split`: per class, a seeded random `val_fraction`
    of its images, rounded, at least one (or `counts[c]`), for validation."""
    if (val_fraction is None) == (counts is None):
        raise ValueError("give exactly one of val_fraction or counts")
    if val_fraction is not None and not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    generator = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for label, name in enumerate(class_names):
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_val = counts[label] if counts is not None else max(1, round(len(members) * val_fraction))
        if len(members) - n_val < 1:
            raise DatasetError(f"class {name!r} has {len(members)} image(s): too few to hold out "
                               f"{n_val} for validation and keep one for training")
        val_idx.append(members[:n_val])
        train_idx.append(members[n_val:])
    return torch.cat(train_idx).sort().values, torch.cat(val_idx).sort().values


def load_folder_dataset(root: str | os.PathLike, *, image_size: int | None = None,
                        val_fraction: float | None = None, limit_per_class: int | None = None,
                        val_limit_per_class: int | None = None, seed: int = 0,
                        cache_dir: str | os.PathLike | None = None, use_cache: bool = True):
    """Load a whole dataset folder; returns (train, val, splits).

    The validation set is <root>/val (or test) unless `val_fraction` is given or neither exists (a flat
    folder); then it is carved from train/ (or the flat folder) with `stratified_split` (default fraction
    `DEFAULT_VAL_FRACTION`). `limit_per_class` and
    `val_limit_per_class` (default: the same) keep the first N files of each class, for quick subsets.
    """
    splits = find_dataset_splits(root)
    options = dict(classes=splits.class_names, image_size=image_size, cache_dir=cache_dir,
                   use_cache=use_cache)
    train = load_split(splits.train_dir, limit_per_class=limit_per_class, **options)
    if splits.val_dir is not None and val_fraction is None:
        val_limit = limit_per_class if val_limit_per_class is None else val_limit_per_class
        val = load_split(splits.val_dir, limit_per_class=val_limit, **options)
    else:
        skipped = train.skipped
        train, val = stratified_split(train, DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction,
                                      seed=seed)
        train.skipped = skipped
    if val.image_size != train.image_size:
        raise DatasetError(f"{splits.train_dir} images are {train.image_size} but {splits.val_dir} "
                           f"images are {val.image_size}: give image_size to resize both")
    return train, val, splits


def link_subset(source_root: str | os.PathLike, target_root: str | os.PathLike,
                per_split: dict[str, tuple[str, int, int]], classes: Sequence[str] | None = None) -> Path:
    """A dataset folder of symbolic links, nothing copied: for each ``split: (from_split, offset, count)``,
    ``target_root/<split>/<class>/`` links `count` files of ``source_root/<from_split>/<class>`` (sorted by
    name) from `offset` on, for every class folder or just `classes`. Re-running keeps existing links."""
    source_root, target_root = Path(source_root), Path(target_root)
    for split, (from_split, offset, count) in per_split.items():
        names = classes or _class_dirs(source_root / from_split)
        for name in names:
            class_dir = source_root / from_split / name
            files = sorted(p for p in class_dir.iterdir() if p.is_file())[offset:offset + count]
            if not files:
                raise DatasetError(f"{class_dir} has fewer than {offset + 1} files: cannot take {count} "
                                   f"for the {split}/ split")
            target = target_root / split / name
            target.mkdir(parents=True, exist_ok=True)
            for path in files:
                link = target / path.name
                if not link.exists():
                    link.symlink_to(path.resolve())
    return target_root


# ---------------------------------------------------------------------------------------------- CIFAR

def cifar10_root(download: bool = False, download_dir: str | os.PathLike | None = None) -> Path:
    """The CIFAR-10 folder dataset: $MNAS_CIFAR10, else ../shared/datasets/cifar10-jpg beside the repo,
    else what ``python -m mnas data cifar10`` wrote into ~/.cache/mnas/cifar10 (or `download_dir`).

    With `download=True` and none present, it is written there by `mnas.cifar10.export_cifar10`
    (downloaded through torchvision when online; a `ConnectionError` saying what to do otherwise).
    """
    from .cifar10 import DEFAULT_FOLDER, export_cifar10

    candidates = [Path(os.environ["MNAS_CIFAR10"])] if os.environ.get("MNAS_CIFAR10") else []
    candidates.append(REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpg")
    target = Path(download_dir or DEFAULT_FOLDER)
    candidates.append(target)
    for candidate in candidates:
        if (candidate / "train").is_dir():
            return candidate
    if not download:
        raise DatasetError("CIFAR-10 not found (looked in: " + ", ".join(map(str, candidates)) +
                           "): set MNAS_CIFAR10 to a folder with train/<class>/ and test/<class>/, or "
                           "get it with 'python -m mnas data cifar10' (a torchvision download)")
    return export_cifar10(target, download=True)  # asked for: even with MNAS_OFFLINE=1
