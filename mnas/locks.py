"""One run per output folder: an exclusive OS lock held for the run's life, and unique default folders.

``with output_folder_lock(folder, "training"):`` creates `folder` (``~`` expanded) if needed, checks it
is a writable folder, takes an exclusive ``fcntl.flock`` on ``folder/.mnas-lock`` and writes the holder
(pid, host, command, start time) into that file. A second run on the same folder -- another process or
this one -- is refused at once with `OutputFolderBusy` naming the folder and the holder. The kernel drops
the lock when the holder exits, however it ends (crash, kill -9), so a stale lock never blocks anyone. A
run deletes its lock file when it ends normally (a lock won on a file that was deleted meanwhile is
retried on the new one, so two runs never hold two different files); after a crash the file stays,
unlocked, and the next run reuses it. Once the lock is
held, temporary files a killed run left behind (``.<name>.*.tmp`` of `mnas.fileio.atomic_path`) are
removed: no live writer can own them any more.

``unique_run_folder(root, label)`` makes a new folder ``root/<label>-<YYYYmmdd-HHMMSS>-<random>``,
created atomically (``mkdtemp``), so two runs started in the same second never share one.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import logging
import os
import shlex
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

from .fileio import remove_stale_temp_files

logger = logging.getLogger(__name__)

LOCK_FILE_NAME = ".mnas-lock"
_held: dict[Path, str] = {}   # folders locked by this process -> what for (flock alone cannot tell)
_held_guard = threading.Lock()


class OutputFolderError(ValueError):
    """An output folder that cannot be used: not a folder, not writable, or in use by another run."""


class OutputFolderBusy(OutputFolderError):
    """Another run holds the folder's lock; the message names the folder and the holder."""


def expand_folder(folder: str | os.PathLike) -> Path:
    """`folder` with ``~`` expanded, as an absolute path (a literal ``./~`` folder is never created)."""
    text = str(folder).strip()
    if not text:
        raise OutputFolderError("output folder is empty: expected a folder path")
    return Path(os.path.expanduser(text)).absolute()


def check_output_folder(folder: str | os.PathLike) -> Path:
    """`folder` expanded; a clear error, before anything is written, when it (or the first of its parents
    that exists) is a file or not writable."""
    path = expand_folder(folder)
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise OutputFolderError(f"output folder {str(path)!r} cannot be used: {str(existing)!r} is a file, "
                                "not a folder; choose another output folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == path else f" (its parent {str(existing)!r} is read-only)"
        raise OutputFolderError(f"output folder {str(path)!r} is not writable{where}: choose a folder "
                                "you can write to")
    return path


def prepare_output_folder(folder: str | os.PathLike) -> Path:
    """`check_output_folder`, then create the folder (and its parents)."""
    path = check_output_folder(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputFolderError(f"output folder {str(path)!r} cannot be created ({error.strerror}): "
                                "choose a folder you can write to") from None
    return path


def _holder_info(purpose: str) -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
            "command": shlex.join(sys.argv) if sys.argv and sys.argv[0] else sys.executable,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


def _describe_holder(lock_path: Path) -> str:
    try:
        info = json.loads(lock_path.read_text(encoding="utf-8"))
        return (f"{info['purpose']} run pid {info['pid']} on {info['host']}, started {info['started']}, "
                f"command: {info['command']}")
    except (OSError, ValueError, KeyError, TypeError):  # the holder is still writing its details
        return "another process (its details are not written yet)"


def _busy(path: Path, holder: str) -> OutputFolderBusy:
    return OutputFolderBusy(f"output folder {str(path)!r} is in use by {holder}: wait for it to end, "
                            "or choose another output folder")


def _check_this_process(path: Path) -> None:
    """flock does not exclude a second lock of the same process on another descriptor: `_held` does."""
    if path in _held:
        raise _busy(path, f"a {_held[path]} run of this same process (pid {os.getpid()})")


def check_not_busy(folder: str | os.PathLike) -> None:
    """`OutputFolderBusy` now if another run holds `folder` (checked before any work; taking the lock
    later stays the real guard). Creates nothing."""
    path = expand_folder(folder)
    lock_path = path / LOCK_FILE_NAME
    if not lock_path.is_file():
        return
    path = path.resolve()
    _check_this_process(path)
    try:
        with open(lock_path, encoding="utf-8") as handle:  # released again when closed
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise _busy(path, _describe_holder(lock_path)) from None
    except OSError:
        return  # unreadable lock file: taking the lock will say what is wrong


@contextlib.contextmanager
def output_folder_lock(folder: str | os.PathLike, purpose: str) -> Iterator[Path]:
    """Hold the exclusive lock of `folder` for the block; yields the folder's absolute path.

    `purpose` ("training", "search", ...) is shown to a run that is refused.
    """
    path = prepare_output_folder(folder).resolve()
    with _held_guard:
        _check_this_process(path)
        _held[path] = purpose
    lock_path = path / LOCK_FILE_NAME
    try:
        handle = _acquire(lock_path, path)
    except BaseException:
        with _held_guard:
            _held.pop(path, None)
        raise
    try:
        handle.write(json.dumps(_holder_info(purpose)))
        handle.flush()
        removed = remove_stale_temp_files(path)
        if removed:
            logger.info("%s: removed %d temporary file(s) left by an interrupted run", path, len(removed))
        yield path
    finally:
        lock_path.unlink(missing_ok=True)  # still holding the lock: the folder keeps only the outputs
        handle.close()  # closing the descriptor releases the flock
        with _held_guard:
            _held.pop(path, None)


def _acquire(lock_path: Path, path: Path):
    """The lock file, open and exclusively locked. A holder deletes its file on release, so a lock won
    on a file that is no longer the one at `lock_path` is worthless: then try again on the new one."""
    while True:
        try:
            handle = open(lock_path, "a+", encoding="utf-8")
        except OSError as error:
            raise OutputFolderError(f"output folder {str(path)!r}: cannot open its lock file "
                                    f"({error.strerror}): choose a folder you can write to") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            time.sleep(0.05)  # a holder that has just locked may not have written its details yet
            raise _busy(path, _describe_holder(lock_path)) from None
        try:
            current = os.stat(lock_path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            handle.seek(0)
            handle.truncate()
            return handle
        handle.close()  # the previous holder released and deleted it meanwhile


def unique_run_folder(root: str | os.PathLike, label: str) -> Path:
    """A new, empty folder ``root/<label>-<timestamp>-<random>``: unique even within one second."""
    root = prepare_output_folder(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=root))
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(folder, 0o777 & ~mask)  # mkdtemp makes 0700; a run folder is shared like any other
    return folder
