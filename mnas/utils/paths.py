"""Every folder the package reads or writes by default, and every ``MNAS_*`` variable that moves one.

One module, so that where files go is read in one place (and changed in one place):

| variable | default | what |
|---|---|---|
| ``MNAS_CACHE`` | ``~/.cache/mnas`` | decoded datasets, exported ONNX models |
| ``MNAS_OUTPUT_DIR`` | ``~/mnas-runs`` | trainings, searches, the pipeline, the teacher's edition when installed |
| ``MNAS_CIFAR10`` | (none) | a CIFAR-10 folder (train/<class>/, test/<class>/) to use first |
| ``MNAS_OFFLINE`` | (unset) | ``1``: never download weights or datasets |
| ``MNAS_FAST`` | (unset) | ``1``: smoke-test sizes (lessons, the pipeline; set by the test suite) |

The package may sit in a clone of the repository or in site-packages: what only a clone has (the
``../shared/datasets`` folder beside it, ``notebooks/``) is looked for only when `SOURCE_CLONE` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "MNAS_CACHE"
OUTPUT_ENV = "MNAS_OUTPUT_DIR"
CIFAR10_ENV = "MNAS_CIFAR10"
OFFLINE_ENV = "MNAS_OFFLINE"
FAST_ENV = "MNAS_FAST"

PACKAGE_DIR = Path(__file__).resolve().parents[1]   # mnas/
_ABOVE = PACKAGE_DIR.parent
# the clone the package was imported from; None once installed (site-packages has no pyproject.toml)
SOURCE_CLONE: Path | None = _ABOVE if (_ABOVE / "pyproject.toml").is_file() else None

DEFAULT_CACHE = Path.home() / ".cache" / "mnas"
CIFAR10_FOLDER = DEFAULT_CACHE / "cifar10"              # where `python -m mnas data cifar10` writes
CIFAR10_DOWNLOAD_DIR = DEFAULT_CACHE / "cifar10-download"  # torchvision's archive, kept for a rerun


def env_flag(name: str, values: tuple[str, ...] = ("1", "true", "yes", "on")) -> bool:
    """Whether the variable is set to one of `values` (case and spaces ignored)."""
    return os.environ.get(name, "").strip().lower() in values


def cache_dir(kind: str) -> Path:
    """``$MNAS_CACHE/<kind>``, else ``~/.cache/mnas/<kind>`` (kind: datasets, onnx)."""
    return (Path(os.environ[CACHE_ENV]) if os.environ.get(CACHE_ENV) else DEFAULT_CACHE) / kind


def output_root() -> Path:
    """``$MNAS_OUTPUT_DIR``, else ``~/mnas-runs``: where runs go when no folder is given."""
    return Path(os.environ.get(OUTPUT_ENV) or Path.home() / "mnas-runs")


def offline() -> bool:
    """``MNAS_OFFLINE=1``: nothing is downloaded unless asked for explicitly."""
    return env_flag(OFFLINE_ENV)


def fast() -> bool:
    """``MNAS_FAST=1``: smoke-test sizes."""
    return os.environ.get(FAST_ENV) == "1"


def cifar10_candidates() -> list[Path]:
    """Where CIFAR-10 is looked for, in order: $MNAS_CIFAR10, ../shared/datasets/cifar10-jpg beside a clone,
    the folder ``python -m mnas data cifar10`` writes."""
    candidates = [Path(os.environ[CIFAR10_ENV])] if os.environ.get(CIFAR10_ENV) else []
    if SOURCE_CLONE is not None:
        candidates.append(SOURCE_CLONE.parent / "shared" / "datasets" / "cifar10-jpg")
    return [*candidates, CIFAR10_FOLDER]
