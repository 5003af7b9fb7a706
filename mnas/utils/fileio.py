"""Writes that never leave a half-written file behind (write to a temporary sibling, then rename),
reads of torch files that fail clearly, downloads that never leave a broken file under the final
name, and where mnas keeps its caches."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch

TEMP_SUFFIX = ".tmp"  # atomic_path's temporary files: .<name>.<random>.tmp
# a full disk, quota or file-size limit, a read-only drive, an I/O error: what a write inside an
# atomic block can meet from the storage (other errors there, e.g. a network one, pass as they are)
SPACE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}
DOWNLOAD_CHUNK = 1 << 20


class WriteError(OSError):
    """A file could not be written (disk full, read-only folder...); the previous file is unchanged."""


def current_umask() -> int:
    """The process's umask (reading it means setting it: it is set back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_error(path: Path, error: OSError, existed: bool) -> WriteError:
    kept = f"the previous {path.name} is unchanged" if existed else f"no {path.name} was written"
    fixes = {errno.ENOSPC: "free disk space on its drive", errno.EDQUOT: "free space within your disk quota",
             errno.EFBIG: "the file outgrew the size limit of the drive or process: write elsewhere"}
    fix = fixes.get(error.errno, f"make {path.parent} writable or write elsewhere")
    return WriteError(error.errno, f"could not write {path}: {error.strerror or error} ({kept}); {fix}")


@contextmanager
def _as_write_error(path: Path, existed: bool, errnos: set[int] | None = None) -> Iterator[None]:
    """An OSError (of `errnos`, or any) becomes a `WriteError` naming `path` rather than a temporary name."""
    try:
        yield
    except WriteError:
        raise
    except OSError as error:
        if errnos is not None and error.errno not in errnos:
            raise
        raise _write_error(path, error, existed) from error


def _fsync(path: str | os.PathLike) -> None:
    """Flush to the disk: a full disk or an I/O error that the page cache hid shows here, before the
    rename, not later as a damaged file under the final name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; it replaces `path` only if the block succeeds. A failing
    storage (disk full, read-only folder) is a `WriteError` naming `path`; no temporary file is left."""
    path = Path(path)
    existed = path.exists()
    with _as_write_error(path, existed):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; outputs are meant to be shared like any file
        with _as_write_error(path, existed, SPACE_ERRNOS):
            yield Path(tmp)
        with _as_write_error(path, existed):
            _fsync(tmp)
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


class _KeepWriteError:
    """torch.save reports a failed write as RuntimeError('unexpected pos ...'); this keeps the OSError
    (errno and all) so that a full disk reads as one."""

    def __init__(self, file):
        self.file, self.error = file, None

    def write(self, data):
        try:
            return self.file.write(data)
        except OSError as error:
            self.error = error
            raise

    def flush(self):
        self.file.flush()


