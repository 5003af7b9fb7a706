"""Datasets larger than memory: images listed, not decoded, then decoded batch by batch in DataLoader
worker processes while the model trains.

`list_folder_dataset` mirrors `mnas.data.splits.load_folder_dataset` (same splits, class order, file order and
stratified validation carve-out) but returns `FileDataset` s, whose ``images`` is a `FileImages`:
indexing it with a tensor of indices decodes those files into the same uint8 N x S x S x 3 tensor that
the in-memory dataset would hold (`mnas.data.folders` decodes and resizes with the same functions). So the
trainer reads both kinds the same way (`decoded_batches`), keeps its batch order and augmentation draws
on its own generator, and trains to the same weights, bit for bit on one thread.

`mnas.train.job` chooses this path when the decoded training and validation sets would take more than
a memory budget (`memory_budget_bytes`: by default half of the memory available now).

Unreadable files are skipped and counted as in the in-memory path: listing reads each file's header
(`mnas.preprocess.image_header`: not a regular file, empty, no image, over `MAX_IMAGE_PIXELS`), so those
files are left out, listed in ``dataset.skipped``, before training. A file whose header reads but whose
pixels do not decode (a truncated PNG) is found only when its batch is decoded; the batch keeps its size
(the trainer has already drawn its labels) so the next readable image of the same class folder takes its
place -- no label is wrong -- and the file is logged once and added to ``dataset.skipped``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import torch

from mnas.data.decode import _check_usable, _decode, _resize_square, split_files
from mnas.data.folders import DatasetError, LabelledImages, find_dataset_splits
from mnas.data.splits import DEFAULT_VAL_FRACTION, stratified_split
from mnas.preprocess import ImageTooLarge, image_header
from mnas.utils.machine import usable_cores

logger = logging.getLogger(__name__)

MAX_AUTO_WORKERS = 8
BUDGET_SHARE = 0.5  # of the memory available when the job starts


@dataclasses.dataclass(frozen=True)
class FileImages:
    """Image files standing for a uint8 N x S x S x 3 tensor: ``images[indices]`` decodes them.

    `skipped` is shared with the dataset (and the subsets carved from it): the files found unreadable
    while decoding are added to it (`decoded_batches` gathers them from the worker processes)."""

    files: tuple[str, ...]
    size: int
    skipped: list[str] = dataclasses.field(default_factory=list, compare=False, repr=False)
    device = torch.device("cpu")

    def __len__(self) -> int:
        return len(self.files)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return len(self.files), self.size, self.size, 3

    def __getitem__(self, index) -> torch.Tensor:
        images, failed = self.decode(index)
        _record(self.skipped, failed)
        return images

    def decode(self, index) -> tuple[torch.Tensor, list[tuple[str, str]]]:
        """The images at `index` and the (unreadable file, file that took its place) pairs met."""
        if isinstance(index, slice):
            index = torch.arange(len(self.files))[index]
        images, failed = [], []
        for i in torch.as_tensor(index).tolist():
            image, misses = self._decode_or_substitute(i)
            images.append(image)
            failed += misses
        return torch.stack(images), failed

    def _decode_or_substitute(self, i: int) -> tuple[torch.Tensor, list[tuple[str, str]]]:
        """File `i` decoded, or the next readable file of its class folder (the label stays right)."""
        misses = []
        folder = os.path.dirname(self.files[i])
        for j in (j % len(self.files) for j in range(i, i + len(self.files))):
            if os.path.dirname(self.files[j]) != folder:
                continue
            image = decode_file(self.files[j], self.size)
            if image is not None:
                return image, [(path, self.files[j]) for path in misses]
            misses.append(self.files[j])
        raise DatasetError(f"{folder}: no readable image left in this class folder ({len(misses)} file(s) "
                           "could not be decoded while streaming): remove or convert them, then resume")


def _record(skipped: list[str], failed: list[tuple[str, str]]) -> None:
    """Add newly found unreadable files to `skipped`, logging each once."""
    for path, substitute in failed:
        if path not in skipped:
            skipped.append(path)
            logger.warning("%s is not a readable image (found while streaming the dataset): skipped, %s "
                           "takes its place in its batches; %d file(s) skipped in all", path, substitute,
                           len(skipped))


def decode_file(path: str, size: int) -> torch.Tensor | None:
    """One file as uint8 S x S x 3, exactly as the in-memory path decodes and resizes it; None if it
    cannot be decoded."""
    with warnings.catch_warnings():  # torchvision flags its decoders as deprecated, per call
        warnings.simplefilter("ignore", DeprecationWarning)
        image = _decode(Path(path))
    return None if image is None else _resize_square(image, size)


@dataclasses.dataclass
class FileDataset(LabelledImages):
    """The `mnas.data.folders.ImageDataset` interface over files decoded on demand."""

    images: FileImages
    labels: torch.Tensor
    class_names: list[str]
    skipped: list[str] = dataclasses.field(default_factory=list)
    source: str = ""

    @property
    def image_size(self) -> tuple[int, int]:
        return self.images.size, self.images.size

    @property
    def files(self) -> list[str]:
        """Each image's file (as `mnas.data.folders.ImageDataset.files`)."""
        return list(self.images.files)

    def subset(self, indices: torch.Tensor) -> "FileDataset":
        files = tuple(self.images.files[int(i)] for i in indices)
        images = FileImages(files, self.images.size, self.images.skipped)  # one record of unreadable files
        return FileDataset(images, self.labels[indices], list(self.class_names), [], self.source)


