"""Fast CPU inference: an ONNX export cache, an ONNX Runtime backend, int8 static quantisation.

On a CPU, ONNX Runtime runs MnasNet faster than eager PyTorch with the same weights (docs/inference.md,
"Speed"), so the classifier uses it whenever it gives the same answers. The pieces:

- `onnx_model_path`: export once per (architecture, weights content, input size, exporter), keyed by
  a content hash, into a cache folder (``$MNAS_CACHE/onnx`` or ``~/.cache/mnas/onnx``). Each model file
  has a JSON sidecar holding its key and the SHA-256 of its bytes; a cached file is used only when
  the sidecar matches, the bytes hash to the recorded value and ONNX's checker accepts it; anything
  else is rebuilt, never trusted. Both files are written atomically.
- `TorchBackend` / `OnnxRuntimeBackend`: the same interface, probabilities of a preprocessed NCHW
  float32 batch.
- `create_backend`: ``auto`` picks ONNX Runtime on CPU once its outputs match torch's within
  `MATCH_TOLERANCE` on a probe batch (torch otherwise, with the reason), and torch on CUDA. The check
  runs on the first load of an export and is recorded in its sidecar (`torch_check`).
- `int8_model_path`: ONNX Runtime static quantisation (per-channel weights), calibrated on images
  the caller preprocessed the same way as at inference; cached like the float model, keyed by the
  calibration data as well.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from mnas.utils.fileio import atomic_path, atomic_write_text, file_sha256
from mnas.utils.machine import usable_cores
from mnas.utils.openmp import ensure_static_teams
from mnas.utils.paths import cache_dir as mnas_cache_dir

logger = logging.getLogger(__name__)

RUNTIMES = ("torch", "onnxruntime")  # what runs a model: a backend here, the latency meter's engine
BACKENDS = ("auto", *RUNTIMES)       # auto: ONNX Runtime on the CPU once it matches torch, torch on CUDA
PRECISIONS = ("fp32", "int8")
QUANT_FORMATS = ("qdq", "qoperator")
OPSET = 17
EXPORTER = f"torch.onnx(dynamo=False) {torch.__version__.split('+')[0]} opset {OPSET}"
MATCH_TOLERANCE = 1e-4
CALIBRATION_IMAGES = 200
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
INPUT_NAME, OUTPUT_NAME = "input", "logits"


def default_threads() -> int:
    """CPU threads this process may use: its affinity mask where the OS has one, else the core count."""
    return usable_cores()


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------------------------------------------
# Export cache
# ---------------------------------------------------------------------------------------------------

def model_fingerprint(model: nn.Module, input_size: int, in_channels: int = 3) -> str:
    """SHA-256 of what the exported graph depends on: architecture, weights' content, input, exporter."""
    digest = hashlib.sha256()
    header = {"arch": getattr(model, "arch", type(model).__name__), "input_size": int(input_size),
              "in_channels": int(in_channels), "exporter": EXPORTER}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}|{array.dtype}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def export_onnx(model: nn.Module, input_size: int, target, in_channels: int = 3, *,
                dynamic_batch: bool = True) -> None:
    """Export `model` in eval mode (input ``input`` N x C x S x S, output ``logits``) to `target`: a path
    (written atomically) or a binary buffer. The batch dimension is dynamic unless `dynamic_batch` is
    False (the latency meter's batch-1 graphs)."""
    device = next(model.parameters()).device
    example = torch.zeros(1, in_channels, input_size, input_size, device=device)
    axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None

    def export(destination) -> None:
        torch.onnx.export(model, (example,), destination, dynamo=False, opset_version=OPSET,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_axes=axes)

    was_training = model.training
    model.eval()
    try:
        if isinstance(target, (str, os.PathLike)):
            with atomic_path(target) as tmp:
                export(str(tmp))
        else:
            export(target)
    finally:
        model.train(was_training)


def cached_file_problem(path: Path, expected: dict) -> str | None:
    """Why the cached model at `path` cannot be used (None when it can): sidecar, hash, ONNX checker."""
    sidecar = path.with_suffix(".json")
    if not path.is_file() or not sidecar.is_file():
        return "not cached yet"
    try:
        recorded = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"unreadable sidecar {sidecar.name} ({error})"
    for key, value in expected.items():
        if recorded.get(key) != value:
            return f"sidecar {sidecar.name} records {key}={recorded.get(key)!r}, expected {value!r}"
    if recorded.get("sha256") != file_sha256(path):
        return f"{path.name} does not hash to the value its sidecar records (corrupt or replaced)"
    import onnx

    try:
        onnx.checker.check_model(str(path))
    except Exception as error:  # the checker raises several types; any of them means "rebuild"
        return f"ONNX checker rejects {path.name} ({type(error).__name__}: {str(error)[:200]})"
    return None


