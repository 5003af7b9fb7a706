"""The surrogate's measurements as one shipped, checksummed file: the build's runs and its header.

No model is stored (no pickle can be loaded, nothing goes stale): `mnas.search.surrogate.model` refits
from these measurements on load, deterministically, in seconds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

from mnas.search.log import ChildLog
from mnas.search.surrogate.build import BUILD_FILE, RUNS_LOG, STAGES
from mnas.search.surrogate.report import figures
from mnas.utils.fileio import atomic_path, atomic_write_text

DEFAULT_SURROGATE = Path(__file__).resolve().parent.parent / "data" / "surrogate_recipe_f.json.gz"
RUN_COLUMNS = ("arch", "seed", "role", "index", "stage", "accuracy", "macs", "params", "train_seconds")


def pack_runs(build_folder: str | os.PathLike, destination: str | os.PathLike = DEFAULT_SURROGATE,
              stages: Sequence[str] = STAGES) -> dict:
    """Write the build's runs of `stages` (gzip'd JSON, header first, with the acceptance figures of
    `mnas.search.surrogate.acceptance`, measured on the whole build) and a ``.sha256`` beside it;
    returns the header."""
    build_folder, destination = Path(build_folder), Path(destination)
    unknown = sorted(set(stages) - set(STAGES))
    if unknown or not stages:
        raise ValueError(f"surrogate pack stages {list(stages)}: expected some of {', '.join(STAGES)}")
    header = json.loads((build_folder / BUILD_FILE).read_text(encoding="utf-8"))
    measured = ChildLog(build_folder / RUNS_LOG).read()
    runs = [run for run in measured if run.get("stage", "A") in stages]
    # what the measurements are accepted for travels with them: the main job's default search reads it
    header = {**header, "runs": len(runs), "columns": list(RUN_COLUMNS), "stages": sorted(stages),
              "acceptance": figures(build_folder, measured)["acceptance"]}
    payload = json.dumps({"header": header, "runs": runs}, separators=(",", ":")).encode()
    compressed = gzip.compress(payload, compresslevel=9, mtime=0)
    with atomic_path(destination) as temporary:
        temporary.write_bytes(compressed)
    atomic_write_text(destination.with_name(destination.name + ".sha256"),
                      f"{hashlib.sha256(compressed).hexdigest()}  {destination.name}\n")
    return header


def load_runs(path: str | os.PathLike = DEFAULT_SURROGATE) -> tuple[dict, list[dict]]:
    """(header, runs) of a packed file, its checksum and columns checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"surrogate measurements {path} not found: build them with 'python -m mnas "
                                "surrogate build' and pack them with 'python -m mnas surrogate pack'")
    checksum_file = path.with_name(path.name + ".sha256")
    expected = checksum_file.read_text(encoding="utf-8").split()[:1] if checksum_file.is_file() else []
    data = path.read_bytes()
    if not expected or hashlib.sha256(data).hexdigest() != expected[0]:
        raise ValueError(f"surrogate measurements {path}: its SHA-256 does not match {checksum_file.name} (missing, "
                         "empty or different): the file is damaged or was changed; pack it again")
    try:
        packed = json.loads(gzip.decompress(data))
        header, runs = packed["header"], packed["runs"]
    except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"surrogate measurements {path}: not a packed surrogate file ({error})") from None
    for number, run in enumerate(runs):
        missing = [c for c in RUN_COLUMNS if c not in run]
        if missing:
            raise ValueError(f"surrogate measurements {path}: run {number} lacks {', '.join(missing)}")
    return header, runs


def shipped_acceptance(path: str | os.PathLike = DEFAULT_SURROGATE) -> dict:
    """The acceptance the measurements were packed with (`mnas.search.surrogate.acceptance`); a file packed
    before acceptance was recorded counts as not accepted."""
    header, _ = load_runs(path)
    return header.get("acceptance", {"accepted": False, "figures": []})
