"""pfactl's progress bar: tqdm on stderr, measuring the input in bytes read (or any other unit), with two
counts so far (rows and errors, unless told otherwise).

On a terminal it appears once a run has taken half a second (short files never show it) and is erased at
the end; when forced (``--progress``) it is drawn from the start and its last state stays. It writes only
to the stream it is given, never to the results.
"""

from __future__ import annotations

import os
from typing import Optional, TextIO, Tuple

from tqdm import tqdm

DELAY_SECONDS = 0.5  # a run shorter than this never shows a bar on a terminal
INTERVAL_SECONDS = 0.1  # redraw at most ten times a second
UNSIZED = (80, 24)  # columns, lines for a terminal that reports no size, where tqdm would draw nothing


class Progress:
    """A bar for one run over ``total_bytes`` of input (None: unknown, such as a pipe).

    ``enabled``: show it, after :data:`DELAY_SECONDS` (stderr is a terminal); ``forced``: show it from the
    start and keep its final state. Neither: it writes nothing. ``unit`` other than bytes counts things
    (``total_bytes`` is then how many are expected); ``labels`` name the two counts shown beside the bar.
    """

    def __init__(self, stream: TextIO, total_bytes: Optional[int], *, enabled: bool, forced: bool = False,
                 unit: str = "B", labels: Tuple[str, str] = ("rows", "errors")) -> None:
        self._stream = stream
        self._labels = labels
        columns, lines = _fixed_size(stream)
        self._bar = tqdm(total=total_bytes or None, file=stream, disable=not (enabled or forced),
                         delay=0 if forced else DELAY_SECONDS, leave=forced, mininterval=INTERVAL_SECONDS,
                         unit=unit, unit_scale=unit == "B", ncols=columns, nrows=lines,
                         dynamic_ncols=columns is None)

    def update(self, done_bytes: int, rows: int, errors: int) -> None:
        if self._bar.disable:
            return
        self._bar.set_postfix_str(self._counts(rows, errors), refresh=False)
        self._bar.update(done_bytes - self._bar.n)

    def write(self, line: str) -> None:
        """Write ``line`` to the stream on a line of its own, above the bar if one is shown."""
        self._bar.write(line, file=self._stream)

    def finish(self, done_bytes: int, rows: int, errors: int) -> None:
        """Draw the final state (forced) or erase the bar (terminal), so the summary starts a clean line."""
        if not self._bar.disable:
            self._bar.set_postfix_str(self._counts(rows, errors), refresh=False)
            self._bar.update(done_bytes - self._bar.n)
        self._bar.close()

    def _counts(self, rows: int, errors: int) -> str:
        return f"{rows:,} {self._labels[0]}, {errors:,} {self._labels[1]}"


def _fixed_size(stream: TextIO) -> Tuple[Optional[int], Optional[int]]:
    """(None, None): tqdm follows the terminal's size (or, not a terminal, draws at full length). A terminal
    that reports 0 columns (a pseudo-terminal nobody sized, as under `script` or some CI runners) gets
    :data:`UNSIZED`."""
    try:
        unsized = os.get_terminal_size(stream.fileno()).columns <= 0
    except (OSError, ValueError):  # not a terminal, or no file descriptor at all
        unsized = False
    return UNSIZED if unsized else (None, None)
