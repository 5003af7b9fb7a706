"""Inference: the classifier (torch or ONNX Runtime, fp32 or int8), image files in, predictions out.

Modules:

- `mnas.infer.classifier`: `InferSettings` and `Classifier`: a model file or variant, preprocessed and run
- `mnas.infer.files`: classifying image files in batches, predictions written as CSV or JSON
- `mnas.infer.cli`: ``mnas infer``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.infer import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "Classifier": "mnas.infer.classifier", "InferSettings": "mnas.infer.classifier",
    "confidence_texts": "mnas.infer.classifier", "default_device": "mnas.infer.classifier",
    "FORMULA_PREFIXES": "mnas.infer.files", "PROGRESS_EVERY_S": "mnas.infer.files", "Prediction": "mnas.infer.files",
    "classify_files": "mnas.infer.files", "image_files": "mnas.infer.files", "spreadsheet_text": "mnas.infer.files",
    "write_predictions": "mnas.infer.files",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
