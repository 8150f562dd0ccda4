"""Progress on stderr for long runs: redrawn in place on a terminal, a line every few seconds in logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_objects: int, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.total = total_objects
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.objects = 0
        self.bytes = 0
        self.started = time.monotonic()
        self._last = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def advance(self, objects: int = 0, nbytes: int = 0) -> None:
        self.objects += objects
        self.bytes += nbytes
        now = time.monotonic()
        if now - self._last >= (0.2 if self._tty else 5.0):
            self._last = now
            self._draw()

    def stage(self, message: str) -> None:
        if not self.quiet:
            self._clear()
            print(message, file=self.stream, flush=True)

    def done(self) -> None:
        if self.objects and (self._tty or time.monotonic() - self._last > 0.5):
            self._draw()
        self._clear()

    def _draw(self) -> None:
        if self.quiet:
            return
        elapsed = max(time.monotonic() - self.started, 1e-6)
        line = (
            f"objects {self.objects}/{self.total}  bytes {self.bytes / 1e6:,.1f} MB  "
            f"{self.bytes / 1e6 / elapsed:,.1f} MB/s  {elapsed:,.0f}s"
        )
        if self._tty:
            print("\r" + line, end="", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self._tty and not self.quiet:
            print("\r" + " " * 80 + "\r", end="", file=self.stream, flush=True)
