"""CIFAR-10 onto a fresh machine, in the folder layout the project trains on (``python -m mnas data cifar10``).

The layout is the one of ``../shared/datasets/cifar10-jpg`` (what the tests, benchmarks and lessons use)::

    <folder>/train/<class>/NNNN.jpg    5,000 images per class, numbered in the official batches' order
    <folder>/test/<class>/NNNN.jpg     1,000 images per class

32 x 32 RGB JPEG at quality 75 (Pillow's default, as there). `export_cifar10` reads the official Python
batches (``cifar-10-batches-py``: ``data_batch_1`` .. ``data_batch_5``, ``test_batch``, ``batches.meta``)
from `raw_dir`; when they are not there it has torchvision fetch and check the archive
(``cifar-10-python.tar.gz``, its URL and MD5), or extract it when it was copied there by hand. Offline,
or with ``MNAS_OFFLINE=1``, a missing archive is a `ConnectionError` that says where to put one. The
batches are pickles: they are read with an unpickler that builds nothing but dicts, lists, numbers,
strings and numpy arrays (a tampered file cannot run code). The images are written into a hidden folder
beside `folder`, renamed into place when complete: an interrupted export leaves no half dataset.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import shutil
import socket
from pathlib import Path

import numpy as np

from mnas.data.folders import DatasetError
from mnas.utils.paths import CIFAR10_DOWNLOAD_DIR, CIFAR10_FOLDER, cifar10_candidates

SPLITS = {"train": tuple(f"data_batch_{n}" for n in range(1, 6)), "test": ("test_batch",)}
ARCHIVE_NAME, BATCHES_DIR = "cifar-10-python.tar.gz", "cifar-10-batches-py"  # torchvision's names
META_FILE = "batches.meta"
IMAGES_PER_CLASS = {"train": 5000, "test": 1000}
DEFAULT_FOLDER = CIFAR10_FOLDER   # where `mnas.data.cifar10.cifar10_root` looks
DEFAULT_RAW_DIR = CIFAR10_DOWNLOAD_DIR
JPEG_QUALITY = 75
DOWNLOAD_TIMEOUT_S = 60  # per network operation: a silent network fails instead of hanging


class CifarBatchError(ValueError):
    """A batch file that is not CIFAR-10's (unreadable, of another shape, or carrying code)."""


class _DataOnly(pickle.Unpickler):
    """Builds dicts, lists, numbers, bytes, strings and numpy arrays; any other global is refused."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused {module}.{name}: a CIFAR-10 batch holds only data")
        return super().find_class(module, name)


def _load_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            payload = _DataOnly(io.BytesIO(handle.read()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise CifarBatchError(f"{str(path)!r} is not a readable CIFAR-10 batch ({error}): delete it and "
                              "place the official cifar-10-python.tar.gz again") from None
    if not isinstance(payload, dict):
        raise CifarBatchError(f"{str(path)!r} is not a CIFAR-10 batch: expected a dict, got "
                              f"{type(payload).__name__}")
    return {key.decode() if isinstance(key, bytes) else key: value for key, value in payload.items()}


def read_class_names(batches: Path) -> list[str]:
    meta = _load_batch(batches / META_FILE)
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get("label_names", [])]
    if len(names) != 10:
        raise CifarBatchError(f"{str(batches / META_FILE)!r}: expected the 10 CIFAR-10 class names, got "
                              f"{names}")
    return names


def read_split(batches: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split's images (uint8, N x 32 x 32 x 3, RGB) and labels (N), in the batches' order."""
    images, labels = [], []
    for name in SPLITS[split]:
        batch = _load_batch(batches / name)
        data, batch_labels = batch.get("data"), batch.get("labels")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 \
                or batch_labels is None or len(batch_labels) != len(data):
            raise CifarBatchError(f"{str(batches / name)!r} is not a CIFAR-10 batch: expected uint8 data of "
                                  "N x 3072 and N labels")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(batch_labels, dtype=np.int64))
    labels_all = np.concatenate(labels)
    if labels_all.size and (labels_all.min() < 0 or labels_all.max() > 9):
        raise CifarBatchError(f"{str(batches)!r}: labels must be 0 to 9")
    return np.concatenate(images), labels_all


def holds_cifar10(folder: str | os.PathLike) -> bool:
    """Whether `folder` holds the whole export: every class folder of both splits, full."""
    folder = Path(folder)
    try:
        for split, count in IMAGES_PER_CLASS.items():
            classes = [p for p in (folder / split).iterdir() if p.is_dir()]
            if len(classes) != 10 or any(sum(1 for _ in c.glob("*.jpg")) != count for c in classes):
                return False
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _network_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)  # torchvision's urlopen calls take no timeout of their own
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _offline_message(raw_dir: Path, why: str) -> str:
    from torchvision.datasets import CIFAR10

    return (f"CIFAR-10 is not on this machine and {why}: run this where there is internet, or copy "
            f"{ARCHIVE_NAME} ({CIFAR10.url}, 163 MB) into {raw_dir} and run it again (nothing is "
            "downloaded then), or point MNAS_CIFAR10 at a folder that already holds CIFAR-10 as "
            "train/<class>/ and test/<class>/")


