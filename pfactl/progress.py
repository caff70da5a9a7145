"""A small progress bar on stderr, redrawn in place at most ten times a second.

On a terminal it appears once a run has taken half a second (short files never show it) and is erased
at the end; when forced (``--progress``) it is drawn from the start and its last state stays.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, TextIO

_WIDTH = 30
_INTERVAL = 0.1
_DELAY = 0.5


class Progress:
    def __init__(self, stream: TextIO, total_bytes: Optional[int], *, enabled: bool, forced: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._total = total_bytes if total_bytes else None
        self._enabled = enabled or forced
        self._forced = forced
        self._clock = clock
        self._started = clock()
        self._next_draw = self._started if forced else self._started + _DELAY
        self._drawn = False
        self._width = 0

    def update(self, done_bytes: int, rows: int, errors: int) -> None:
        if not self._enabled:
            return
        now = self._clock()
        if now < self._next_draw:
            return
        self._next_draw = now + _INTERVAL
        self._draw(done_bytes, rows, errors, now)

    def finish(self, done_bytes: int, rows: int, errors: int) -> None:
        """Draw the final state (forced) or erase the bar (terminal), so the summary starts a clean line."""
        if self._forced:
            self._draw(done_bytes, rows, errors, self._clock())
            self._stream.write("\n")
        elif self._drawn:
            self._stream.write("\r" + " " * self._width + "\r")
        self._stream.flush()

    def _draw(self, done_bytes: int, rows: int, errors: int, now: float) -> None:
        elapsed = int(now - self._started)
        clock = f"{elapsed // 60}:{elapsed % 60:02d}"
        counts = f"{rows:,} rows, {errors:,} errors, {clock}"
        if self._total:
            fraction = min(1.0, done_bytes / self._total)
            filled = int(fraction * _WIDTH)
            line = f"[{'#' * filled}{'-' * (_WIDTH - filled)}] {fraction:4.0%}  {counts}"
        else:
            line = f"{done_bytes / 1e6:,.1f} MB  {counts}"
        self._stream.write("\r" + line.ljust(self._width))
        self._stream.flush()
        self._width = max(self._width, len(line))
        self._drawn = True