def cached_build(path: Path, expected: dict, build: Callable[[Path], None]) -> Path:
    """Return `path` if its cached content is valid for `expected`, else build it there, with sidecar."""
    problem = cached_file_problem(path, expected)
    if problem is None:
        return path
    if problem != "not cached yet":
        logger.warning("rebuilding cached ONNX model %s: %s", path, problem)
    build(path)
    atomic_write_text(path.with_suffix(".json"),
                      json.dumps({**expected, "sha256": file_sha256(path)}, indent=1, sort_keys=True))
    return path


def onnx_model_path(model: nn.Module, input_size: int, cache_dir: str | os.PathLike | None = None,
                    in_channels: int = 3) -> Path:
    """The float ONNX model of `model` at `input_size`: from the cache when valid, else exported now."""
    fingerprint = model_fingerprint(model, input_size, in_channels)
    path = Path(cache_dir or mnas_cache_dir("onnx")) / f"{fingerprint[:40]}.onnx"
    expected = {"fingerprint": fingerprint, "arch": getattr(model, "arch", ""),
                "input_size": int(input_size), "exporter": EXPORTER}
    return cached_build(path, expected, lambda p: export_onnx(model, input_size, p, in_channels))


# ---------------------------------------------------------------------------------------------------
# int8 static quantisation
# ---------------------------------------------------------------------------------------------------

def quantize_int8(float_path: Path, calibration: np.ndarray, output_path: Path,
                  quant_format: str = "qdq") -> None:
    """Static int8 quantisation, per-channel weights, MinMax ranges from `calibration` (N, C, H, W).

    uint8 activations x int8 weights with `reduce_range` (7-bit weights): on x86 CPUs without VNNI
    (AVX2, AVX-512F) the u8 x s8 multiply-add saturates with full-range weights. Measured here (AVX2)
    on a mnasnet0_5 trained on CIFAR-10: top-1 change on test/ -2.77 points without it, +0.01 with
    it; u8 x u8 weights kept top-1 too but ran no faster than float.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.images = iter(calibration)

        def get_next(self):
            image = next(self.images, None)
            return None if image is None else {INPUT_NAME: image[None].astype(np.float32, copy=False)}

    formats = {"qdq": QuantFormat.QDQ, "qoperator": QuantFormat.QOperator}
    with tempfile.TemporaryDirectory(prefix="mnas-quant-") as work, atomic_path(output_path) as tmp:
        prepared = os.path.join(work, "prepared.onnx")
        # shape inference + graph clean-up first, as ONNX Runtime recommends before quantize_static
        quant_pre_process(str(float_path), prepared, skip_symbolic_shape=True)
        quantize_static(prepared, str(tmp), Batches(), quant_format=formats[quant_format],
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)


def calibration_files(folder: str | os.PathLike, count: int = CALIBRATION_IMAGES) -> list[Path]:
    """Up to `count` image files of a dataset, taking its classes in turn so that every class is seen.

    `folder` is a dataset root (its ``train/`` is used), a split folder of ``<class>/`` sub-folders,
    or a plain folder of images.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"calibration_folder {str(folder)!r} is not a folder: expected images of the "
                         "model's own dataset (a dataset root, its train/ or a folder of images)")
    if (folder / "train").is_dir():
        folder = folder / "train"

    def names(directory: Path, want_dirs: bool) -> list[str]:
        with os.scandir(directory) as found:  # scandir: no stat per file in a 50,000-image dataset
            return sorted(e.name for e in found if (e.is_dir() if want_dirs else
                          e.is_file() and os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES))

    groups = [(folder / d, names(folder / d, False)) for d in names(folder, True)]
    groups = [group for group in groups if group[1]] or [(folder, names(folder, False))]
    files: list[Path] = []
    for n in range(max(len(group) for _, group in groups)):  # classes in turn until `count`
        files += [directory / group[n] for directory, group in groups if n < len(group)]
        if len(files) >= count:
            break
    if not files:
        raise ValueError(f"calibration_folder {str(folder)!r} holds no image files "
                         f"({', '.join(IMAGE_SUFFIXES)}), directly or in class sub-folders")
    return files[:count]