def fetch_batches(raw_dir: str | os.PathLike, *, download: bool | None = None, url: str | None = None) -> Path:
    """The ``cifar-10-batches-py`` folder in `raw_dir`: already there, extracted from the archive there,
    or downloaded through torchvision (MD5 checked) when `download` allows (None: unless MNAS_OFFLINE=1).
    `url` replaces torchvision's (a mirror)."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity, download_and_extract_archive, extract_archive

    from mnas.weights.published import download_allowed

    raw_dir = Path(raw_dir).expanduser()
    batches = raw_dir / BATCHES_DIR
    if (batches / META_FILE).is_file():
        return batches
    archive = raw_dir / ARCHIVE_NAME
    if check_integrity(str(archive), CIFAR10.tgz_md5):
        extract_archive(str(archive), str(raw_dir))
        return batches
    if not download_allowed(download):
        raise ConnectionError(_offline_message(raw_dir, "downloads are off (MNAS_OFFLINE=1)"))
    try:
        with _network_timeout(DOWNLOAD_TIMEOUT_S):
            download_and_extract_archive(url or CIFAR10.url, str(raw_dir), filename=ARCHIVE_NAME,
                                         md5=CIFAR10.tgz_md5)
    except (OSError, RuntimeError) as error:  # URLError, timeouts, refused connections; a bad MD5
        reason = getattr(error, "reason", None) or error
        raise ConnectionError(_offline_message(raw_dir, f"the download failed ({reason})")) from None
    return batches


def export_cifar10(folder: str | os.PathLike = DEFAULT_FOLDER, *, raw_dir: str | os.PathLike | None = None,
                   download: bool | None = None, url: str | None = None,
                   log=lambda line: None) -> Path:
    """CIFAR-10 as JPEG class folders in `folder` (see the module doc); returns the folder.

    A folder that already holds the whole export is kept as it is; an empty folder is filled; a folder
    of other files is refused. Batches extracted here from an archive are deleted after the export (the
    archive is kept, so another export needs no download)."""
    from PIL import Image

    folder = Path(folder).expanduser().absolute()
    if holds_cifar10(folder):
        log(f"{folder} already holds CIFAR-10")
        return folder
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{str(folder)!r} is not an empty folder: CIFAR-10 is written into a new or empty "
                         "folder (train/<class>/, test/<class>/); choose another one")
    raw_dir = Path(raw_dir).expanduser() if raw_dir else DEFAULT_RAW_DIR
    extracted_here = not (raw_dir / BATCHES_DIR / META_FILE).is_file()
    batches = fetch_batches(raw_dir, download=download, url=url)
    classes = read_class_names(batches)
    staging = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for split in SPLITS:
            images, labels = read_split(batches, split)
            log(f"{split}: writing {len(images)} images")
            numbers = [0] * len(classes)
            for name in classes:
                (staging / split / name).mkdir(parents=True, exist_ok=True)
            for image, label in zip(images, labels):
                name = classes[label]
                Image.fromarray(image).save(staging / split / name / f"{numbers[label]:04d}.jpg",
                                            quality=JPEG_QUALITY)
                numbers[label] += 1
        if folder.exists():
            folder.rmdir()  # empty (checked above)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if extracted_here and (raw_dir / ARCHIVE_NAME).is_file():
        shutil.rmtree(batches, ignore_errors=True)
    return folder


def cifar10_root(download: bool = False, download_dir: str | os.PathLike | None = None) -> Path:
    """The CIFAR-10 folder dataset: $MNAS_CIFAR10, else ../shared/datasets/cifar10-jpg beside the repo,
    else what ``python -m mnas data cifar10`` wrote into ~/.cache/mnas/cifar10 (or `download_dir`).

    With `download=True` and none present, it is written there by `mnas.data.cifar10.export_cifar10`
    (downloaded through torchvision when online; a `ConnectionError` saying what to do otherwise).
    """
    from mnas.data.cifar10 import DEFAULT_FOLDER, export_cifar10

    target = Path(download_dir or DEFAULT_FOLDER)
    candidates = [path for path in cifar10_candidates() if path != DEFAULT_FOLDER] + [target]
    for candidate in candidates:
        if (candidate / "train").is_dir():
            return candidate
    if not download:
        raise DatasetError("CIFAR-10 not found (looked in: " + ", ".join(map(str, candidates)) +
                           "): set MNAS_CIFAR10 to a folder with train/<class>/ and test/<class>/, or "
                           "get it with 'python -m mnas data cifar10' (a torchvision download)")
    return export_cifar10(target, download=True)  # asked for: even with MNAS_OFFLINE=1
