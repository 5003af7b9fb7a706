"""Evaluation: a model file's report on labelled images (accuracy with intervals, confusion matrix, F1).

Modules:

- `mnas.evaluation.report`: predictions, the report, its files and its confusion-matrix picture
- `mnas.evaluation.cli`: ``mnas evaluate``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.evaluation import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "ANNOTATE_MAX": "mnas.evaluation.report", "INTERVAL_METHOD": "mnas.evaluation.report",
    "LEVEL": "mnas.evaluation.report", "REPORT_FILES": "mnas.evaluation.report",
    "REPORT_FORMAT": "mnas.evaluation.report", "TICKS_MAX": "mnas.evaluation.report",
    "ZERO_DIVISION": "mnas.evaluation.report", "Z_95": "mnas.evaluation.report",
    "accuracy_rows": "mnas.evaluation.report", "build_report": "mnas.evaluation.report",
    "folder_classes": "mnas.evaluation.report", "format_table": "mnas.evaluation.report",
    "load_evaluation_folder": "mnas.evaluation.report", "metrics_rows": "mnas.evaluation.report",
    "plot_confusion_matrix": "mnas.evaluation.report", "predict": "mnas.evaluation.report",
    "relative_files": "mnas.evaluation.report", "report_for": "mnas.evaluation.report",
    "summary_line": "mnas.evaluation.report", "table_columns": "mnas.evaluation.report",
    "wilson_interval": "mnas.evaluation.report", "write_report": "mnas.evaluation.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
