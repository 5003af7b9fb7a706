"""mnas.data.folders: folder datasets decoded once into memory, checks before training, splits, caching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import mnas.data.cifar10 as mnas_data
from mnas.data.decode import load_split
from mnas.data.folders import DatasetError, find_dataset_splits
from mnas.data.splits import link_subset, load_folder_dataset, stratified_split

CLASSES = ["cat", "dog", "frog"]


def _write_images(folder, count, value, size=(12, 10), mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        array = np.full((size[1], size[0], 3), value + n, dtype=np.uint8)
        Image.fromarray(array).convert(mode).save(folder / f"{n:03d}.png")


def _make_dataset(root, classes=CLASSES, per_class=4, splits=("train", "val"), **kwargs):
    for split in splits:
        for c, name in enumerate(classes):
            _write_images(root / split / name, per_class, 40 * c, **kwargs)
    return root


def test_cifar_subset_loads_in_sorted_class_order(cifar10_root, tmp_path):
    train, val, splits = load_folder_dataset(cifar10_root, limit_per_class=5, val_limit_per_class=2,
                                             cache_dir=tmp_path)
    assert splits.val_dir.name == "test"  # CIFAR-10 has train/ and test/, no val/
    assert train.class_names == sorted(train.class_names) == list(cifar10_root_classes(cifar10_root))
    assert train.images.shape == (50, 32, 32, 3) and train.images.dtype == torch.uint8
    assert val.images.shape == (20, 32, 32, 3)
    assert train.class_counts() == [5] * 10 and val.class_counts() == [2] * 10
    # the first airplane decoded by PIL equals the in-memory one (RGB, not BGR, no resizing)
    first = np.asarray(Image.open(cifar10_root / "train" / "airplane" / "0000.jpg").convert("RGB"))
    assert np.abs(train.images[0].numpy().astype(int) - first.astype(int)).max() <= 2


def cifar10_root_classes(root):
    return sorted(p.name for p in (root / "train").iterdir() if p.is_dir())


def test_cifar10_root_finds_the_shared_copy(cifar10_root, monkeypatch):
    monkeypatch.delenv("MNAS_CIFAR10", raising=False)
    assert mnas_data.cifar10_root().resolve() == cifar10_root.resolve()
    monkeypatch.setenv("MNAS_CIFAR10", str(cifar10_root))
    assert mnas_data.cifar10_root() == cifar10_root


def test_decoded_cache_is_reused_and_keyed_by_content(tmp_path):
    root = _make_dataset(tmp_path / "data")
    cache = tmp_path / "cache"
    first = load_split(root / "train", cache_dir=cache)
    assert len(list(cache.glob("*.pt"))) == 1
    again = load_split(root / "train", cache_dir=cache)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    _write_images(root / "train" / "dog", 1, 250, size=(12, 10))  # overwrites dog/000.png
    changed = load_split(root / "train", cache_dir=cache)
    assert len(list(cache.glob("*.pt"))) == 2
    assert not torch.equal(changed.images, first.images)


def test_image_size_resizes_and_mixed_sizes_need_it(tmp_path):
    root = _make_dataset(tmp_path / "data")
    _write_images(root / "train" / "cat", 1, 0, size=(20, 30))  # one image of another size
    with pytest.raises(DatasetError, match="different sizes.*image_size"):
        load_split(root / "train", use_cache=False)
    resized = load_split(root / "train", image_size=8, use_cache=False)
    assert resized.images.shape == (12, 8, 8, 3)


def test_grey_rgba_and_16_bit_images_become_rgb(tmp_path):
    folder = tmp_path / "data" / "train"
    _write_images(folder / "grey", 2, 10, mode="L")
    _write_images(folder / "rgba", 2, 10, mode="RGBA")
    (folder / "deep").mkdir()
    for n in range(2):
        Image.fromarray(np.full((10, 12), 40000 + n, dtype=np.uint16)).save(folder / "deep" / f"{n}.png")
    data = load_split(folder, use_cache=False)
    assert data.images.shape == (6, 10, 12, 3) and data.class_names == ["deep", "grey", "rgba"]
    grey = data.images[data.labels == 1][0]
    assert torch.equal(grey[..., 0], grey[..., 1])
    deep = data.images[data.labels == 0][0]
    assert abs(int(deep[0, 0, 0]) - round(40000 * 255 / 65535)) <= 1


def test_unreadable_files_are_skipped_and_counted(tmp_path, caplog):
    root = _make_dataset(tmp_path / "data")
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    (root / "train" / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with caplog.at_level("WARNING"):
        train, val, _ = load_folder_dataset(root, use_cache=False)
    assert len(train) == 12 and len(train.skipped) == 2
    assert "skipped 2 file(s)" in caplog.text


def test_a_class_with_no_readable_image_is_an_error(tmp_path):
    root = _make_dataset(tmp_path / "data")
    for path in (root / "train" / "frog").iterdir():
        path.write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="no readable image.*'frog'"):
        load_folder_dataset(root, use_cache=False)


@pytest.mark.parametrize("breakage, message", [
    ("missing", "does not exist"),
    ("no_train", "no train/ subfolder"),
    ("no_classes", "no class folders"),
    ("one_class", "one class folder"),
    ("empty_class", "'dog'.*hold no files"),
    ("class_mismatch", "different classes.*only in train: \\['frog'\\]"),
])
def test_bad_dataset_folders_are_refused_before_decoding(tmp_path, breakage, message):
    root = tmp_path / "data"
    if breakage == "no_train":
        _make_dataset(root, splits=("val",))
    elif breakage == "no_classes":
        (root / "train").mkdir(parents=True)
    elif breakage == "one_class":
        _make_dataset(root, classes=["cat"])
    elif breakage == "empty_class":
        _make_dataset(root)
        for path in (root / "train" / "dog").iterdir():
            path.unlink()
    elif breakage == "class_mismatch":
        _make_dataset(root, splits=("train",))
        _make_dataset(root, classes=["cat", "dog"], splits=("val",))
    with pytest.raises(DatasetError, match=message):
        find_dataset_splits(root)


def test_validation_split_is_carved_when_there_is_no_val(tmp_path):
    root = _make_dataset(tmp_path / "data", per_class=10, splits=("train",))
    train, val, splits = load_folder_dataset(root, val_fraction=0.2, seed=3, use_cache=False)
    assert splits.val_dir is None
    assert val.class_counts() == [2, 2, 2] and train.class_counts() == [8, 8, 8]
    again_train, again_val, _ = load_folder_dataset(root, val_fraction=0.2, seed=3, use_cache=False)
    assert torch.equal(val.images, again_val.images)
    # disjoint: every image is in exactly one of the two splits (pixel values are unique per image)
    keys = {int(img[0, 0, 0]) for img in train.images} | {int(img[0, 0, 0]) for img in val.images}
    assert len(keys) == 30


def test_stratified_split_counts_and_limits(cifar10_root, tmp_path):
    data = load_split(cifar10_root / "train", classes=["cat", "dog"], limit_per_class=6,
                      cache_dir=tmp_path)
    train, val = stratified_split(data, counts=[1, 3], seed=0)
    assert val.class_counts() == [1, 3] and train.class_counts() == [5, 3]
    with pytest.raises(DatasetError, match="too few"):
        stratified_split(data, counts=[6, 1])
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_split(data, 1.5)


def test_link_subset_takes_counts_from_offsets_and_reruns_cleanly(cifar10_root, tmp_path):
    per_split = {"train": ("train", 0, 5), "val": ("train", 5, 3)}
    root = link_subset(cifar10_root, tmp_path / "subset", per_split, ("cat", "ship"))
    source = sorted((cifar10_root / "train" / "cat").iterdir())
    assert sorted(p.name for p in (root / "train" / "cat").iterdir()) == [p.name for p in source[:5]]
    assert sorted(p.name for p in (root / "val" / "cat").iterdir()) == [p.name for p in source[5:8]]
    assert sorted(p.name for p in (root / "train").iterdir()) == ["cat", "ship"]
    assert all(p.is_symlink() for p in (root / "val" / "ship").iterdir())
    link_subset(cifar10_root, root, per_split, ("cat", "ship"))  # again: the same links, no error
    assert len(list((root / "train" / "ship").iterdir())) == 5
    with pytest.raises(DatasetError, match="fewer than 5001 files"):
        link_subset(cifar10_root, tmp_path / "too_far", {"train": ("train", 5000, 1)}, ("cat",))
