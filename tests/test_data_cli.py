"""``python -m mnas data cifar10``: the official Python batches -> the JPEG class folders the project
reads, and a clear error where nothing can be downloaded. Nothing is downloaded here: the batches are
small ones written in the official format (pickled dicts of a uint8 N x 3072 array and labels), read by
the real conversion; the download path is met offline (MNAS_OFFLINE=1) and against a closed local port.
"""

from __future__ import annotations

import pickle
import socket

import numpy as np
import pytest
from PIL import Image

from mnas.__main__ import main as mnas_main
from mnas.data.cifar10 import CifarBatchError, export_cifar10
from mnas.data.folders import find_dataset_splits
from mnas.data.splits import load_folder_dataset

TRAIN_PER_BATCH = 10  # one image per class in each of the five training batches


CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _images(count: int, seed: int) -> np.ndarray:
    """Smooth colour gradients with an offset per image: what JPEG keeps well, each one different."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32]
    images = []
    for _ in range(count):
        base = rng.uniform(30, 200, size=3)
        slope = rng.uniform(-2.5, 2.5, size=(3, 2))
        channels = [np.clip(base[c] + slope[c, 0] * x + slope[c, 1] * y, 0, 255) for c in range(3)]
        images.append(np.stack(channels).astype(np.uint8))  # C x H x W, as in the batches
    return np.stack(images)


def write_batches(raw_dir, label_order=tuple(range(10))):
    """cifar-10-batches-py as the official archive holds it: data_batch_1..5, test_batch, batches.meta
    (protocol-2 pickles with bytes keys, as Python 2 wrote them). Returns {split: (images, labels)}."""
    batches = raw_dir / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    written = {"train": ([], []), "test": ([], [])}
    for number, name in enumerate([f"data_batch_{n}" for n in range(1, 6)] + ["test_batch"]):
        images = _images(TRAIN_PER_BATCH, seed=number)
        labels = [label_order[(i + number) % 10] for i in range(TRAIN_PER_BATCH)]
        payload = {b"batch_label": name.encode(), b"labels": labels, b"data": images.reshape(len(images), -1),
                   b"filenames": [f"{name}_{i}.png".encode() for i in range(len(images))]}
        (batches / name).write_bytes(pickle.dumps(payload, protocol=2))
        split = "test" if name == "test_batch" else "train"
        written[split][0].append(images.transpose(0, 2, 3, 1))
        written[split][1].extend(labels)
    meta = {b"num_cases_per_batch": TRAIN_PER_BATCH, b"label_names": [n.encode() for n in CIFAR10_CLASSES],
            b"num_vis": 3072}
    (batches / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {split: (np.concatenate(images), np.array(labels)) for split, (images, labels) in written.items()}


def test_the_batches_become_the_projects_jpeg_folders(tmp_path, capsys, cifar10_root):
    raw, out = tmp_path / "raw", tmp_path / "cifar10"
    written = write_batches(raw)
    assert mnas_main(["data", "cifar10", str(out), "--raw-dir", str(raw)]) == 0
    printed = capsys.readouterr().out
    assert f"CIFAR-10 in {out}: train/ (50 images) and test/ (10)" in printed
    assert "export MNAS_CIFAR10=" in printed  # not the default folder: how the lessons find it

    splits = find_dataset_splits(out)  # the layout train, search and the lessons read
    assert splits.class_names == sorted(CIFAR10_CLASSES) and splits.val_dir == out / "test"
    for split, (images, labels) in written.items():
        for label, name in enumerate(CIFAR10_CLASSES):  # NNNN.jpg in the batches' order, per class
            expected = images[labels == label]
            files = sorted((out / split / name).iterdir())
            assert [f.name for f in files] == [f"{n:04d}.jpg" for n in range(len(expected))]
            for file, image in zip(files, expected):
                decoded = np.asarray(Image.open(file).convert("RGB"), dtype=np.float64)
                assert np.abs(decoded - image).mean() < 4, (file, np.abs(decoded - image).mean())
    # encoded as ../shared/datasets/cifar10-jpg is: same size, mode, quantisation and chroma subsampling
    ours = Image.open(out / "train" / "cat" / "0000.jpg")
    shared = Image.open(next((cifar10_root / "train" / "cat").iterdir()))
    assert (ours.size, ours.mode, ours.format) == (shared.size, shared.mode, shared.format)
    assert ours.quantization == shared.quantization
    from PIL import JpegImagePlugin

    assert JpegImagePlugin.get_sampling(ours) == JpegImagePlugin.get_sampling(shared)

    train, val, _ = load_folder_dataset(out)
    assert len(train) == 50 and len(val) == 10 and train.image_size == (32, 32)
    assert (raw / "cifar-10-batches-py").is_dir()  # batches given by hand (no archive) stay where they are
    assert not list(tmp_path.glob(".*partial"))


def test_offline_the_command_says_what_to_do_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MNAS_OFFLINE", "1")
    out = tmp_path / "cifar10"
    assert mnas_main(["data", "cifar10", str(out), "--raw-dir", str(tmp_path / "raw")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: CIFAR-10 is not on this machine and downloads are off (MNAS_OFFLINE=1)")
    assert f"copy cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, 163 MB) " \
           f"into {tmp_path / 'raw'}" in error and "MNAS_CIFAR10" in error and "Traceback" not in error
    assert not out.exists()


def test_a_failed_download_is_a_clear_connection_error(tmp_path):
    with socket.socket() as closed:  # a port nobody listens on: the connection is refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(ConnectionError, match=r"CIFAR-10 is not on this machine and the download failed "
                                              r"\(.*refused.*\): run this where there is internet"):
        export_cifar10(tmp_path / "cifar10", raw_dir=tmp_path / "raw", download=True,
                       url=f"http://127.0.0.1:{port}/cifar-10-python.tar.gz")
    assert not (tmp_path / "cifar10").exists()


def test_a_batch_carrying_code_is_refused_and_never_run(tmp_path):
    raw = tmp_path / "raw"
    write_batches(raw)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    (raw / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps({b"data": Payload()}, protocol=2))
    with pytest.raises(CifarBatchError, match=r"data_batch_3' is not a readable CIFAR-10 batch \(refused "
                                              r"(posix|os|nt)\.system: a CIFAR-10 batch holds only data\)"):
        export_cifar10(tmp_path / "cifar10", raw_dir=raw)
    assert not marker.exists() and not (tmp_path / "cifar10").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_a_folder_of_other_files_is_refused(tmp_path, capsys):
    raw, out = tmp_path / "raw", tmp_path / "mine"
    write_batches(raw)
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert mnas_main(["data", "cifar10", str(out), "--raw-dir", str(raw)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
