"""The shipped table file: packing a build into one gzip JSON with its checksum, reading it back checked."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import zlib
from pathlib import Path

from mnas.search.log import ChildLog
from mnas.search.table.build import BUILD_FILE, COLUMNS, ENTRIES_LOG, table_space
from mnas.utils.fileio import atomic_write_bytes, atomic_write_text
from mnas.utils.paths import PACKAGE_DIR


def pack_table(build_folder: str | os.PathLike, destination: str | os.PathLike) -> dict:
    """Write the measured entries as one gzip'd JSON file (header: the build's settings and machines)
    and a ``.sha256`` beside it; returns the header. Both written atomically, the table first: a
    failed write keeps the previous pair, and a table newer than its checksum is refused, not trusted."""
    build_folder = Path(build_folder)
    build = json.loads((build_folder / BUILD_FILE).read_text(encoding="utf-8"))
    entries = sorted(ChildLog(build_folder / ENTRIES_LOG).read(), key=lambda e: e["arch"])
    space = table_space(build["config"]["width"])
    header = {**build, "entries": len(entries), "space_size": space.size, "columns": list(COLUMNS)}
    payload = json.dumps({"header": header, "entries": entries}, separators=(",", ":")).encode()
    destination = Path(destination)
    compressed = gzip.compress(payload, compresslevel=9, mtime=0)
    atomic_write_bytes(destination, compressed)
    atomic_write_text(_checksum_file(destination), f"{hashlib.sha256(compressed).hexdigest()}  {destination.name}\n")
    return header


def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _table_bytes(path: Path) -> bytes:
    """The packed file's bytes, once they match the SHA-256 in the ``.sha256`` beside it."""
    checksum_file = _checksum_file(path)
    for file in (path, checksum_file):
        if file.is_dir():
            raise ValueError(f"benchmark table {path}: {file.name} is a directory, expected a file")
    if not path.is_file():
        raise FileNotFoundError(f"benchmark table {path} not found")
    if not checksum_file.is_file():
        raise ValueError(f"benchmark table {path}: no {checksum_file.name} beside it to check it against")
    words = checksum_file.read_text(encoding="utf-8", errors="replace").split()
    if not words:
        raise ValueError(f"benchmark table {path}: its {checksum_file.name} is empty: expected the table's "
                         "SHA-256 (64 hex digits); pack it again")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != words[0].lower():
        raise ValueError(f"benchmark table {path}: its SHA-256 does not match {checksum_file.name}: the file "
                         "is damaged or was changed; pack it again")
    return data


def _parse_table(path: Path, data: bytes) -> tuple[dict, list]:
    """(header, entries) of the gzip'd JSON; what is wrong with it, named, when it is not a table."""
    try:
        table = json.loads(gzip.decompress(data))
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"benchmark table {path}: not a valid gzip file ({type(error).__name__}: {error}): "
                         "expected the gzip'd JSON that 'python -m mnas table pack' writes") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"benchmark table {path}: its content is not valid JSON ({error}): expected the "
                         "JSON that 'python -m mnas table pack' writes") from None
    if not isinstance(table, dict) or not isinstance(table.get("header"), dict):
        raise ValueError(f"benchmark table {path}: no 'header' (a dict of the build's settings): expected "
                         "{'header': {...}, 'entries': [...]}; pack it again")
    if not isinstance(table.get("entries"), list) or not all(isinstance(e, dict) for e in table["entries"]):
        raise ValueError(f"benchmark table {path}: its 'entries' must be a list of dicts (one per "
                         "architecture); pack it again")
    return table["header"], table["entries"]


def load_table(path: str | os.PathLike) -> tuple[dict, dict[str, dict]]:
    """(header, {arch: entry}) of a packed table; its checksum, format and columns checked (a ValueError
    naming the file and what is wrong; FileNotFoundError when it is missing)."""
    path = Path(path)
    header, entries = _parse_table(path, _table_bytes(path))
    for entry in entries:
        missing = [c for c in COLUMNS if c not in entry]
        if (missing or not isinstance(entry["accuracy"], list) or not entry["accuracy"]
                or not isinstance(entry["latency_ratio"], list)
                or len(entry["accuracy"]) != len(entry["latency_ratio"])):
            raise ValueError(f"benchmark table {path}: entry {str(entry.get('arch', '?'))[:60]!r} lacks "
                             f"columns {missing or 'or has mismatched seeds'}")
    return header, {entry["arch"]: entry for entry in entries}


def seed_noise(entries: dict[str, dict]) -> dict:
    """The proxy's noise as the table knows it: the mean within-entry standard deviation of accuracy
    and of the latency ratio over the entries measured with several seeds."""
    repeated = [e for e in entries.values() if len(e["accuracy"]) > 1]

    def mean_std(column):
        stds = []
        for e in repeated:
            values = e[column]
            mean = sum(values) / len(values)
            stds.append(math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)))
        return sum(stds) / len(stds) if stds else float("nan")

    return {"entries_with_seeds": len(repeated), "accuracy_std": mean_std("accuracy"),
            "latency_ratio_std": mean_std("latency_ratio")}


DEFAULT_TABLE = PACKAGE_DIR / "search" / "data" / "b1_blocks2to5_op_kernel.json.gz"
