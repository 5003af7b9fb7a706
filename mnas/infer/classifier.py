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

import dataclasses
import os
from typing import Sequence

import numpy as np
import torch

from mnas import settings
from mnas.models import MODEL_NAME_ALIASES, VARIANTS
from mnas.preprocess import MAX_INPUT_SIZE, MIN_IMAGE_SIDE, Preprocessor, read_image
from mnas.runtime import BACKENDS, calibration_files, create_backend, trained_on
from mnas.settings import setting
from mnas.utils.device import AUTO
from mnas.weights.loading import LoadedWeights, load_classifier_weights


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
        """See `mnas.weights.loading.load_classifier_weights` for the weights arguments, the module doc for the
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