def trained_on(weight_file: str | os.PathLike) -> str | None:
    """The dataset folder a model file written by the training engine records, if any."""
    from mnas.weights.model_file import is_model_file, read_checkpoint

    payload = read_checkpoint(weight_file)
    return payload.get("metadata", {}).get("trained_on") if is_model_file(payload) else None


def int8_model_path(model: nn.Module, input_size: int, calibration: np.ndarray,
                    cache_dir: str | os.PathLike | None = None, quant_format: str = "qdq") -> Path:
    """The int8 model of `model`, calibrated on `calibration`; cached like the float model."""
    if quant_format not in QUANT_FORMATS:
        raise ValueError(f"quant_format must be one of {QUANT_FORMATS}, got {quant_format!r}")
    calibration = np.ascontiguousarray(calibration, dtype=np.float32)
    if calibration.ndim != 4 or calibration.shape[2:] != (input_size, input_size) or not len(calibration):
        raise ValueError(f"calibration must be a non-empty (N, C, {input_size}, {input_size}) batch of "
                         f"preprocessed images, got shape {calibration.shape}")
    import onnxruntime

    float_path = onnx_model_path(model, input_size, cache_dir, calibration.shape[1])
    calibration_hash = hashlib.sha256(calibration.tobytes()).hexdigest()
    key = hashlib.sha256(f"{float_path.stem}|{calibration_hash}|{quant_format}".encode()).hexdigest()
    path = float_path.parent / f"{key[:40]}.int8.onnx"
    expected = {"float_model": float_path.name, "calibration_sha256": calibration_hash,
                "calibration_images": len(calibration), "quant_format": quant_format,
                "quantizer": f"onnxruntime {onnxruntime.__version__} static, per-channel U8S8 reduce-range, "
                             "MinMax"}
    return cached_build(path, expected, lambda p: quantize_int8(float_path, calibration, p, quant_format))


# ---------------------------------------------------------------------------------------------------
# Backends: the same interface for eager PyTorch and ONNX Runtime
# ---------------------------------------------------------------------------------------------------

