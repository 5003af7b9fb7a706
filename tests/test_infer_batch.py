"""``python -m mnas infer`` on folders: batched results equal one-at-a-time ones; CSV / JSON outputs."""

from __future__ import annotations

import csv
import json
import os

import cv2
import numpy as np
import pytest
from skimage import data

from mnas.__main__ import main
from mnas.infer.classifier import Classifier
from mnas.infer.files import classify_files, image_files
from mnas.models import create_model
from mnas.preprocess import read_image
from mnas.weights.model_file import save_model_file
from weights_helpers import randomize_

CLASSES = ["ant", "bee", "cow", "dog"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    model = randomize_(create_model("mnasnet_small", num_classes=4, input_size=32), seed=7)
    path = tmp_path_factory.mktemp("model") / "small.pt"
    return save_model_file(path, model, class_names=CLASSES, input_size=32)


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory, cifar10_root):
    """A folder of real images of mixed sizes: 18 CIFAR-10 test JPEGs (links) in two sub-folders, two
    photos, and a file that is not an image."""
    folder = tmp_path_factory.mktemp("images")
    for n, class_dir in enumerate(sorted(p for p in (cifar10_root / "test").iterdir() if p.is_dir())[:2]):
        (folder / class_dir.name).mkdir()
        for source in sorted(class_dir.glob("*.jpg"))[:9]:
            os.symlink(source, folder / class_dir.name / source.name)
    cv2.imwrite(str(folder / "chelsea.png"), cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "coffee.jpg"), cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR))
    (folder / "broken.jpg").write_text("not an image")
    return folder


def test_folders_are_searched_recursively_and_bad_inputs_are_clear_errors(image_folder, tmp_path):
    files = image_files([image_folder])
    assert len(files) == 21 and files == sorted(files)
    assert image_files([files[3], image_folder / "coffee.jpg"]) == [files[3], image_folder / "coffee.jpg"]
    with pytest.raises(ValueError, match="does not exist: expected image files or folders"):
        image_files([tmp_path / "absent"])
    with pytest.raises(ValueError, match="holds no image files"):
        image_files([tmp_path])


@pytest.mark.slow
def test_batched_results_equal_one_image_at_a_time(model_file, image_folder):
    classifier = Classifier.load(weight_file=model_file, device="cpu")
    assert classifier.backend.name == "onnxruntime", classifier.backend_reason
    files = image_files([image_folder])
    batched = list(classify_files(classifier, files, batch_size=8, top_k=4, decode_threads=2))
    one_by_one = list(classify_files(classifier, files, batch_size=1, top_k=4))
    assert [p.path for p in batched] == [str(f) for f in files] == [p.path for p in one_by_one]
    broken = [p for p in batched if p.error]
    assert [p.path for p in broken] == [str(image_folder / "broken.jpg")] and not broken[0].top_k
    assert "cannot be read" in broken[0].error
    for a, b, path in zip(batched, one_by_one, files):
        assert [name for name, _ in a.top_k] == [name for name, _ in b.top_k], path
        np.testing.assert_allclose([p for _, p in a.top_k], [p for _, p in b.top_k], atol=1e-5, rtol=0)
        if not a.error:  # and both equal Classifier.predict on the decoded image
            expected = classifier.predict(read_image(path))[0]
            assert [name for name, _ in a.top_k] == [name for name, _ in classifier.top_k(expected, 4)]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_and_json_hold_one_row_per_image_with_its_top_k(model_file, image_folder, tmp_path, capsys):
    classifier = Classifier.load(weight_file=model_file, device="cpu")
    files = image_files([image_folder])
    out_csv, out_json = tmp_path / "results.csv", tmp_path / "results.json"
    args = ["infer", str(image_folder), "--weights", str(model_file), "--top-k", "3", "--batch-size", "5"]
    assert main(args + ["--output", str(out_csv)]) == 1  # 1: one file was not an image
    captured = capsys.readouterr()
    assert "21 images in" in captured.out and "images/s" in captured.out
    assert "broken.jpg: error:" in captured.err
    rows = read_csv(out_csv)
    assert [row["path"] for row in rows] == [str(f) for f in files]
    assert list(rows[0]) == ["path", "top1_class", "top1_probability", "top2_class", "top2_probability",
                             "top3_class", "top3_probability", "error"]
    for row, path in zip(rows, files):
        if path.name == "broken.jpg":
            assert row["error"] and not row["top1_class"]
            continue
        expected = classifier.top_k(classifier.predict(read_image(path))[0], 3)
        assert [row[f"top{n}_class"] for n in (1, 2, 3)] == [name for name, _ in expected]
        np.testing.assert_allclose([float(row[f"top{n}_probability"]) for n in (1, 2, 3)],
                                   [p for _, p in expected], atol=1e-5)
        assert row["error"] == ""

    assert main(args + ["--output", str(out_json), "--batch-size", "1"]) == 1
    document = json.loads(out_json.read_text())
    assert "4 classes, 32 px" in document["model"]
    assert [item["path"] for item in document["images"]] == [row["path"] for row in rows]
    for item, row in zip(document["images"], rows):
        assert [entry["class"] for entry in item["top_k"]] == [row[f"top{n}_class"] for n in (1, 2, 3)
                                                               if row[f"top{n}_class"]]
        assert bool(item["error"]) == bool(row["error"])


@pytest.mark.parametrize("extra, message", [
    (["--output", "results.txt"], "--output 'results.txt': expected a file name ending in .csv or .json"),
    (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
    (["--top-k", "0"], "--top-k must be >= 1, got 0"),
])
def test_bad_batch_arguments_are_clear_errors(model_file, image_folder, extra, message, capsys):
    assert main(["infer", str(image_folder), "--weights", str(model_file), *extra]) == 2
    assert message in capsys.readouterr().err
