"""Inference: `Classifier` (load once, predict many) and ``python -m mnas infer``.

    clf = Classifier.load("mnasnet1_0")                       # ImageNet weights from the torch hub cache
    clf = Classifier.load(weight_file="runs/cifar/model.pt")  # an mnas model file alone is enough
    probabilities = clf.predict([image_a, image_b])           # N x num_classes, rows sum to 1
    clf.top_k(probabilities[0], 5)                            # [(class name, probability), ...]

Images are numpy arrays as `mnas.preprocess` accepts them (RGB uint8 HxWx3 by default; grey, RGBA and
16-bit converted). This module is the pure core of the ``infer_mnasnet`` Ikomia task.

Folders and streams: `classify_files` (``python -m mnas infer <folder or files> --batch-size N --output
results.csv|.json``) decodes and pre-processes the next batches in a background thread while the
network runs the current one, and yields one `Prediction` (top-k or error) per file, in order; batched
results equal one-image-at-a-time ones (``tests/test_infer_batch.py``).

Predictions run on the backend `mnas.runtime.create_backend` picks: ``backend="auto"`` (default) is
ONNX Runtime on CPU once it matches torch, torch on CUDA; ``int8=True`` quantises for ONNX Runtime,
calibrated on `calibration_folder` (default: the dataset a model file records it was trained on).
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import io
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from .fileio import atomic_write_text
from .models import MODEL_NAME_ALIASES, VARIANTS
from .locks import check_output_folder
from .preprocess import MAX_INPUT_SIZE, MIN_IMAGE_SIDE, Preprocessor, apply_orientation, read_image_file
from .runtime import BACKENDS, IMAGE_SUFFIXES, calibration_files, create_backend, trained_on
from . import settings
from .settings import setting
from .weights import LoadedWeights, load_classifier_weights

AUTO = "auto"


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclasses.dataclass
class InferSettings:
    """The model and runtime settings of an inference, declared once (`mnas.settings`): the
    infer_mnasnet task's parameters, ``python -m mnas infer``'s options and the STUDIO form derive from
    them. Where the results go (the task: cuda and top_k; the command: --device, --top-k, --batch-size)
    stays with each surface."""

    model_name: str = setting("mnasnet1_0", "MnasNet variant whose ImageNet weights (or the state dict given) "
                              "are used; ignored with an mnas model file, which carries its own architecture",
                              label="Model", choices=VARIANTS, value_aliases=MODEL_NAME_ALIASES)
    model_weight_file: str = setting(
        "", "a train_mnasnet model file (architecture, classes and input size inside: enough alone) or a "
        "state dict for the model; empty: the model's ImageNet weights from the torch hub cache",
        label="Weights file", kind="file", empty="the model's ImageNet weights", old_names=("weights",),
        aliases=("model_path",), file_filter="Model files (*.pt *.pth);;All files (*)")
    class_file: str = setting("", "one class name per line, in label order; empty: the model file's names, "
                              "else ImageNet's", kind="file", empty="the model file's, else ImageNet's",
                              old_names=("classes",), aliases=("classes_path",),
                              file_filter="Text files (*.txt);;All files (*)")
    input_size: int | None = setting(None, "side of the square each image (or box) is resized to, in pixels; "
                                     "auto: the model file's input size, else 224", kind="integer",
                                     minimum=MIN_IMAGE_SIDE, maximum=MAX_INPUT_SIZE, step=8, special=AUTO,
                                     special_default=True)
    backend: str = setting(AUTO, "auto: ONNX Runtime on the CPU once its output matches torch's (torch "
                           "otherwise), torch on CUDA; torch; onnxruntime", choices=BACKENDS)
    int8: bool = setting(False, "static int8 quantisation for ONNX Runtime, calibrated on the calibration "
                         "images; faster, slightly less accurate", label="int8 (ONNX Runtime)")
    calibration_folder: str = setting("", "int8 only: a folder of images of the model's own dataset (200 are "
                                      "taken); empty: the dataset the model file names",
                                      label="Calibration images", kind="folder",
                                      empty="the dataset the model file names")
    threads: int | None = setting(None, "CPU threads of ONNX Runtime; auto: the cores this process may use",
                                  label="CPU threads", kind="integer", minimum=1, maximum=256, special=AUTO,
                                  special_default=True)

    def __post_init__(self):
        settings.check_values(self)


class Classifier:
    """A model in eval mode with its class names and pre-processing, on one device."""

    def __init__(self, loaded: LoadedWeights, device: str | torch.device | None = None, *,
                 backend: str = "auto", int8: bool = False,
                 calibration_folder: str | os.PathLike | None = None, threads: int | None = None):
        self.device = torch.device(device or default_device())
        self.model = loaded.model.eval().to(self.device)
        self.class_names = list(loaded.class_names)
        self._names = np.asarray(self.class_names, dtype=object)
        self.input_size = loaded.input_size
        self.mean, self.std = loaded.mean, loaded.std
        self.source = loaded.source
        self.model_name = loaded.model_name
        self.preprocessor = Preprocessor(self.input_size, self.mean, self.std)
        calibration = self.calibration_batch(calibration_folder) if int8 else None
        choice = create_backend(self.model, self.input_size, backend=backend, device=self.device.type,
                                precision="int8" if int8 else "fp32", calibration=calibration,
                                threads=threads)
        self.backend, self.backend_reason = choice.backend, choice.reason

    @classmethod
    def load(cls, model_name: str = "mnasnet1_0", weight_file: str | os.PathLike | None = None,
             class_file: str | os.PathLike | None = None, input_size: int | None = None,
             device: str | torch.device | None = None, *, download: bool | None = None,
             backend: str = "auto", int8: bool = False,
             calibration_folder: str | os.PathLike | None = None, threads: int | None = None) -> "Classifier":
        """See `mnas.weights.load_classifier_weights` for the weights arguments, the module doc for the
        backend ones."""
        try:
            kind = torch.device(device).type if device is not None else None
        except RuntimeError:
            raise ValueError(f"device must be cpu or cuda (or cuda:N), got {device!r}") from None
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError("cuda was asked for but no CUDA device is available: use the CPU")
        if int8 and not calibration_folder and weight_file:
            calibration_folder = trained_on(weight_file)
        return cls(load_classifier_weights(model_name, weight_file or None, class_file or None,
                                           input_size, download=download), device, backend=backend,
                   int8=int8, calibration_folder=calibration_folder, threads=threads)

    def calibration_batch(self, folder: str | os.PathLike | None) -> np.ndarray:
        """Images of the model's own dataset, pre-processed exactly as at inference, for int8."""
        if not folder:
            raise ValueError("int8 needs calibration_folder: images of the model's own dataset (a model "
                             "file written by train_mnasnet names its dataset, used when this is empty)")
        return self.preprocess([read_image(path) for path in calibration_files(folder)],
                               name="calibration image")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def arch(self) -> str:
        return self.model.arch

    def preprocess(self, images: np.ndarray | Sequence[np.ndarray], *, channel_order: str = "rgb",
                   name: str = "image") -> np.ndarray:
        """One image or a list of them -> the float32 N x 3 x S x S batch the model sees."""
        if images is None or isinstance(images, np.ndarray) and images.ndim in (2, 3):  # None: named error
            return self.preprocessor(images, channel_order=channel_order, name=name)
        return self.preprocessor.batch(list(images), channel_order=channel_order, name=name)

    def predict(self, images: np.ndarray | Sequence[np.ndarray], *, channel_order: str = "rgb",
                name: str = "image") -> np.ndarray:
        """Images -> N x num_classes probabilities (softmax of the logits), on `self.backend`."""
        return self.backend.probabilities(self.preprocess(images, channel_order=channel_order, name=name))

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        """The `k` most probable (class name, probability) of one probability vector, best first."""
        return list(zip(*self.ranked(probabilities, max(1, min(int(k), len(probabilities))))))

    def ranked(self, probabilities: np.ndarray, k: int | None = None) -> tuple[list[str], list[float]]:
        """The `k` most probable (default: every) class names and probabilities of one vector, best
        first. Vectorised (an object array of names): it runs on every frame."""
        order = np.argsort(-probabilities, kind="stable")[:k]
        return self._names[order].tolist(), probabilities[order].tolist()

    def describe(self) -> str:
        return (f"{self.model_name} ({self.num_classes} classes, {self.input_size} px, {self.device}) "
                f"from {self.source}; {self.backend_reason}")


