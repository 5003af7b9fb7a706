"""Evaluation: a model file's report on labelled images (accuracy with intervals, confusion matrix, F1).

Modules:

- `mnas.evaluation.report`: predictions, the report, its files and its confusion-matrix picture
- `mnas.evaluation.cli`: ``mnas evaluate``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.evaluation import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "REPORT_FILES": "mnas.evaluation.report", "accuracy_rows": "mnas.evaluation.report",
    "build_report": "mnas.evaluation.report", "format_table": "mnas.evaluation.report",
    "predict": "mnas.evaluation.report", "relative_files": "mnas.evaluation.report",
    "report_for": "mnas.evaluation.report", "summary_line": "mnas.evaluation.report",
    "table_columns": "mnas.evaluation.report", "wilson_interval": "mnas.evaluation.report",
    "write_report": "mnas.evaluation.report",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
