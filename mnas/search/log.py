"""The search's log: append-only JSONL, one finished child per line, fsync'ed line by line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mnas.utils.fileio import atomic_write_text


class ChildLog:
    """Append-only JSONL, one finished child per line, durable line by line."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def read(self) -> list[dict]:
        """The finished children; a torn last line (a kill mid-write) is dropped from the file."""
        if not self.path.is_file():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        records = []
        for number, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                if number != len(lines) - 1:
                    raise ValueError(f"{self.path}: line {number + 1} is not JSON: the log is damaged "
                                     "(only a torn last line can be repaired)") from None
                atomic_write_text(self.path, "".join(lines[:-1]))
        if lines and not lines[-1].endswith("\n") and len(records) == len(lines):
            atomic_write_text(self.path, "".join(lines) + "\n")
        return records

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
