"""When arrivals are due (an open model: a fixed timetable that ignores how fast the server answers),
and whether a run kept to it.

Pure functions, no gevent: the locustfile sleeps until each due time, the report and the tests check the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# An achieved arrival rate within 1% of the target counts as on target (jitter of a few ms is ~0.01%).
RATE_TOLERANCE = 0.01
# A launch can leave a few ms late for reasons that are not drift (a busy CPU). Over a long run that is
# nothing; over a short step of a few arrivals it alone would exceed RATE_TOLERANCE.
LAUNCH_JITTER_SECONDS = 0.02


def arrival_count(rate: float, seconds: float) -> int:
    """Arrivals at `rate` per second during `seconds`, one at 0, 1/rate, 2/rate, ... (600 for 10/s over 60 s)."""
    if rate <= 0 or seconds <= 0:
        return 0
    return math.ceil(rate * seconds - 1e-9)


@dataclass(frozen=True)
class Phase:
    """A stretch of the run at one arrival rate: the whole run, or one step of the step profile."""

    index: int
    rate: float
    start: float  # seconds from the run's start
    seconds: float

    @property
    def arrivals(self) -> int:
        """How many arrivals this phase plans."""
        return arrival_count(self.rate, self.seconds)

    def due(self, number: int) -> float:
        """Due time of the phase's arrival `number` (0-based), in seconds from the run's start.

        Computed from the start, never by adding intervals, so late wake-ups and rounding do not accumulate.
        """
        return self.start + number / self.rate

    def due_times(self) -> list[float]:
        """Every arrival's due time, in seconds from the run's start."""
        return [self.due(number) for number in range(self.arrivals)]


def constant_plan(rate: float, seconds: float) -> list[Phase]:
    """One phase: `rate` arrivals per second for `seconds` (the published and batch profiles)."""
    if rate <= 0 or seconds <= 0:
        raise ValueError(f"rate and duration must be positive, got {rate}/s for {seconds} s")
    return [Phase(0, rate, 0.0, seconds)]


def step_plan(start_rate: float, increment: float, step_seconds: float, max_rate: float) -> list[Phase]:
    """Back-to-back steps at start_rate, start_rate + increment, ... up to max_rate, each `step_seconds` long."""
    if start_rate <= 0 or step_seconds <= 0 or increment <= 0:
        raise ValueError("--step-start, --step-increment and --step-seconds must be positive")
    if max_rate < start_rate:
        raise ValueError(f"--max-rate {max_rate} is below --step-start {start_rate}")
    count = math.floor((max_rate - start_rate) / increment + 1e-9) + 1
    return [Phase(k, start_rate + k * increment, k * step_seconds, step_seconds) for k in range(count)]


def planned_seconds(plan: list[Phase]) -> float:
    """How long the plan launches arrivals for."""
    return max(phase.start + phase.seconds for phase in plan)


def achieved_rate(launched: int, first: float | None, last: float | None) -> float | None:
    """The rate the launches actually had: (launched - 1) intervals over the first-to-last span; None if unknown."""
    if launched < 2 or first is None or last is None or last <= first:
        return None
    return (launched - 1) / (last - first)


def rate_verdict(achieved: float | None, target: float, launched: int, expected: int) -> tuple[bool, str]:
    """(on target?, one line saying so), e.g. "achieved 9.40/s, target 10/s, 564 of 600 arrivals: MISSED".

    On target means every planned arrival was launched and the achieved rate is within RATE_TOLERANCE, or,
    for a run too short for that to mean anything, within what LAUNCH_JITTER_SECONDS at either end explains.
    """
    if expected == 1:
        ok = launched == 1
    else:
        tolerance = max(RATE_TOLERANCE, LAUNCH_JITTER_SECONDS * target / (expected - 1))
        ok = launched == expected and achieved is not None and abs(achieved - target) <= tolerance * target
    shown = "n/a" if achieved is None else f"{achieved:.2f}/s"
    return ok, f"achieved {shown}, target {target:g}/s, {launched} of {expected} arrivals: {'OK' if ok else 'MISSED'}"
