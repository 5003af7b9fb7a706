"""Classifying image files: reading them, batches decoded in threads, predictions written as CSV or JSON."""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from mnas.infer.classifier import Classifier
from mnas.preprocess import read_image
from mnas.runtime import IMAGE_SUFFIXES
from mnas.utils.fileio import atomic_write_text


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
    from mnas.utils.progress import Progress

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


PROGRESS_EVERY_S = 10.0  # classify_files(progress=True) away from a terminal: a line this often