class TorchBackend:
    """Eager PyTorch on the model's device."""

    name = "torch"

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, classes) of a preprocessed float32 NCHW batch."""
        ensure_static_teams()
        with torch.inference_mode():
            logits = self.model(torch.from_numpy(batch).to(self.device))
        return torch.softmax(logits.float(), dim=1).cpu().numpy()


OPTIMIZATION_LEVELS = ("disable", "basic", "extended", "all")


@dataclasses.dataclass(frozen=True)
class SessionSettings:
    """ONNX Runtime session settings; the defaults were chosen by measuring each one
    (``bench/infer_session_bench.py``; its figures: docs/inference.md, "ONNX Runtime session settings")."""

    optimization: str = "all"     # graph optimisation level: the lower levels were slower per image
    memory_arena: bool = True     # the CPU memory arena (reuses buffers across runs): no clear change
    # intra-op threads spin-waiting for work between operators: off was faster per image on a shared
    # CPU, where spinning threads take the cores that other processes, Python's own work between runs
    # and the CLI's decoding thread need
    spinning: bool = False

    def __post_init__(self):
        if self.optimization not in OPTIMIZATION_LEVELS:
            raise ValueError(f"optimization must be one of {', '.join(OPTIMIZATION_LEVELS)}, got "
                             f"{self.optimization!r}")


def create_session(model: str | os.PathLike | bytes, threads: int, settings: SessionSettings = SessionSettings()):
    """An ONNX Runtime CPU session of `model` (a file, or the model's bytes) with `threads` intra-op threads
    and `settings`: the one session factory of inference and of the latency meter."""
    import onnxruntime as ort

    levels = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
              "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
              "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = levels[settings.optimization]
    options.enable_cpu_mem_arena = settings.memory_arena
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings.spinning else "0")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


class OnnxRuntimeBackend:
    """An ONNX Runtime CPU session (`SessionSettings`) with the machine's threads by default."""

    name = "onnxruntime"

    def __init__(self, model_path: str | os.PathLike, threads: int | None = None,
                 settings: SessionSettings = SessionSettings()):
        self.model_path = Path(model_path)
        self.threads = threads or default_threads()
        self.settings = settings
        self.session = create_session(self.model_path, self.threads, settings)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        return softmax(self.logits(batch))


PROBE = {"images": 2, "seed": 0}  # the batch the torch check runs on (recorded with its result)


def probe_batch(input_size: int, in_channels: int = 3, images: int = PROBE["images"]) -> np.ndarray:
    """A fixed pseudo-random batch with the statistics of a normalised image (zero mean, unit std)."""
    generator = np.random.default_rng(PROBE["seed"])
    return generator.standard_normal((images, in_channels, input_size, input_size), dtype=np.float32)


def max_probability_difference(a, b, batch: np.ndarray) -> float:
    return float(np.abs(a.probabilities(batch) - b.probabilities(batch)).max())


@dataclasses.dataclass
class BackendChoice:
    """The backend in use and, in words, why it was chosen (shown to the user by the Ikomia task)."""

    backend: TorchBackend | OnnxRuntimeBackend
    reason: str


def create_backend(model: nn.Module, input_size: int, *, backend: str = "auto", device: str = "cpu",
                   precision: str = "fp32", calibration: np.ndarray | None = None,
                   threads: int | None = None, cache_dir: str | os.PathLike | None = None,
                   quant_format: str = "qdq") -> BackendChoice:
    """Build the inference backend for `model` as requested; see the module docstring for `auto`."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1 (or None for the machine's), got {threads}")
    on_cuda = torch.device(device).type == "cuda"
    if precision == "int8":
        if backend == "torch":
            raise ValueError("precision 'int8' runs on ONNX Runtime: set backend to 'auto' or "
                             "'onnxruntime'")
        if calibration is None:
            raise ValueError("precision 'int8' needs calibration images (preprocessed, from the "
                             "model's own dataset)")
        path = int8_model_path(model, input_size, calibration, cache_dir, quant_format)
        return BackendChoice(OnnxRuntimeBackend(path, threads), f"onnxruntime int8 ({quant_format}, "
                             f"calibrated on {len(calibration)} images)")
    if backend == "torch" or (backend == "auto" and on_cuda):
        return BackendChoice(TorchBackend(model, device), f"torch on {device}")
    in_channels = getattr(model, "in_channels", 3)
    try:
        onnx_backend = OnnxRuntimeBackend(onnx_model_path(model, input_size, cache_dir, in_channels),
                                          threads)
    except Exception as error:  # export, cache folder or session: auto still has torch to run on
        if backend == "onnxruntime":
            raise
        reason = f"torch on cpu: no ONNX Runtime session ({type(error).__name__}: {str(error)[:200]})"
        logger.warning(reason)
        return BackendChoice(TorchBackend(model, "cpu"), reason)
    if backend == "onnxruntime":
        note = " (ONNX Runtime runs on CPU here; CUDA ignored)" if on_cuda else ""
        return BackendChoice(onnx_backend, f"onnxruntime, {onnx_backend.threads} threads{note}")
    difference = torch_check(model, onnx_backend, input_size, in_channels)
    if not difference <= MATCH_TOLERANCE:  # NaN (non-finite outputs) never counts as a match
        reason = (f"torch on cpu: ONNX Runtime's probabilities differ from torch's by {difference:.2g} "
                  f"(not <= {MATCH_TOLERANCE:g}) on the probe batch")
        logger.warning(reason)
        return BackendChoice(TorchBackend(model, "cpu"), reason)
    return BackendChoice(onnx_backend, f"onnxruntime, {onnx_backend.threads} threads (matches torch "
                         f"within {difference:.1g})")


def torch_check(model: nn.Module, onnx_backend: OnnxRuntimeBackend, input_size: int,
                in_channels: int = 3) -> float:
    """Largest probability difference between ONNX Runtime and torch on the probe batch.

    Measured on the first load of a cached export and recorded in its sidecar, so that later loads
    skip the torch forward pass (the export's bytes are hash-checked on every load); measured again
    when the ONNX Runtime or torch version changes.
    """
    import onnxruntime

    sidecar = onnx_backend.model_path.with_suffix(".json")
    versions = {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__}
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    check = (record or {}).get("torch_check", {})
    if check.get("versions") == versions and check.get("probe") == PROBE:
        return float(check["max_difference"])
    probe = probe_batch(input_size, in_channels)
    difference = max_probability_difference(TorchBackend(model, "cpu"), onnx_backend, probe)
    if record is not None:
        record["torch_check"] = {"max_difference": difference, "versions": versions,
                                 "probe": PROBE}
        atomic_write_text(sidecar, json.dumps(record, indent=1, sort_keys=True))
    return difference

