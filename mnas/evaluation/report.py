"""Evaluation reports: what a classifier gets right and wrong on labelled images, with its uncertainty.

Written at the end of every training (`mnas.train.job`: ``<output>/evaluation/``, on test/ when the
dataset has one beside val/, else on the validation images) and by ``python -m mnas evaluate <model file>
<folder>`` (`mnas.evaluation.cli`). From each image's top-k predictions (`mnas.train.engine.evaluate` with
``keep_predictions``: the same pre-processing as the training's validation) `build_report` gives

- top-1 and top-k accuracy (k = min(5, classes)) with 95 % **Wilson score** intervals (`wilson_interval`:
  the binomial proportion's interval that stays inside [0, 1] and keeps its coverage for small counts
  and accuracies near 0 or 1, where the normal approximation does not);
- per class: images, times predicted, precision, recall (with its Wilson interval), F1; their macro
  average over the classes that have images and the average weighted by images. An undefined ratio (the
  precision of a class never predicted, the recall of a class without images) counts 0, as scikit-learn's
  ``zero_division=0`` does;
- the confusion matrix (rows: true class, columns: predicted class), over the classes that have images
  or were predicted.

Every figure says how many images it rests on. `write_report` writes, each file atomically:
``report.json`` (all of it), ``metrics.csv`` (one row per figure: metric, class, value, low, high, images),
``confusion_matrix.csv``, ``confusion_matrix.png`` (matplotlib; cells coloured by the row's share, counts
written in when there are at most `ANNOTATE_MAX` classes) and ``predictions.csv`` (each image's file, true
class and top-k), from which every figure can be recomputed independently. CSV cells that a spreadsheet
would run as a formula get a leading ' (`mnas.infer.files.spreadsheet_text`). No Ikomia import here.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from mnas.utils.fileio import atomic_path, atomic_write_text

REPORT_FORMAT = "mnas-evaluation/1"
LEVEL = 0.95
Z_95 = 1.959963984540054  # the standard normal's 97.5 % quantile
INTERVAL_METHOD = "Wilson score"
ANNOTATE_MAX = 30  # confusion matrix cells show their count up to this many classes
TICKS_MAX = 60     # and the axes name the classes up to this many
REPORT_FILES = ("report.json", "metrics.csv", "confusion_matrix.csv", "confusion_matrix.png", "predictions.csv")
ZERO_DIVISION = ("an undefined ratio counts 0 (the precision of a class never predicted, the recall of a class "
                 "without images, and then their F1), as scikit-learn's zero_division=0")


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion `successes` / `trials` (95 % with the default
    `z`); (0, 1) when there is no trial."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def _accuracy(correct: int, images: int, **extra) -> dict:
    low, high = wilson_interval(correct, images)
    return {**extra, "accuracy": _ratio(correct, images), "low": low, "high": high, "correct": int(correct),
            "images": int(images)}


def build_report(topk: Sequence, labels: Sequence, class_names: Sequence[str], *, files: Sequence[str] = (),
                 data: dict | None = None, model: dict | None = None) -> dict:
    """The report (a JSON-able dict, see the module docstring) of predictions `topk` (N x k class indices,
    the most probable first) against the true `labels` (N), indices into `class_names`.

    `data` (where the images come from: folder, split, a note) and `model` (file, arch, epoch) are copied
    into the report as they are; `files` (one per image) go into predictions.csv."""
    topk = np.asarray(topk, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    names = list(class_names)
    if topk.ndim != 2 or len(topk) != len(labels) or len(labels) == 0:
        raise ValueError(f"expected N x k predictions for N >= 1 labels, got {topk.shape} and {labels.shape}")
    if files and len(files) != len(labels):
        raise ValueError(f"files must name each of the {len(labels)} images, got {len(files)}")
    n, k = topk.shape
    predicted = topk[:, 0]
    confusion = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    support, times_predicted, correct = confusion.sum(axis=1), confusion.sum(axis=0), np.diag(confusion)
    per_class = []
    for c, name in enumerate(names):
        if not support[c] and not times_predicted[c]:
            continue  # neither in the images nor predicted: nothing to say about it
        precision, recall = _ratio(correct[c], times_predicted[c]), _ratio(correct[c], support[c])
        low, high = wilson_interval(int(correct[c]), int(support[c]))
        per_class.append({"class": name, "index": c, "images": int(support[c]), "predicted": int(times_predicted[c]),
                          "correct": int(correct[c]), "precision": precision, "recall": recall, "recall_low": low,
                          "recall_high": high, "f1": _ratio(2 * precision * recall, precision + recall)})
    judged = [row for row in per_class if row["images"]]
    averages = {}
    for kind, weights in (("macro_average", [1.0] * len(judged)), ("weighted_average", [r["images"] for r in judged])):
        total = float(sum(weights))
        averages[kind] = {metric: sum(w * r[metric] for w, r in zip(weights, judged)) / total
                          for metric in ("precision", "recall", "f1")}
        averages[kind]["classes"] = len(judged)
        averages[kind]["images"] = int(sum(r["images"] for r in judged))
    shown = [row["index"] for row in per_class]
    top1_correct = int((predicted == labels).sum())
    topk_correct = int((topk == labels[:, None]).any(axis=1).sum())
    return {
        "format": REPORT_FORMAT,
        "model": dict(model or {}),
        "data": dict(data or {}),
        "images": int(n),
        "class_names": names,
        "classes_with_images": len(judged),
        "interval": {"method": INTERVAL_METHOD, "level": LEVEL},
        "zero_division": ZERO_DIVISION,
        "top1": _accuracy(top1_correct, n),
        "topk": _accuracy(topk_correct, n, k=int(k)),
        "per_class": per_class,
        **averages,
        "confusion_matrix": {"rows": "true class", "columns": "predicted class",
                             "classes": [names[c] for c in shown],
                             "counts": confusion[np.ix_(shown, shown)].tolist()},
        "predictions": {"files": [str(f) for f in files], "labels": labels.tolist(), "topk": topk.tolist()},
    }


def summary_line(report: dict) -> str:
    """"top-1 81.2 % (95 % Wilson interval 78.6-83.5 %), top-5 ... on 1,000 images of 10 classes"."""
    top1, topk = report["top1"], report["topk"]

    def figure(entry):
        return f"{100 * entry['accuracy']:.1f} % ({100 * entry['low']:.1f}-{100 * entry['high']:.1f} %)"

    return (f"top-1 {figure(top1)}, top-{topk['k']} {figure(topk)} on {report['images']:,} images of "
            f"{report['classes_with_images']} classes (95 % {report['interval']['method']} intervals)")


def format_table(report: dict) -> str:
    """The per-class figures and both averages as a text table, with the summary line above it."""
    width = max([len("weighted average")] + [len(row["class"]) for row in report["per_class"]])
    head = f"{'class':<{width}}  {'images':>7}  {'precision':>9}  {'recall':>6}  {'recall 95 %':>13}  {'F1':>5}"
    lines = [summary_line(report), head, "-" * len(head)]
    for row in report["per_class"]:
        interval = f"{row['recall_low']:.2f}-{row['recall_high']:.2f}" if row["images"] else "-"
        lines.append(f"{row['class']:<{width}}  {row['images']:>7}  {row['precision']:>9.3f}  {row['recall']:>6.3f}  "
                     f"{interval:>13}  {row['f1']:>5.3f}")
    for kind in ("macro_average", "weighted_average"):
        average = report[kind]
        lines.append(f"{kind.replace('_', ' '):<{width}}  {average['images']:>7}  {average['precision']:>9.3f}  "
                     f"{average['recall']:>6.3f}  {'':>13}  {average['f1']:>5.3f}")
    return "\n".join(lines)


def table_columns(report: dict) -> tuple[list[str], dict[str, list[float]]]:
    """(row labels, column -> values) of the per-class table (classes, then both averages), for a table
    output (train_mnasnet's)."""
    rows = [row["class"] for row in report["per_class"]] + ["macro average", "weighted average"]
    averages = [report["macro_average"], report["weighted_average"]]
    columns = {metric: [float(r[metric]) for r in report["per_class"]] + [float(a[metric]) for a in averages]
               for metric in ("precision", "recall", "f1")}
    columns["images"] = [float(r["images"]) for r in report["per_class"]] + [float(a["images"]) for a in averages]
    return rows, columns


def accuracy_rows(report: dict) -> tuple[list[str], dict[str, list[float]]]:
    """(row labels, column -> values) of top-1 / top-k with their intervals and image counts."""
    entries = [report["top1"], report["topk"]]
    rows = ["top-1", f"top-{report['topk']['k']}"]
    return rows, {"accuracy": [e["accuracy"] for e in entries], "95 % low": [e["low"] for e in entries],
                  "95 % high": [e["high"] for e in entries], "images": [float(e["images"]) for e in entries]}


# ------------------------------------------------------------------------------------------------ files

def _csv_text(rows: list[list]) -> str:
    from mnas.infer.files import spreadsheet_text

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([spreadsheet_text(cell) if isinstance(cell, str) else cell for cell in row])
    return buffer.getvalue()


def _number(value: float) -> str:
    return f"{value:.6g}"


def metrics_rows(report: dict) -> list[list]:
    """metrics.csv: one row per figure (metric, class, value, low, high, images)."""
    rows = [["metric", "class", "value", "low", "high", "images"]]
    for key, name in (("top1", "top1"), ("topk", f"top{report['topk']['k']}")):
        entry = report[key]
        rows.append([name, "", _number(entry["accuracy"]), _number(entry["low"]), _number(entry["high"]),
                     entry["images"]])
    for row in report["per_class"]:
        rows.append(["precision", row["class"], _number(row["precision"]), "", "", row["predicted"]])
        rows.append(["recall", row["class"], _number(row["recall"]), _number(row["recall_low"]),
                     _number(row["recall_high"]), row["images"]])
        rows.append(["f1", row["class"], _number(row["f1"]), "", "", row["images"]])
    for kind in ("macro_average", "weighted_average"):
        for metric in ("precision", "recall", "f1"):
            rows.append([f"{kind}_{metric}", "", _number(report[kind][metric]), "", "", report[kind]["images"]])
    return rows


def write_report(report: dict, folder: str | Path, title: str = "") -> dict[str, Path]:
    """Write the report's files (`REPORT_FILES`) into `folder` (made if needed); name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in REPORT_FILES}
    atomic_write_text(paths["report.json"], json.dumps(report, indent=1) + "\n")
    atomic_write_text(paths["metrics.csv"], _csv_text(metrics_rows(report)))
    matrix = report["confusion_matrix"]
    atomic_write_text(paths["confusion_matrix.csv"], _csv_text(
        [["true \\ predicted", *matrix["classes"]]] + [[name, *counts] for name, counts in
                                                       zip(matrix["classes"], matrix["counts"])]))
    names, predictions = report["class_names"], report["predictions"]
    k = report["topk"]["k"]
    rows = [["file", "true", *[f"top{i + 1}" for i in range(k)], "top1_correct"]]
    files = predictions["files"] or [""] * len(predictions["labels"])
    for file, label, top in zip(files, predictions["labels"], predictions["topk"]):
        rows.append([file, names[label], *[names[c] for c in top], int(top[0] == label)])
    atomic_write_text(paths["predictions.csv"], _csv_text(rows))
    plot_confusion_matrix(report, paths["confusion_matrix.png"], title=title)
    return paths


def plot_confusion_matrix(report: dict, path: str | Path, title: str = "") -> Path:
    """The confusion matrix as a PNG (matplotlib Agg), written atomically: each cell coloured by its share
    of the true class's images (so rare classes read as well as common ones), counts written in."""
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left as it is

    matrix = report["confusion_matrix"]
    names, counts = matrix["classes"], np.asarray(matrix["counts"], dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(16.0, max(4.5, 0.45 * len(names) + 2.5))
    figure = Figure(figsize=(side + 1.2, side))
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class's images")
    if len(names) <= TICKS_MAX:
        ticks = range(len(names))
        axes.set_xticks(ticks, [n[:24] for n in names], rotation=60, ha="right", fontsize=8)
        axes.set_yticks(ticks, [n[:24] for n in names], fontsize=8)
    if len(names) <= ANNOTATE_MAX:
        for i in range(len(names)):
            for j in range(len(names)):
                if counts[i, j]:
                    axes.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7,
                              color="white" if shares[i, j] > 0.5 else "black")
    axes.set(xlabel="predicted class", ylabel="true class")
    top1 = report["top1"]
    axes.set_title((f"{title}\n" if title else "") + f"{report['images']:,} images, top-1 "
                   f"{100 * top1['accuracy']:.1f} % (95 %: {100 * top1['low']:.1f}-{100 * top1['high']:.1f})",
                   fontsize=10)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return Path(path)


# ------------------------------------------------------------------------------------- running a model

def predict(model, dataset, *, input_size: int, mean, std, device: str = "auto", batch_size: int = 256,
            workers: int = 0):
    """`mnas.train.engine.evaluate` with each image's top-k kept, on `device` (the model is handed back on the
    CPU): the training's own validation pre-processing, so its figures match the trainer's."""
    from mnas.train.engine import evaluate
    from mnas.utils.device import resolve_device

    model.to(resolve_device(device))
    try:
        return evaluate(model, dataset, input_size=input_size, batch_size=batch_size, mean=mean, std=std,
                        workers=workers, keep_predictions=True)
    finally:
        model.to("cpu")


def relative_files(files: Sequence[str], root: str | Path) -> list[str]:
    """Each file relative to `root` when inside it (shorter, and the same on another machine)."""
    root = Path(root).absolute()
    shown = []
    for file in files:
        try:
            shown.append(Path(file).absolute().relative_to(root).as_posix())
        except ValueError:
            shown.append(str(file))
    return shown


def report_for(result, class_names: Sequence[str], files: Sequence[str], *, data: dict, model: dict) -> dict:
    """`build_report` of an `EvalResult` kept with ``keep_predictions``."""
    if result.topk is None:
        raise ValueError("the evaluation kept no predictions: evaluate with keep_predictions=True")
    shown = relative_files(files, data["folder"]) if files and data.get("folder") else list(files)
    return build_report(result.topk.numpy(), result.labels.numpy(), class_names, files=shown, data=data, model=model)


def folder_classes(folder: str | Path, model_classes: Sequence[str]) -> list[str]:
    """The class folders of an evaluation folder (``<folder>/<class>/<images>``), each a class of the
    model; a `mnas.data.folders.DatasetError` naming what is wrong, before any image is decoded."""
    from mnas.data.folders import VAL_SPLIT_NAMES, DatasetError, _class_dirs, check_class_folders

    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"evaluation folder {str(folder)!r} does not exist or is not a folder")
    names = _class_dirs(folder)
    splits = [n for n in ("train", *VAL_SPLIT_NAMES) if n in names]
    if "train" in splits and len(splits) > 1:
        shown = ", ".join(n + "/" for n in splits)
        raise DatasetError(f"evaluation folder {str(folder)!r} holds the splits {shown}: give one split, e.g. "
                           f"{str(folder / splits[-1])!r} (expected <folder>/<class>/<images>)")
    if not names:
        raise DatasetError(f"evaluation folder {str(folder)!r} holds no class folders: expected "
                           "<folder>/<class>/<images>")
    unknown = [n for n in names if n not in model_classes]
    if unknown:
        shown = ", ".join(list(model_classes)[:12]) + (", ..." if len(model_classes) > 12 else "")
        raise DatasetError(f"evaluation folder {str(folder)!r}: class folder(s) {', '.join(map(repr, unknown[:8]))} "
                           f"are not classes of the model (its {len(model_classes)} classes: {shown})")
    return check_class_folders(folder, names, minimum=1)


