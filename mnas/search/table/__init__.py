"""The benchmark table of a search sub-space: its build, its shipped file, table mode.

Modules:

- `mnas.search.table.build`: the sub-space and the build of its table (resumable, one JSONL line per measurement)
- `mnas.search.table.file`: the shipped table file: packed with its checksum, read back checked
- `mnas.search.table.executor`: table mode: children looked up instead of trained and timed
- `mnas.search.table.cli`: ``mnas table build | pack | show``

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.search.table import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "BUILD_FILE": "mnas.search.table.build", "BuildPlan": "mnas.search.table.build",
    "COLUMNS": "mnas.search.table.build", "ENTRIES_LOG": "mnas.search.table.build",
    "TABLE_BLOCKS": "mnas.search.table.build", "TABLE_KERNELS": "mnas.search.table.build",
    "TABLE_OPS": "mnas.search.table.build", "all_decisions": "mnas.search.table.build",
    "build_table": "mnas.search.table.build", "free_decisions": "mnas.search.table.build",
    "table_space": "mnas.search.table.build",
    "DEFAULT_TABLE": "mnas.search.table.file", "load_table": "mnas.search.table.file",
    "pack_table": "mnas.search.table.file", "seed_noise": "mnas.search.table.file",
    "TableExecutor": "mnas.search.table.executor",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
