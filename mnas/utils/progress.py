"""Progress of long work, told truthfully: a tqdm bar when stderr is a terminal, plain lines elsewhere (a
pipe, a log file, CI, an Ikomia log): one per finished unit, or at most one every `every_s` seconds for
many quick units (and always the last), each with the elapsed time and an estimate of the time left."""

from __future__ import annotations

import sys
import time
from typing import Callable


def format_duration(seconds: float) -> str:
    """45 s, 3.2 min, 1.4 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """`total` units of work named `what`; `step(note)` after each finished unit.

    `terminal` None: a bar when stderr is a terminal, lines otherwise. `write` receives each line (and
    every `message`) when there is no bar: stderr by default, or a logger's ``info``. `every_s` > 0:
    without a bar, a line only once that many seconds have passed since the last one, and for the last
    unit (images by the thousand: a line each would bury the output).
    """

    def __init__(self, total: int, what: str, *, unit: str = "item", terminal: bool | None = None,
                 write: Callable[[str], None] | None = None, every_s: float = 0.0):
        self.total, self.what, self.done = max(0, int(total)), what, 0
        self.started = time.monotonic()
        self.every_s, self._last_line = float(every_s), self.started
        self._write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self._bar = None
        if sys.stderr.isatty() if terminal is None else terminal:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, unit=unit, desc=what)

    def times(self) -> tuple[float, float | None]:
        """(seconds elapsed, seconds left by the mean pace so far, None before the first unit)."""
        elapsed = time.monotonic() - self.started
        if not self.done:
            return elapsed, None
        return elapsed, elapsed / self.done * max(0, self.total - self.done)

    def line(self, note: str = "") -> str:
        elapsed, left = self.times()
        pace = f"{format_duration(elapsed)} elapsed" + ("" if left is None else f", about {format_duration(left)} left")
        return f"[{self.what}] {self.done}/{self.total}{' ' + note if note else ''}; {pace}"

    def step(self, note: str = "", count: int = 1) -> None:
        self.done += count
        if self._bar is None:
            now = time.monotonic()
            if now - self._last_line >= self.every_s or self.done >= self.total:
                self._last_line = now
                self._write(self.line(note))
            return
        self._bar.update(count)
        if note:
            self._bar.set_postfix_str(note)

    def message(self, text: str) -> None:
        """A line of its own (a stage starting, a child's details), above the bar when there is one."""
        if self._bar is None:
            self._write(text)
        else:
            self._bar.write(text, file=sys.stderr)  # where the bar is (tqdm's default is stdout)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
