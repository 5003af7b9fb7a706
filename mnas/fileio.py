"""Writes that never leave a half-written file behind (write to a temporary sibling, then rename), and
where mnas keeps its caches."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import torch

TEMP_SUFFIX = ".tmp"  # atomic_path's temporary files: .<name>.<random>.tmp


def mnas_cache_dir(kind: str) -> Path:
    """``$MNAS_CACHE/<kind>``, else ``~/.cache/mnas/<kind>`` (kind: datasets, onnx)."""
    root = Path(os.environ["MNAS_CACHE"]) if os.environ.get("MNAS_CACHE") else Path.home() / ".cache" / "mnas"
    return root / kind


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are meant to be shared like any file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files `atomic_path` leaves when its process is killed mid-write
    (``.<name>.<random>.tmp``) in `folder` and its direct subfolders. Call it only while holding the
    folder's lock (`mnas.locks`): then no live writer can own them."""
    folder = Path(folder)
    candidates = [*folder.glob(f".*{TEMP_SUFFIX}"), *folder.glob(f"*/.*{TEMP_SUFFIX}")]
    removed = []
    for path in candidates:
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
