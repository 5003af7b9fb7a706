"""Datasets larger than memory: images listed, not decoded, then decoded batch by batch in DataLoader
worker processes while the model trains.

`list_folder_dataset` mirrors `mnas.data.load_folder_dataset` (same splits, class order, file order and
stratified validation carve-out) but returns `FileDataset` s, whose ``images`` is a `FileImages`:
indexing it with a tensor of indices decodes those files into the same uint8 N x S x S x 3 tensor that
the in-memory dataset would hold (`mnas.data` decodes and resizes with the same functions). So the
trainer reads both kinds the same way (`decoded_batches`), keeps its batch order and augmentation draws
on its own generator, and trains to the same weights, bit for bit on one thread.

`mnas.train_job` chooses this path when the decoded training and validation sets would take more than
a memory budget (`memory_budget_bytes`: by default half of the memory available now).

A file that cannot be decoded is found only when its batch is decoded: it stops training with an error
naming it (the in-memory path, which decodes everything first, skips such files instead).
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch

from .data import DatasetError, LabelledImages, _decode, _resize_square, find_dataset_splits, split_files, stratified_split
from .machine import usable_cores

MAX_AUTO_WORKERS = 8
BUDGET_SHARE = 0.5  # of the memory available when the job starts


@dataclasses.dataclass(frozen=True)
class FileImages:
    """Image files standing for a uint8 N x S x S x 3 tensor: ``images[indices]`` decodes them."""

    files: tuple[str, ...]
    size: int
    device = torch.device("cpu")

    def __len__(self) -> int:
        return len(self.files)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self.files), self.size, self.size, 3

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, slice):
            index = torch.arange(len(self.files))[index]
        return torch.stack([decode_file(self.files[int(i)], self.size) for i in torch.as_tensor(index)])


def decode_file(path: str, size: int) -> torch.Tensor:
    """One file as uint8 S x S x 3, exactly as the in-memory path decodes and resizes it."""
    with warnings.catch_warnings():  # torchvision flags its decoders as deprecated, per call
        warnings.simplefilter("ignore", DeprecationWarning)
        image = _decode(Path(path))
    if image is None:
        raise DatasetError(f"{path} is not a readable image (found while streaming the dataset, which "
                           "decodes each file when its batch comes): remove it or convert it, then resume")
    return _resize_square(image, size)


@dataclasses.dataclass
class FileDataset(LabelledImages):
    """The `mnas.data.ImageDataset` interface over files decoded on demand."""

    images: FileImages
    labels: torch.Tensor
    class_names: list[str]
    skipped: list[str] = dataclasses.field(default_factory=list)
    source: str = ""

    @property
    def image_size(self) -> tuple[int, int]:
        return self.images.size, self.images.size

    def subset(self, indices: torch.Tensor) -> "FileDataset":
        files = tuple(self.images.files[int(i)] for i in indices)
        return FileDataset(FileImages(files, self.images.size), self.labels[indices], list(self.class_names),
                           [], self.source)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=self.num_classes).tolist()


def list_split(split_dir: Path, class_names: Sequence[str], image_size: int,
               limit_per_class: int | None = None) -> FileDataset:
    """One split folder as a `FileDataset`, files in `mnas.data.load_split`'s order."""
    entries, labels = split_files(split_dir, class_names, limit_per_class)
    return FileDataset(FileImages(tuple(entry.path for entry in entries), image_size),
                       torch.tensor(labels, dtype=torch.long), list(class_names), [], str(split_dir))


def list_folder_dataset(root: str | os.PathLike, *, image_size: int, val_fraction: float | None = None,
                        limit_per_class: int | None = None, seed: int = 0):
    """`mnas.data.load_folder_dataset` without decoding: returns (train, val, splits) of `FileDataset` s."""
    splits = find_dataset_splits(root)
    train = list_split(splits.train_dir, splits.class_names, image_size, limit_per_class)
    if splits.val_dir is not None and val_fraction is None:
        val = list_split(splits.val_dir, splits.class_names, image_size, limit_per_class)
    else:
        train, val = stratified_split(train, 0.1 if val_fraction is None else val_fraction, seed=seed)
    return train, val, splits


def decoded_bytes(num_images: int, image_size: int) -> int:
    """Memory the decoded uint8 images take in the in-memory path."""
    return num_images * image_size * image_size * 3


def memory_budget_bytes(budget_gb: float | None = None) -> int:
    """`budget_gb` in bytes; None: half of the memory available now (MemAvailable; total RAM elsewhere)."""
    if budget_gb is not None:
        if not budget_gb > 0:
            raise ValueError(f"memory_budget_gb must be a number > 0 (or auto), got {budget_gb!r}")
        return int(budget_gb * 1e9)
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(BUDGET_SHARE * available)


def default_workers() -> int:
    """Decoding processes: the cores this process may use, at most `MAX_AUTO_WORKERS`."""
    return max(1, min(MAX_AUTO_WORKERS, usable_cores()))


class _BatchDecoder(torch.utils.data.Dataset):
    """DataLoader dataset whose keys are whole batches (index tensors): one worker decodes one batch."""

    def __init__(self, images: FileImages):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        return self.images[index]


def decoded_batches(images, index_batches: Sequence[torch.Tensor], workers: int = 0) -> Iterator[torch.Tensor]:
    """``images[index]`` for each index tensor, in order: a slice of the in-memory tensor, or the files
    decoded by `workers` DataLoader processes (0: `default_workers`), two batches ahead each."""
    if isinstance(images, torch.Tensor):
        for index in index_batches:
            yield images[index.to(images.device)]
        return
    if not index_batches:
        return
    # its own generator: a DataLoader seeds its workers from the global RNG otherwise, which would shift
    # the training's dropout draws away from the in-memory path's
    loader = torch.utils.data.DataLoader(_BatchDecoder(images), sampler=_Keys(index_batches), batch_size=None,
                                         num_workers=min(workers or default_workers(), len(index_batches)),
                                         generator=torch.Generator().manual_seed(0))
    yield from loader


class _Keys(torch.utils.data.Sampler):
    def __init__(self, keys: Iterable[torch.Tensor]):
        self.keys = list(keys)

    def __iter__(self):
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)
