"""A point in time by which a call must be answered, shared by everything the call waits for."""

import time
from typing import Callable, Optional


class Deadline:
    """``budget_ms`` from now (``clock`` is monotonic seconds); never later than ``cap_ms`` from now.

    One deadline covers a whole call: the wait for the engine, each record of a batch, and the
    engine's own time checks, so a caller waits at most the budget whatever is queued ahead of it.
    ``engine_ms`` adds up the time the engine itself ran within it (for metrics).
    """

    def __init__(self, budget_ms: float, cap_ms: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if cap_ms is not None:
            budget_ms = min(budget_ms, max(0.0, cap_ms))
        self.budget_ms = budget_ms
        self._clock = clock
        self._ends = clock() + budget_ms / 1000
        self.engine_ms = 0.0

    def remaining_ms(self) -> float:
        return max(0.0, (self._ends - self._clock()) * 1000)

    @property
    def expired(self) -> bool:
        """Less than a millisecond left: the engine's timer counts whole milliseconds."""
        return self.remaining_ms() < 1
