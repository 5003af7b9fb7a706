"""``mnas infer``: classify image files with a variant or a trained weights file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mnas import settings
from mnas.infer.classifier import Classifier, InferSettings
from mnas.infer.files import classify_files, image_files, write_predictions
from mnas.utils.device import AUTO
from mnas.utils.locks import check_output_folder

OUTPUT_SUFFIXES = (".csv", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", help="image files or folders of images (searched recursively)")
    settings.add_arguments(parser, InferSettings)  # the model and runtime settings, as declared
    parser.add_argument("--top-k", type=int, default=5, help="classes printed (or written) per image, the "
                        "most probable first (default: 5; the task publishes every class)")
    # 4: the most images/s of the batch sizes bench/infer_bench.py compares on a 2-core CPU (docs/inference.md,
    # "Folders at batch speed"); larger batches outgrow the CPU caches. On a GPU use more.
    parser.add_argument("--batch-size", type=int, default=4,
                        help="images per network call (results do not depend on it; 32+ on a GPU)")
    parser.add_argument("--output", default="", help="write the results to this .csv or .json file "
                        "(one row per image with its top-k) instead of printing them; in the CSV a name "
                        "starting with = + - @ gets a leading ' so that spreadsheets never run it")
    parser.add_argument("--decode-threads", type=int, default=1,
                        help="threads decoding images ahead of the network")
    parser.add_argument("--device", default=AUTO, help="where inference runs: auto (the GPU when torch sees "
                        "one, else the CPU), cpu, cuda or cuda:N (default: auto)")
    # --download-weights: the ImageNet weights (search's --download-data: the dataset); --download was both
    parser.add_argument("--download-weights", dest="download", action="store_true",
                        help="download missing ImageNet weights even when MNAS_OFFLINE=1 is set (needs internet; "
                             "without MNAS_OFFLINE a missing file is downloaded anyway)")
    settings.deprecated_flag(parser, "--download", "--download-weights", "download")


def _check_arguments(args: argparse.Namespace) -> list[Path]:
    for name in ("top_k", "batch_size", "decode_threads"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.output:
        check_output_file(args.output)
    return image_files(args.images)


def check_output_file(output: str) -> None:
    """--output is a .csv / .json file that can be written: checked before any image is classified."""
    path = Path(output)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"--output {output!r}: expected a file name ending in {' or '.join(OUTPUT_SUFFIXES)}")
    if path.is_dir():
        raise ValueError(f"--output {output!r} is a folder: expected the .csv or .json file to write")
    try:
        check_output_folder(path.parent)
    except ValueError as error:
        raise ValueError(f"--output {output!r}: {error}") from None


def run(args: argparse.Namespace) -> int:
    # a bad argument raises ValueError / FileNotFoundError: mnas.__main__ prints it and exits with 2
    files = _check_arguments(args)
    chosen = settings.build(InferSettings, settings.values_from_args(InferSettings, args))
    device = None if args.device.strip().lower() == AUTO else args.device  # None: the GPU when there is one
    classifier = Classifier.load(chosen.model_name, chosen.model_weight_file, chosen.class_file,
                                 chosen.input_size, device, download=args.download or None,
                                 backend=chosen.backend, int8=chosen.int8,
                                 calibration_folder=chosen.calibration_folder or None, threads=chosen.threads)
    print(f"[infer] {classifier.describe()}")
    started = time.perf_counter()
    predictions = []
    for prediction in classify_files(classifier, files, batch_size=args.batch_size, top_k=args.top_k,
                                     decode_threads=args.decode_threads, progress=bool(args.output)):
        predictions.append(prediction)
        if prediction.error:
            print(f"{prediction.path}: error: {prediction.error}", file=sys.stderr)
        elif not args.output:
            print(f"{prediction.path}: " + ", ".join(f"{name} {p:.1%}" for name, p in prediction.top_k))
    seconds = time.perf_counter() - started
    if args.output:
        write_predictions(predictions, args.output, min(args.top_k, classifier.num_classes),
                          classifier.describe())
        print(f"[infer] results: {args.output}")
    print(f"[infer] {len(files)} images in {seconds:.2f} s: {len(files) / seconds:.1f} images/s "
          f"(batch {args.batch_size})")
    return 1 if any(p.error for p in predictions) else 0