def confidence_texts(confidences: Sequence[float]) -> list[str]:
    """Confidences as Ikomia's result strings: 9 significant digits give the float32 back exactly.
    One formatting operation for the whole list (it runs on every frame, for every class)."""
    return (_NINE_DIGITS * len(confidences) % tuple(confidences)).split()


_NINE_DIGITS = "%.9g\n"


# ---------------------------------------------------------------------------------------------------
# python -m mnas infer


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as an RGB(A) / grey array, 8 or 16 bit as stored (cv2, unchanged depth), shown
    upright (EXIF orientation applied, as training decodes it). Regular files only, at most
    `MAX_IMAGE_PIXELS` (checked from the header before decoding): `mnas.preprocess.read_image_file`."""
    import cv2

    file = read_image_file(path)
    image = cv2.imdecode(np.frombuffer(file.data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"image {str(path)!r} cannot be read: expected an image file (PNG, JPEG, ...)")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return image if file.orientation == 1 else apply_orientation(image, file.orientation)


def image_files(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """The files given, in order, and the image files under each folder given (recursive, sorted)."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(Path(root) / name for root, _, names in os.walk(item) for name in names
                           if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES)
            if not found:
                raise ValueError(f"folder {str(item)!r} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            files += found
        elif item.exists():
            files.append(item)
        else:
            raise ValueError(f"{str(item)!r} does not exist: expected image files or folders of images")
    return files


@dataclasses.dataclass
class Prediction:
    """One image's result: its `top_k` (class name, probability), best first, or why it failed."""

    path: str
    top_k: list[tuple[str, float]]
    error: str = ""


def _prepare(classifier: Classifier, paths: Sequence[Path]) -> tuple[np.ndarray, list[Path], dict]:
    """Decode and pre-process `paths` into one batch (rows: the readable images, in order)."""
    batch = np.empty((len(paths), *classifier.preprocessor.shape[1:]), np.float32)
    readable, errors = [], {}
    for path in paths:
        try:
            row = len(readable)
            classifier.preprocessor(read_image(path), out=batch[row:row + 1], name=f"image {str(path)!r}")
            readable.append(path)
        except (ValueError, OSError) as error:  # one bad image (or one deleted meanwhile) does not stop the others
            errors[path] = str(error)
    return batch[:len(readable)], readable, errors


def _prepared_batches(classifier: Classifier, files: Sequence[Path], batch_size: int, decode_threads: int,
                      ahead: int = 2) -> Iterator[tuple[Sequence[Path], np.ndarray, list[Path], dict]]:
    """Batches decoded by a thread pool up to `ahead` batches in advance of the one being classified
    (cv2 and numpy release the GIL, so decoding overlaps the network)."""
    chunks = [files[start:start + batch_size] for start in range(0, len(files), batch_size)]
    with ThreadPoolExecutor(decode_threads, thread_name_prefix="mnas-decode") as pool:
        pending = collections.deque()
        for chunk in chunks:
            pending.append((chunk, pool.submit(_prepare, classifier, chunk)))
            if len(pending) > ahead:
                chunk_done, future = pending.popleft()
                yield (chunk_done, *future.result())
        while pending:
            chunk_done, future = pending.popleft()
            yield (chunk_done, *future.result())


def classify_files(classifier: Classifier, files: Sequence[Path], *, batch_size: int = 4, top_k: int = 5,
                   decode_threads: int = 1, progress: bool = False) -> Iterator[Prediction]:
    """One `Prediction` per file, in order: batches of `batch_size` through the classifier's backend
    while the next batches are decoded in the background."""
    if batch_size < 1 or decode_threads < 1 or top_k < 1:
        raise ValueError(f"batch_size, decode_threads and top_k must be >= 1, got {batch_size}, "
                         f"{decode_threads}, {top_k}")
    from .progress import Progress

    k = min(top_k, classifier.num_classes)
    # a bar on a terminal; in a pipe or a log, a line every PROGRESS_EVERY_S seconds
    bar = Progress(len(files), "infer", unit="img", terminal=None if progress else False,
                   write=None if progress else (lambda line: None), every_s=PROGRESS_EVERY_S)
    with bar:
        for chunk, batch, readable, errors in _prepared_batches(classifier, files, batch_size,
                                                                 decode_threads):
            rows = {}
            if len(batch):
                probabilities = classifier.backend.probabilities(batch)
                order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
                for path, indices, row in zip(readable, order, probabilities):
                    rows[path] = list(zip(classifier._names[indices].tolist(), row[indices].tolist()))
            for path in chunk:
                yield Prediction(str(path), rows.get(path, []), errors.get(path, ""))
            bar.step(count=len(chunk))


def write_predictions(predictions: Sequence[Prediction], path: str | os.PathLike, top_k: int,
                      model: str) -> None:
    """`path` .csv: one row per image (path, top1_class, top1_probability, ..., error), every cell quoted
    and the text cells made spreadsheet-safe (`spreadsheet_text`); .json: {"model": ..., "images":
    [{"path", "top_k": [{"class", "probability"}], "error"}]}, the names exactly as they are."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        images = [{"path": p.path, "top_k": [{"class": name, "probability": prob} for name, prob in p.top_k],
                   "error": p.error} for p in predictions]
        atomic_write_text(path, json.dumps({"model": model, "images": images}, indent=1))
        return
    columns = ["path"] + [f"top{n}_{field}" for n in range(1, top_k + 1) for field in ("class", "probability")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)  # quoted: a spreadsheet splitting on ; or , keeps cells whole
    writer.writerow(columns + ["error"])
    for p in predictions:
        cells = [value for name, prob in p.top_k for value in (spreadsheet_text(name), f"{prob:.6g}")]
        writer.writerow([spreadsheet_text(p.path)] + cells + [""] * (len(columns) - 1 - len(cells))
                        + [spreadsheet_text(p.error)])
    atomic_write_text(path, buffer.getvalue())


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """`text` as a spreadsheet shows it but never runs it: OWASP's defence against CSV injection, a single
    quote before a leading = + - @ tab or carriage return (strip it when reading the CSV back)."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


OUTPUT_SUFFIXES = (".csv", ".json")
PROGRESS_EVERY_S = 10.0  # classify_files(progress=True) away from a terminal: a line this often


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
    try:
        files = _check_arguments(args)
        chosen = settings.build(InferSettings, settings.values_from_args(InferSettings, args))
        device = None if args.device.strip().lower() == AUTO else args.device  # None: the GPU when there is one
        classifier = Classifier.load(chosen.model_name, chosen.model_weight_file, chosen.class_file,
                                     chosen.input_size, device, download=args.download or None,
                                     backend=chosen.backend, int8=chosen.int8,
                                     calibration_folder=chosen.calibration_folder or None, threads=chosen.threads)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
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
