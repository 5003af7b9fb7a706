"""Class files: one class name per line, in label order."""

from __future__ import annotations

import os
from pathlib import Path

from mnas.data.folders import check_class_names
from mnas.utils.fileio import atomic_write_text


def read_class_file(path: str | os.PathLike, expected: int | None = None) -> list[str]:
    """Class names from a text file, one per line (blank lines ignored); with `expected`, the number
    of names must equal it (the head size of the weights)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class_file {str(path)!r} does not exist")
    try:
        # utf-8-sig: a byte-order mark (Windows editors) must not become part of the first class name
        names = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    except UnicodeDecodeError:
        raise ValueError(f"class_file {str(path)!r} is not UTF-8 text: expected one class name per "
                         "line") from None
    names = [name for name in names if name]
    if not names:
        raise ValueError(f"class_file {str(path)!r} holds no class name: expected one per line")
    if expected is not None and len(names) != expected:
        raise ValueError(f"class_file {str(path)!r} has {len(names)} class names (lines) but the weights' "
                         f"head has {expected} classes: expected one name per class, in label order")
    check_class_names(names, f"class_file {str(path)!r}")
    return names


def write_class_file(path: str | os.PathLike, class_names) -> Path:
    """Write class names one per line (atomic)."""
    names = [str(name) for name in class_names]
    if not names:
        raise ValueError("class names: expected at least one")
    check_class_names(names, "class names")
    atomic_write_text(path, "".join(f"{name}\n" for name in names))
    return Path(path)
