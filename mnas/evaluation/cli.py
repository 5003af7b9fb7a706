"""``python -m mnas evaluate <model file> <folder>``: a trained model's report on labelled images.

    python -m mnas evaluate runs/cifar/model.pth ../shared/datasets/cifar10-jpg/test
    python -m mnas evaluate model.pth photos/val --output report/ --device cuda

`<folder>` holds one folder of images per class (``<folder>/<class>/<images>``: one split of a dataset,
e.g. its test/), each class a class of the model (a subset is fine). The images are pre-processed as the
training's validation does, so the model's own validation folder gives the trainer's figures again.
Prints the summary and the per-class table, and writes the report's files (`mnas.evaluation.report`:
report.json, metrics.csv, confusion_matrix.csv, confusion_matrix.png, predictions.csv) into ``--output``
(default: ``evaluation-<folder name>`` beside the model file). Everything is checked (model file, folder,
classes, output folder) before any image is decoded.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_file", help="an mnas model file (model.pth of python -m mnas train / train_mnasnet)")
    parser.add_argument("folder", help="labelled images: <folder>/<class>/<images>, class names as the model's")
    parser.add_argument("--output", default="", help="folder for the report's files (default: "
                        "evaluation-<folder name> beside the model file)")
    parser.add_argument("--device", default="auto", help="auto (the GPU when torch sees one), cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=256, help="images per network call (results do not "
                        "depend on it; default: 256)")
    parser.add_argument("--limit-per-class", type=int, default=None,
                        help="use only the first N images (sorted by name) of each class (quick checks)")


def _check(args: argparse.Namespace):
    """Everything but the images: (model, payload, output folder); a ValueError naming the input."""
    from mnas.evaluation.report import folder_classes
    from mnas.utils.device import resolve_device
    from mnas.utils.locks import check_output_folder
    from mnas.weights.model_file import load_model_file

    for name in ("batch_size", "limit_per_class"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be an integer >= 1, got {value}")
    resolve_device(args.device, "--device")
    try:
        model, payload = load_model_file(args.model_file)
    except (ValueError, FileNotFoundError) as error:  # the loader speaks of infer's model_weight_file
        raise type(error)(str(error).replace("model_weight_file", "model file", 1)) from None
    folder_classes(args.folder, payload["class_names"])
    default = Path(args.model_file).absolute().parent / f"evaluation-{Path(args.folder).absolute().name}"
    output = check_output_folder(args.output or default)
    if output.is_dir() and any(output.iterdir()) and not any((output / n).is_file() for n in
                                                             ("report.json", "predictions.csv")):
        raise ValueError(f"--output {str(output)!r} holds other files: choose an empty folder or the folder of "
                         "an earlier evaluation (its report files are replaced)")
    return model, payload, output


def run(args: argparse.Namespace) -> int:
    from mnas.evaluation.report import format_table, load_evaluation_folder, predict, report_for, write_report

    logging.basicConfig(level=logging.INFO, format="[evaluate] %(message)s")
    model, payload, output = _check(args)
    size = payload["input_size"]
    dataset = load_evaluation_folder(args.folder, payload["class_names"], size, limit_per_class=args.limit_per_class)
    result = predict(model, dataset, input_size=size, mean=payload["mean"], std=payload["std"],
                     device=args.device, batch_size=args.batch_size)
    folder = str(Path(args.folder).absolute())
    meta = payload.get("metadata", {})
    report = report_for(result, payload["class_names"], dataset.files, data={
        "folder": folder, "split": Path(folder).name, "skipped_files": len(dataset.skipped),
        "note": "images named by the evaluation folder; the model file says what it was trained on"
                + (f" ({meta['trained_on']})" if meta.get("trained_on") else "")},
        model={"file": str(Path(args.model_file).absolute()), "arch": payload["arch"],
               "epoch": meta.get("kept_epoch"), "input_size": size})
    files = write_report(report, output, title=Path(args.model_file).name)
    if dataset.skipped:
        print(f"skipped {len(dataset.skipped)} unreadable file(s) (first: {dataset.skipped[0]})")
    print(format_table(report))
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0