def list_split(split_dir: Path, class_names: Sequence[str], image_size: int,
               limit_per_class: int | None = None) -> FileDataset:
    """One split folder as a `FileDataset`, files in `mnas.data.decode.load_split`'s order; files whose header
    does not read are left out and listed in ``skipped``, as `mnas.data.decode.load_split` skips them."""
    entries, labels = split_files(split_dir, class_names, limit_per_class)
    kept, skipped = [], []
    for entry, label in zip(entries, labels):
        (kept if _header_reads(entry.path) else skipped).append((entry.path, label))
    skipped = [path for path, _ in skipped]
    dataset = FileDataset(FileImages(tuple(path for path, _ in kept), image_size, skipped),
                          torch.tensor([label for _, label in kept], dtype=torch.long), list(class_names),
                          skipped, str(split_dir))
    _check_usable(dataset, split_dir)
    return dataset


def _header_reads(path: str) -> bool:
    try:
        image_header(path)
        return True
    except ImageTooLarge as error:
        logger.warning("skipping %s", error)
    except (OSError, ValueError):
        pass
    return False


def list_folder_dataset(root: str | os.PathLike, *, image_size: int, val_fraction: float | None = None,
                        limit_per_class: int | None = None, seed: int = 0):
    """`mnas.data.splits.load_folder_dataset` without decoding: returns (train, val, splits) of `FileDataset` s."""
    splits = find_dataset_splits(root)
    train = list_split(splits.train_dir, splits.class_names, image_size, limit_per_class)
    if splits.val_dir is not None and val_fraction is None:
        val = list_split(splits.val_dir, splits.class_names, image_size, limit_per_class)
    else:
        skipped = train.skipped
        train, val = stratified_split(train, DEFAULT_VAL_FRACTION if val_fraction is None else val_fraction,
                                      seed=seed)
        train.skipped = skipped  # the same list the subsets' images add to
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

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, list[tuple[str, str]]]:
        return self.images.decode(index)  # the failures travel back with the batch: workers are processes


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
    for batch, failed in loader:
        _record(images.skipped, failed)
        yield batch


class _Keys(torch.utils.data.Sampler):
    def __init__(self, keys: Iterable[torch.Tensor]):
        self.keys = list(keys)

    def __iter__(self):
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)
