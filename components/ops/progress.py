"""A one-line progress bar on stderr, drawn only when stderr is a terminal.

Scripts and CI logs get no control characters; people at a terminal see the bar.
Thread-safe, redrawn at most ten times a second.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

WIDTH = 30
REDRAW_S = 0.1


class Progress:
    """``with Progress("upload", total) as bar: bar.advance()``."""

    def __init__(
        self, label: str, total: int, *, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty() if enabled is None else enabled
        self._lock = threading.Lock()
        self._drawn_at = 0.0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self._draw(force=True)
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more items done."""
        with self._lock:
            self.done += count
        self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._drawn_at < REDRAW_S:
                return
            self._drawn_at = now
            total = max(self.total, 1)
            filled = min(WIDTH, WIDTH * self.done // total)
            line = (
                f"\r{self.label:<12} [{'#' * filled}{'.' * (WIDTH - filled)}] "
                f"{self.done}/{self.total}"
            )
            self._stream.write(line)
            self._stream.flush()
