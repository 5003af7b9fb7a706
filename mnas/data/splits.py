"""Train / validation splits of a folder dataset: stratified, seeded, and the whole dataset in one call."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from mnas.data.decode import load_split
from mnas.data.folders import DatasetError, ImageDataset, _class_dirs, find_dataset_splits

DEFAULT_VAL_FRACTION = 0.1  # carved for validation when the dataset has no val/ or test/ folder


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
