"""Numbers from request records: exact latency percentiles, status counts, and the step profile's verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from loadtest.records import RequestRecord

LATENCY_KEYS = ("min", "median", "p95", "p99", "max")


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of `values` by linear interpolation between order statistics; None if empty."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def latency_summary(latencies: Sequence[float]) -> dict[str, float | None]:
    """min, median, p95, p99 and max of `latencies` (ms), computed over every value, none sampled away."""
    return {"min": percentile(latencies, 0), "median": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99), "max": percentile(latencies, 100)}


def status_counts(records: Iterable[RequestRecord]) -> dict[str, int]:
    """HTTP status -> count, with "0" for requests that got no response; keys sorted."""
    counts = Counter(str(record.status) for record in records)
    return dict(sorted(counts.items()))


def step_verdict(records: Sequence[RequestRecord], planned: int, launched: int, rate_ok: bool,
                 p99_bound_ms: float) -> tuple[bool, float | None, str]:
    """(sustained?, p99 in ms, why) for one step: every planned arrival answered, none failed, p99 within bound."""
    failures = sum(1 for record in records if not record.ok)
    p99 = percentile([record.latency_ms for record in records], 99)
    if not rate_ok:
        return False, p99, f"the load generator missed the step's schedule ({launched} of {planned} launched)"
    if failures:
        return False, p99, f"{failures} failed request(s)"
    if len(records) < launched:
        return False, p99, f"{launched - len(records)} request(s) unanswered"
    if p99 is None:
        return False, None, "no responses"
    if p99 > p99_bound_ms:
        return False, p99, f"p99 {p99:.1f} ms > {p99_bound_ms:g} ms"
    return True, p99, f"p99 {p99:.1f} ms <= {p99_bound_ms:g} ms, no errors"
