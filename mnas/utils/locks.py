"""One run per output folder: an exclusive OS lock held for the run's life, and unique default folders.

``with output_folder_lock(folder, "training"):`` creates `folder` (``~`` expanded) if needed, checks it
is a writable folder, takes an exclusive OS lock on ``folder/.mnas-lock`` (`filelock`'s native lock of a
descriptor: ``flock`` on Linux and macOS, ``LockFileEx`` on its first byte on Windows) and writes the
holder (pid, host, command, start time) into that file, after that first byte. A second run on the same
folder -- another process or this one -- is refused at once with `OutputFolderBusy` naming the folder
and the holder. The kernel drops the lock when the holder exits, however it ends (crash, kill -9), so a
stale lock never blocks anyone. A run deletes its lock file when it ends normally (a lock won on a file
that was deleted meanwhile is retried on the new one, so two runs never hold two different files); after
a crash the file stays, unlocked, and the next run reuses it. Once the lock is held, temporary files a
killed run left behind (``.<name>.*.tmp`` of `mnas.utils.fileio.atomic_path`) are removed: no live writer can
own them any more.

One kind of run per folder: under the lock, a folder is taken only when it is empty or holds nothing but
what that kind of run (the `purpose`) writes -- the names in `KNOWN_OUTPUTS`, or what the caller's
`owns` recognises by content where a name tells nothing (a lessons build's index.html). So a search into a
training's folder (both write curves.png) or a lessons build into a folder of a user's own index.html is
refused, naming what is there and whose it looks like, before anything is written; the folder itself
gets no extra file (it keeps only the outputs).

``unique_run_folder(root, label)`` makes a new folder ``root/<label>-<YYYYmmdd-HHMMSS>-<random>``,
created atomically (``mkdtemp``), so two runs started in the same second never share one.
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
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
from typing import Callable, Iterator

from filelock import lock_descriptor, unlock_descriptor

from mnas.utils.fileio import TEMP_SUFFIX, current_umask, remove_stale_temp_files

logger = logging.getLogger(__name__)

LOCK_FILE_NAME = ".mnas-lock"
# The holder's details start after the byte the lock covers on Windows (others cannot read a locked
# range there); a newline, so the whole file still reads as JSON
_DETAILS_OFFSET = 1
_WINDOWS = os.name == "nt"
# What each kind of run writes into its folder (fnmatch patterns): a folder holding anything else is not
# that kind's. A kind not listed (the lessons build: index.html is anybody's name) takes an empty folder
# only, or what its `owns` recognises.
KNOWN_OUTPUTS = {
    "training": ("model.pth", "last.pth", "classes.txt", "model.onnx", "history.json", "curves.png", "split.json",
                 "evaluation", "checkpoints"),
    "search": ("search_config.json", "children.jsonl", "random.jsonl", "baselines.jsonl", "latency_table.json",
               "controller.pt", "summary.json", "pareto.png", "curves.png", "final", "final.json", "final.md",
               "final.png", "best_arch.txt"),
    "pipeline": ("search", "data", "final", "mlruns", "final.json", "final.md", "final.png", "pipeline.json",
                 "pipeline.md"),
    "table build": ("table.jsonl", "table_build.json"),
    "surrogate build": ("*.jsonl", "*.json", "*.png", "*.md"),
}
_held: dict[Path, str] = {}   # folders locked by this process -> what for (the OS lock alone cannot tell)
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
        with open(lock_path, encoding="utf-8") as handle:
            handle.seek(_DETAILS_OFFSET)
            info = json.loads(handle.read())
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


def check_not_busy(folder: str | os.PathLike, purpose: str | None = None,
                   owns: Callable[[Path], bool] | None = None) -> None:
    """`OutputFolderBusy` now if another run holds `folder`, `OutputFolderError` if it holds files that are
    not a `purpose` run's (checked before any work; taking the lock later stays the real guard). Creates
    nothing."""
    path = expand_folder(folder)
    if purpose is not None and path.is_dir():
        check_folder_kind(path, purpose, owns)
    lock_path = path / LOCK_FILE_NAME
    if not lock_path.is_file():
        return
    path = path.resolve()
    _check_this_process(path)
    try:
        with open(lock_path, encoding="utf-8") as handle:
            if not lock_descriptor(handle.fileno(), blocking=False):
                raise _busy(path, _describe_holder(lock_path))
            unlock_descriptor(handle.fileno())
    except OSError:
        return  # unreadable lock file: taking the lock will say what is wrong


@contextlib.contextmanager
def output_folder_lock(folder: str | os.PathLike, purpose: str,
                       owns: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of `folder` for the block; yields the folder's absolute path.

    `purpose` ("training", "search", ...) is shown to a run that is refused, and is the kind of run the
    folder must hold: files of another kind, or of nobody's, are refused (`check_folder_kind`; `owns(path)`
    says whether an entry is this run's own when `KNOWN_OUTPUTS` cannot tell by its name).
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
        handle.write("\n" * _DETAILS_OFFSET + json.dumps(_holder_info(purpose)))
        handle.flush()
        check_folder_kind(path, purpose, owns)  # under the lock: no other run writes there meanwhile
        removed = remove_stale_temp_files(path)
        if removed:
            logger.info("%s: removed %d temporary file(s) left by an interrupted run", path, len(removed))
        yield path
    finally:
        _release(handle, lock_path)
        with _held_guard:
            _held.pop(path, None)


def check_folder_kind(folder: Path, purpose: str, owns: Callable[[Path], bool] | None = None) -> None:
    """`OutputFolderError` unless everything in `folder` is a `purpose` run's (see the module doc)."""
    entries = _entries(folder)
    foreign = [name for name in entries if not _is_output(name, purpose)
               and not (owns is not None and owns(folder / name))]
    if not foreign:
        return
    shown = ", ".join(foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
    other = next((kind for kind in KNOWN_OUTPUTS if kind != purpose
                  and all(_is_output(name, kind) for name in entries)), None)
    whose = f"a {other} run" if other else f"files that are not a {purpose} run's"
    raise OutputFolderError(f"output folder {str(folder)!r} holds {whose} ({shown}): a {purpose} run there "
                            "would mix its outputs with them and replace those of the same name; choose an "
                            "empty folder or another output folder")


def _is_output(name: str, kind: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in KNOWN_OUTPUTS.get(kind, ()))


def _entries(folder: Path) -> list[str]:
    """What `folder` holds besides the lock file and temporary files of `mnas.utils.fileio`."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.name != LOCK_FILE_NAME and not _is_temp_file(e.name))


def _is_temp_file(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)  # mnas.utils.fileio.atomic_path's


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
            locked = lock_descriptor(handle.fileno(), blocking=False)
        except OSError as error:
            handle.close()
            raise OutputFolderError(f"output folder {str(path)!r}: cannot lock its lock file ({error}): "
                                    "choose a folder on a file system that supports locks") from None
        if not locked:
            handle.close()
            time.sleep(0.05)  # a holder that has just locked may not have written its details yet
            raise _busy(path, _describe_holder(lock_path))
        try:
            current = os.stat(lock_path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(handle.fileno()).st_ino:
            handle.seek(0)
            handle.truncate()
            return handle
        handle.close()  # the previous holder released and deleted it meanwhile


def _release(handle, lock_path: Path) -> None:
    """Delete the lock file and release the lock. Where a file can be deleted while open (POSIX) it is
    deleted still locked, so no waiter can lock it between the two steps; Windows refuses to delete an
    open file, so there the lock is released first and the file deleted unless another run has opened it
    meanwhile (then it stays, and serves that run)."""
    if not _WINDOWS:
        lock_path.unlink(missing_ok=True)  # still holding the lock: the folder keeps only the outputs
        handle.close()  # closing the descriptor releases the lock
        return
    unlock_descriptor(handle.fileno())
    handle.close()
    try:
        lock_path.unlink(missing_ok=True)
    except PermissionError:
        pass


def unique_run_folder(root: str | os.PathLike, label: str) -> Path:
    """A new, empty folder ``root/<label>-<timestamp>-<random>``: unique even within one second."""
    root = prepare_output_folder(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{label}-{time.strftime('%Y%m%d-%H%M%S')}-", dir=root))
    os.chmod(folder, 0o777 & ~current_umask())  # mkdtemp makes 0700; a run folder is shared like any other
    return folder
