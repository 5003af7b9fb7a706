"""mnas.evaluation.report and ``python -m mnas evaluate``: reports on real CIFAR-10 images from a model trained in
the test, every figure checked against an independent computation (scikit-learn, scipy) from the
predictions the report lists."""

from __future__ import annotations

import csv
import json
import re

import matplotlib.image
import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn import metrics

from helpers import TINY_ARCH
from mnas.__main__ import main as mnas_main
from mnas.data.splits import link_subset
from mnas.evaluation.report import REPORT_FILES, build_report, wilson_interval
from mnas.train.config import TrainConfig
from mnas.train.job import TrainJob, run_training_job

CLASSES = ["airplane", "cat", "ship"]
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(cifar10_root, tmp_path_factory):
    """A tiny model trained (2 epochs) on 3 CIFAR-10 classes with train/, val/ and test/ folders."""
    root = link_subset(cifar10_root, tmp_path_factory.mktemp("cifar3"),
                       {"train": ("train", 0, 40), "val": ("train", 40, 10), "test": ("test", 0, 15)}, CLASSES)
    output = tmp_path_factory.mktemp("run")
    job = TrainJob(data=str(root), model=TINY_ARCH, output_folder=str(output),
                   config=TrainConfig(epochs=2, batch_size=32, learning_rate=0.05, input_size=32))
    return root, output, run_training_job(job)


def read_predictions(path):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    k = sum(1 for key in rows[0] if key.startswith("top") and key[3:].isdigit())
    return rows, k


def check_against_sklearn(report, rows, k, class_names):
    """Every figure of `report` recomputed from predictions.csv's rows by scikit-learn and scipy."""
    truth = [row["true"] for row in rows]
    guess = [row["top1"] for row in rows]
    n = len(rows)
    assert report["images"] == n
    assert report["top1"]["accuracy"] == pytest.approx(metrics.accuracy_score(truth, guess))
    hits_k = sum(row["true"] in [row[f"top{i + 1}"] for i in range(k)] for row in rows)
    assert report["topk"]["k"] == k and report["topk"]["correct"] == hits_k
    for key, hits in (("top1", sum(t == g for t, g in zip(truth, guess))), ("topk", hits_k)):
        interval = binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert (report[key]["low"], report[key]["high"]) == pytest.approx((interval.low, interval.high))
    judged = sorted(set(truth), key=class_names.index)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        truth, guess, labels=judged, zero_division=0)
    rows_by_class = {row["class"]: row for row in report["per_class"]}
    for i, name in enumerate(judged):
        row = rows_by_class[name]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx((precision[i], recall[i], f1[i]))
        assert row["images"] == support[i]
    for kind, average in (("macro_average", "macro"), ("weighted_average", "weighted")):
        expected = metrics.precision_recall_fscore_support(truth, guess, labels=judged, average=average,
                                                           zero_division=0)[:3]
        ours = report[kind]
        assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx(expected)
    shown = report["confusion_matrix"]["classes"]
    assert report["confusion_matrix"]["counts"] == metrics.confusion_matrix(truth, guess, labels=shown).tolist()


@pytest.mark.slow
def test_the_training_reports_its_model_on_test_beside_val(trained):
    root, output, outcome = trained
    report = outcome.evaluation
    assert {p.name for p in (output / "evaluation").iterdir()} == set(REPORT_FILES)
    # test/ beside val/: the images training neither trained nor chose its epoch on
    assert report["data"]["split"] == "test/" and report["images"] == 45
    assert json.loads((output / "split.json").read_text())["evaluation"] == "test/"
    assert report["model"]["epoch"] == outcome.result.best_epoch
    rows, k = read_predictions(output / "evaluation" / "predictions.csv")
    assert {tuple(row["file"].split("/")[:2]) for row in rows} == {("test", c) for c in CLASSES}  # dataset-relative
    check_against_sklearn(report, rows, k, CLASSES)