def load_evaluation_folder(folder: str | Path, model_classes: Sequence[str], image_size: int, *,
                           limit_per_class: int | None = None, memory_budget_gb: float | None = None):
    """The images of ``<folder>/<class>/*`` labelled with the model's class indices (class folders may be
    a subset of the model's classes): decoded into memory (cached, as the trainer does) when they fit the
    memory budget, else listed and decoded batch by batch (`mnas.data.stream`)."""
    import torch

    from mnas.data.decode import load_split, split_files
    from mnas.data.folders import ImageDataset
    from mnas.data.stream import FileDataset, decoded_bytes, list_split, memory_budget_bytes

    names = folder_classes(folder, model_classes)
    index = torch.tensor([list(model_classes).index(n) for n in names], dtype=torch.long)
    count = len(split_files(Path(folder), names, limit_per_class)[0])
    if decoded_bytes(count, image_size) > memory_budget_bytes(memory_budget_gb):
        listed = list_split(Path(folder), names, image_size, limit_per_class)
        return FileDataset(listed.images, index[listed.labels], list(model_classes), listed.skipped, listed.source)
    loaded = load_split(folder, classes=names, limit_per_class=limit_per_class, image_size=image_size)
    return ImageDataset(loaded.images, index[loaded.labels], list(model_classes), loaded.skipped, loaded.source,
                        loaded.files)
