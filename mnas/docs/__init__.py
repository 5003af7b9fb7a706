"""The documentation's result tables, rendered from ``bench/results`` (a clone's tool).

Modules:

- `mnas.docs.tables`: one renderer per table, the pages' marked blocks rewritten
- `mnas.docs.cli`: ``mnas docs tables [--check]``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.docs import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "BLOCK": "mnas.docs.tables", "EXPORT": "mnas.docs.tables", "FENCE": "mnas.docs.tables",
    "LATENCY_ENGINES_RUN": "mnas.docs.tables", "METERS": "mnas.docs.tables", "RENDER_COMMAND": "mnas.docs.tables",
    "REPOSITORY": "mnas.docs.tables", "STRATEGY_LABELS": "mnas.docs.tables", "SURROGATE": "mnas.docs.tables",
    "SURROGATE_COMMAND": "mnas.docs.tables", "TABLES": "mnas.docs.tables", "export_executorch": "mnas.docs.tables",
    "latency_engines": "mnas.docs.tables", "latency_estimators": "mnas.docs.tables", "pages": "mnas.docs.tables",
    "proxy_fidelity": "mnas.docs.tables", "refresh": "mnas.docs.tables", "render_page": "mnas.docs.tables",
    "strategies": "mnas.docs.tables", "strategies_constraints": "mnas.docs.tables",
    "strategies_facts": "mnas.docs.tables", "surrogate_learning_curve": "mnas.docs.tables",
    "surrogate_noise": "mnas.docs.tables", "surrogate_references": "mnas.docs.tables",
    "surrogate_summary": "mnas.docs.tables", "table_build": "mnas.docs.tables",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
