"""The documentation's result tables, rendered from ``bench/results`` (a clone's tool).

Modules:

- `mnas.docs.tables`: one renderer per table, the pages' marked blocks rewritten
- `mnas.docs.cli`: ``mnas docs tables [--check]``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.docs import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {"TABLES": "mnas.docs.tables", "refresh": "mnas.docs.tables", "render_page": "mnas.docs.tables"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
