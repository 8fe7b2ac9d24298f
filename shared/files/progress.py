"""Progress of long work: an updating line on a TTY, a line every few seconds otherwise.

Used by both sides (batch rendering, part generation).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Report `done` of `total` units with rate and ETA; `error()` lines are never lost."""

    def __init__(
        self,
        total: int,
        unit: str = "parts",
        stream: TextIO | None = None,
        every: float = 5.0,
        enabled: bool = True,
    ):
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every
        self.enabled = enabled
        self.start = time.monotonic()
        self._last = 0.0
        self._shown = False

    def update(self, done: int, note: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not self.tty and now - self._last < self.every and done < self.total:
            return
        self._last = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else 0.0
        width = 24
        filled = int(width * done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {done}/{self.total} {self.unit}  {elapsed:5.1f}s elapsed"
            f"  ETA {eta:5.1f}s  {note}"
        )
        if self.tty:
            self.stream.write("\r\033[K" + line[:160])
            self._shown = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def error(self, message: str, kind: str = "error") -> None:
        """Print one error (or other `kind`) line, above the progress line on a TTY."""
        if self.tty and self._shown:
            self.stream.write("\r\033[K")
        self.stream.write(f"{kind}: {message}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
