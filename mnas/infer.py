"""Inference: `Classifier` (load once, predict many) and ``python -m mnas infer``.

    clf = Classifier.load("mnasnet1_0")                       # ImageNet weights from the torch hub cache
    clf = Classifier.load(weight_file="runs/cifar/model.pt")  # an mnas model file alone is enough
    probabilities = clf.predict([image_a, image_b])           # N x num_classes, rows sum to 1
    clf.top_k(probabilities[0], 5)                            # [(class name, probability), ...]

Images are numpy arrays as `mnas.preprocess` accepts them (RGB uint8 HxWx3 by default; grey, RGBA and
16-bit converted). This module is the pure core of the ``infer_mnasnet`` Ikomia task.

Predictions run on the backend `mnas.runtime.create_backend` picks: ``backend="auto"`` (default) is
ONNX Runtime on CPU once it matches torch, torch on CUDA; ``int8=True`` quantises for ONNX Runtime,
calibrated on `calibration_folder` (default: the dataset a model file records it was trained on).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import numpy as np
import torch

from .models import VARIANTS
from .preprocess import Preprocessor
from .runtime import BACKENDS, calibration_files, create_backend, trained_on
from .weights import LoadedWeights, load_classifier_weights


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class Classifier:
    """A model in eval mode with its class names and pre-processing, on one device."""

    def __init__(self, loaded: LoadedWeights, device: str | torch.device | None = None, *,
                 backend: str = "auto", int8: bool = False,
                 calibration_folder: str | os.PathLike | None = None, threads: int | None = None):
        self.device = torch.device(device or default_device())
        self.model = loaded.model.eval().to(self.device)
        self.class_names = list(loaded.class_names)
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

    @torch.inference_mode()
    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Pre-processed N x 3 x S x S batch -> N x num_classes logits (float32)."""
        return self.model(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()

    def predict(self, images: np.ndarray | Sequence[np.ndarray], *, channel_order: str = "rgb",
                name: str = "image") -> np.ndarray:
        """Images -> N x num_classes probabilities (softmax of the logits), on `self.backend`."""
        return self.backend.probabilities(self.preprocess(images, channel_order=channel_order, name=name))

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> list[tuple[str, float]]:
        """The `k` most probable (class name, probability) of one probability vector, best first."""
        k = max(1, min(int(k), len(probabilities)))
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [(self.class_names[i], float(probabilities[i])) for i in order]

    def ranked(self, probabilities: np.ndarray) -> tuple[list[str], list[float]]:
        """Every class name and probability of one vector, sorted by decreasing probability."""
        order = np.argsort(-probabilities, kind="stable").tolist()  # vectorised: runs on every frame
        return [self.class_names[i] for i in order], probabilities[order].tolist()

    def describe(self) -> str:
        return (f"{self.model_name} ({self.num_classes} classes, {self.input_size} px, {self.device}) "
                f"from {self.source}; {self.backend_reason}")


# ---------------------------------------------------------------------------------------------------
# python -m mnas infer


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as an RGB(A) / grey array, 8 or 16 bit as stored (cv2, unchanged depth)."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ValueError(f"image {str(path)!r} cannot be read: expected an image file (PNG, JPEG, ...)")
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", help="image files to classify")
    parser.add_argument("--model-name", default="mnasnet1_0", choices=list(VARIANTS),
                        help="variant (ignored for an mnas model file, which carries its architecture)")
    parser.add_argument("--weights", default="", help="model file or state dict (default: the "
                        "variant's ImageNet weights from the torch hub cache)")
    parser.add_argument("--classes", default="", help="class file, one name per line")
    parser.add_argument("--input-size", type=int, default=None,
                        help="default: the model file's, else 224")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--download", action="store_true",
                        help="let torchvision download missing ImageNet weights (needs internet)")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="auto: ONNX Runtime on CPU once it matches torch, torch on CUDA")
    parser.add_argument("--int8", action="store_true", help="int8 ONNX Runtime (static quantisation)")
    parser.add_argument("--calibration-folder", default="",
                        help="int8 calibration images (default: the dataset the model file names)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: the machine's)")


def run(args: argparse.Namespace) -> int:
    try:
        classifier = Classifier.load(args.model_name, args.weights, args.classes, args.input_size,
                                     args.device, download=args.download or None, backend=args.backend,
                                     int8=args.int8, calibration_folder=args.calibration_folder or None,
                                     threads=args.threads)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"[infer] {classifier.describe()}")
    failures = 0
    for path in args.images:
        try:
            probabilities = classifier.predict(read_image(path), name=f"image {str(path)!r}")[0]
        except ValueError as error:  # one bad image does not stop the others
            print(f"{path}: error: {error}", file=sys.stderr)
            failures += 1
            continue
        ranked = ", ".join(f"{name} {p:.1%}" for name, p in classifier.top_k(probabilities, args.top_k))
        print(f"{path}: {ranked}")
    return 1 if failures else 0