def test_evaluate_cli_reports_a_model_file_and_agrees_with_sklearn(trained, tmp_path, capsys):
    root, output, outcome = trained
    out = tmp_path / "report"
    assert mnas_main(["evaluate", str(output / "model.pth"), str(root / "test"), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "on 45 images of 3 classes" in printed and "Wilson" in printed and "macro average" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == 45 and report["interval"] == {"method": "Wilson score", "level": 0.95}
    rows, k = read_predictions(out / "predictions.csv")
    check_against_sklearn(report, rows, k, CLASSES)
    # the same model on the same images as at the end of the training: the same predictions
    assert report["predictions"]["topk"] == outcome.evaluation["predictions"]["topk"]
    # the confusion matrix picture: a real PNG
    assert (out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    picture = matplotlib.image.imread(str(out / "confusion_matrix.png"))
    assert picture.ndim == 3 and min(picture.shape[:2]) > 300 and picture.std() > 0.05
    with open(out / "confusion_matrix.csv", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][1:] == CLASSES and [list(map(int, r[1:])) for r in table[1:]] == \
        report["confusion_matrix"]["counts"]
    # the validation folder gives the trainer's own validation top-1 of the kept epoch
    assert mnas_main(["evaluate", str(output / "model.pth"), str(root / "val"), "--output", str(tmp_path / "v")]) == 0
    val_report = json.loads((tmp_path / "v" / "report.json").read_text())
    assert val_report["top1"]["accuracy"] == pytest.approx(outcome.result.final.top1)


def test_evaluate_cli_takes_a_subset_of_the_classes(trained, tmp_path):
    root, output, _ = trained
    subset = link_subset(root, tmp_path / "two", {"x": ("test", 0, 6)}, ["cat", "ship"]) / "x"
    assert mnas_main(["evaluate", str(output / "model.pth"), str(subset), "--output", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["images"] == 12 and report["classes_with_images"] == 2
    assert report["macro_average"]["classes"] == 2
    rows, k = read_predictions(tmp_path / "r" / "predictions.csv")
    check_against_sklearn(report, rows, k, CLASSES)


@pytest.mark.parametrize("case, message", [
    ("unknown class", "class folder\\(s\\) 'dog' are not classes of the model"),
    ("dataset root", "holds the splits train/, val/, test/: give one split"),
    ("missing folder", "does not exist"),
    ("not a model", "model file .* is not a readable PyTorch checkpoint"),
    ("bad batch", "--batch-size must be an integer >= 1"),
])
def test_evaluate_cli_refuses_bad_inputs_before_any_work(trained, tmp_path, capsys, case, message):
    root, output, _ = trained
    model, folder, extra = str(output / "model.pth"), str(root / "test"), []
    if case == "unknown class":
        folder = str(link_subset(root, tmp_path / "d", {"x": ("test", 0, 2)}, ["cat"]) / "x")
        (tmp_path / "d" / "x" / "dog").mkdir()
    elif case == "dataset root":
        folder = str(root)
    elif case == "missing folder":
        folder = str(tmp_path / "nowhere")
    elif case == "not a model":
        model = str(output / "classes.txt")
    else:
        extra = ["--batch-size", "0"]
    out = tmp_path / "out"
    assert mnas_main(["evaluate", model, folder, "--output", str(out), *extra]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


def test_report_of_hand_made_predictions_matches_sklearn_with_undefined_ratios():
    names = ["a", "b", "c", "d"]
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 0])
    top1 = np.array([0, 1, 0, 1, 0, 0, 0, 2, 1, 0])          # d is never a label and never predicted
    topk = np.stack([top1, (top1 + 1) % 4, (top1 + 2) % 4], axis=1)
    report = build_report(topk, labels, names)
    rows = [{"true": names[t], **{f"top{i + 1}": names[c] for i, c in enumerate(p)}} for t, p in zip(labels, topk)]
    check_against_sklearn(report, rows, 3, names)
    assert [row["class"] for row in report["per_class"]] == ["a", "b", "c"]
    # a class predicted but absent from the images: its recall is undefined, counted 0, and it has a row
    report = build_report(np.array([[3], [0], [1]]), np.array([0, 0, 1]), names)
    row = {r["class"]: r for r in report["per_class"]}["d"]
    assert (row["images"], row["predicted"], row["recall"], row["precision"], row["f1"]) == (0, 1, 0.0, 0.0, 0.0)
    assert report["macro_average"]["classes"] == 2  # averaged over the classes that have images
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(binomtest(20, 20).proportion_ci(method="wilson").low)
