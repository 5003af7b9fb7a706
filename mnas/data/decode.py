"""Decoding a split folder into one uint8 tensor, cached on disk by the folder's listing and the image size."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F

from mnas.data.folders import DatasetError, ImageDataset, _check_split, _file_entries, find_dataset_splits
from mnas.preprocess import MAX_IMAGE_PIXELS, ImageTooLarge, apply_orientation, read_image_file
from mnas.utils.fileio import atomic_torch_save
from mnas.utils.paths import cache_dir as mnas_cache_dir

logger = logging.getLogger(__name__)


CACHE_FORMAT = "mnas-decoded/2"  # 2: EXIF orientation applied, MAX_IMAGE_PIXELS


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
