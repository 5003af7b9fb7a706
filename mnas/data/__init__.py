"""Data: folder datasets (layout, decoding, splits), streaming of large sets, CIFAR-10.

Modules:

- `mnas.data.folders`: the layouts a dataset folder may have, its classes, `ImageDataset`
- `mnas.data.decode`: a split folder decoded into one uint8 tensor, cached on disk
- `mnas.data.splits`: stratified train / validation splits, a whole dataset in one call
- `mnas.data.stream`: sets too large for memory: files listed, decoded per batch in worker threads
- `mnas.data.cifar10`: CIFAR-10 as JPEG folders: found on this machine or exported from torchvision's download
- `mnas.data.cli`: ``mnas data cifar10``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.data import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "DatasetError": "mnas.data.folders",
    "DatasetSplits": "mnas.data.folders", "FLAT": "mnas.data.folders", "IMAGE_CHANNELS": "mnas.data.folders",
    "ImageDataset": "mnas.data.folders", "LAYOUTS_EXPECTED": "mnas.data.folders",
    "LabelledImages": "mnas.data.folders", "SPLIT_FOLDERS": "mnas.data.folders",
    "VAL_SPLIT_NAMES": "mnas.data.folders", "check_class_folders": "mnas.data.folders",
    "check_class_names": "mnas.data.folders", "files_by_class": "mnas.data.folders",
    "find_dataset_splits": "mnas.data.folders",
    "CACHE_FORMAT": "mnas.data.decode", "dataset_fingerprint": "mnas.data.decode", "load_split": "mnas.data.decode",
    "resize_uint8": "mnas.data.decode", "split_files": "mnas.data.decode",
    "DEFAULT_VAL_FRACTION": "mnas.data.splits", "link_subset": "mnas.data.splits",
    "load_folder_dataset": "mnas.data.splits", "stratified_indices": "mnas.data.splits",
    "stratified_split": "mnas.data.splits",
    "BUDGET_SHARE": "mnas.data.stream", "FileDataset": "mnas.data.stream", "FileImages": "mnas.data.stream",
    "MAX_AUTO_WORKERS": "mnas.data.stream", "decode_file": "mnas.data.stream", "decoded_batches": "mnas.data.stream",
    "decoded_bytes": "mnas.data.stream", "default_workers": "mnas.data.stream",
    "list_folder_dataset": "mnas.data.stream", "list_split": "mnas.data.stream",
    "memory_budget_bytes": "mnas.data.stream",
    "ARCHIVE_NAME": "mnas.data.cifar10", "BATCHES_DIR": "mnas.data.cifar10", "CifarBatchError": "mnas.data.cifar10",
    "DEFAULT_FOLDER": "mnas.data.cifar10", "DEFAULT_RAW_DIR": "mnas.data.cifar10",
    "DOWNLOAD_TIMEOUT_S": "mnas.data.cifar10", "IMAGES_PER_CLASS": "mnas.data.cifar10",
    "JPEG_QUALITY": "mnas.data.cifar10", "META_FILE": "mnas.data.cifar10", "SPLITS": "mnas.data.cifar10",
    "cifar10_root": "mnas.data.cifar10", "export_cifar10": "mnas.data.cifar10", "fetch_batches": "mnas.data.cifar10",
    "holds_cifar10": "mnas.data.cifar10", "read_class_names": "mnas.data.cifar10", "read_split": "mnas.data.cifar10",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