def atomic_torch_save(obj, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        writer = _KeepWriteError(file)
        try:
            torch.save(obj, writer)
        except RuntimeError:
            if writer.error is None:
                raise
            raise writer.error from None


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files `atomic_path` leaves when its process is killed mid-write
    (``.<name>.<random>.tmp``) in `folder` and its direct subfolders. Call it only while holding the
    folder's lock (`mnas.utils.locks`): then no live writer can own them."""
    folder = Path(folder)
    candidates = [*folder.glob(f".*{TEMP_SUFFIX}"), *folder.glob(f"*/.*{TEMP_SUFFIX}")]
    removed = []
    for path in candidates:
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


# ---------------------------------------------------------------------------------------------------
# reading torch files


def _load_error_detail(error: Exception) -> str:
    """torch.load's error, shortened; its advice to retry with weights_only=False is not for us."""
    text = (str(error).strip().splitlines() or [""])[0].split(". ")[0][:200]  # torch's advice follows
    if "Weights only load failed" in text:
        return (f"corrupt, or it holds objects other than tensors and plain containers, which "
                f"weights_only loading refuses ({type(error).__name__})")
    return f"truncated or damaged ({type(error).__name__}: {text})"


_TEXT_BYTES = frozenset(range(32, 127)) | {9, 10, 13}


def _text_kind(head: bytes) -> str | None:
    """'an HTML page' / 'a text file' when the first bytes say so (a checkpoint is a zip or a binary
    pickle, never plain ASCII)."""
    if head.lstrip()[:15].lower().startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        return "an HTML page"
    return "a text file" if all(byte in _TEXT_BYTES for byte in head) else None


def read_torch_file(path: str | os.PathLike, what: str, *, show_path: bool = True):
    """``torch.load(path, weights_only=True)`` on the CPU. A missing file is a FileNotFoundError; a
    directory, an empty file, an HTML error page, a truncated or damaged file, or one holding objects
    that are not tensors and plain containers (unpickling them could run code: weights_only refuses)
    is a ValueError naming `what` and the file (`what` alone without `show_path`: a temporary file)."""
    path = Path(path)
    name = f"{what} {str(path)!r}" if show_path else what
    if path.is_dir():
        raise ValueError(f"{name} is a directory: expected a PyTorch checkpoint file (written by torch.save)")
    if not path.is_file():
        raise FileNotFoundError(f"{name} does not exist")
    expected = "expected a PyTorch checkpoint (a complete file written by torch.save)"
    with open(path, "rb") as file:
        head = file.read(512)
    if not head:
        raise ValueError(f"{name} is not a readable PyTorch checkpoint: it is empty (0 bytes; an interrupted "
                         f"copy or download?); {expected}")
    kind = _text_kind(head)
    if kind:
        first = (head.strip().splitlines() or [b""])[0][:40].decode("utf-8", "replace")
        why = ", e.g. a server's error page saved in its place" if kind == "an HTML page" else ""
        raise ValueError(f"{name} is not a readable PyTorch checkpoint: it is {kind} (starting {first!r})"
                         f"{why}; {expected}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ValueError(f"{name} is not a readable PyTorch checkpoint: {_load_error_detail(error)}; "
                         f"{expected}") from None


# ---------------------------------------------------------------------------------------------------
# downloads


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DownloadError(ValueError):
    """A download that failed or fetched something else than the file; nothing was stored."""


def _fetch(url: str, out, *, deadline_s: float, read_timeout_s: float):
    """Stream `url` into the open file `out`; returns its sha256 object. The per-read timeout alone would
    let a server that sends a byte now and then hold the download for ever: the deadline is for all of it."""
    started = time.monotonic()
    digest, size = hashlib.sha256(), 0
    request = urllib.request.Request(url, headers={"User-Agent": "mnas"})
    with urllib.request.urlopen(request, timeout=min(read_timeout_s, deadline_s)) as response:
        announced = response.headers.get("Content-Length")
        # read1: what has arrived (read() would wait for a whole chunk, past the deadline)
        while chunk := response.read1(DOWNLOAD_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
            if time.monotonic() - started > deadline_s:
                raise DownloadError(f"it took longer than the {deadline_s:g} s allowed for the whole download "
                                    f"({size:,} bytes received)")
    if announced is not None and announced.isdigit() and size != int(announced):
        raise DownloadError(f"short read: {size:,} of the {int(announced):,} bytes the server announced")
    return digest


def atomic_download(url: str, path: str | os.PathLike, *, deadline_s: float, read_timeout_s: float,
                    sha256: str | None = None, check: Callable[[Path], None] | None = None) -> Path:
    """Download `url` to `path` through a temporary sibling renamed only once the file is complete (the
    announced size), has its known `sha256` (a full hash or a prefix) and passes `check(temporary
    path)`; anything else is a `DownloadError` naming the url, the file and what was wrong, and nothing
    is left under `path`."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as out:
                digest = _fetch(url, out, deadline_s=deadline_s, read_timeout_s=read_timeout_s)
            if sha256 and not digest.hexdigest().startswith(sha256.lower()):
                raise DownloadError(f"its SHA-256 {digest.hexdigest()} does not match the expected {sha256}")
            if check is not None:
                check(tmp)
    except Exception as error:
        # ours (a check, a short read, a full disk) say what was wrong; others (HTTP, network) by type
        detail = str(error) if isinstance(error, (ValueError, WriteError)) else (
            f"{type(error).__name__}: {str(error)[:200]}")
        raise DownloadError(f"{detail}, downloading {url} to {path}; nothing was stored") from None
    return path
