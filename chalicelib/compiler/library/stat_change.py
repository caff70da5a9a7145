"""``stat.change.*``: change detection, ported from titus ``lib/stat/change.py`` with its exact semantics.

titus's quirk kept: ``stat.change.zValue`` with ``unbiased`` divides ``count / (count - 1.0)`` without
a guard, so a count of 1 raises Python's ``ZeroDivisionError`` (whether or not ``unbiased`` is true).
"""

import math  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
from typing import Any, Dict

from .arithmetic import div as _div
from .registry import Site, native
from . import types  # noqa: F401  (the titus shims)

from titus.errors import PFARuntimeException


def _update_trigger(predicate: bool, history: Dict[str, Any]) -> Dict[str, Any]:
    num_events = history["numEvents"]
    num_runs = history["numRuns"]
    current_run = history["currentRun"]
    longest_run = history["longestRun"]
    if num_events < 0 or num_runs < 0 or current_run < 0 or longest_run < 0:
        raise PFARuntimeException("counter out of range", 37000, "stat.change.updateTrigger", None)
    if predicate:
        num_events += 1
        if current_run == 0:
            num_runs += 1
        current_run += 1
        if current_run > longest_run:
            longest_run = current_run
    else:
        current_run = 0
    return dict(history, numEvents=num_events, numRuns=num_runs, currentRun=current_run, longestRun=longest_run)


@native("stat.change.updateTrigger")
def _emit_update_trigger(site: Site) -> str:
    return site.call(_update_trigger)




def _z_value(x: Any, mean_variance: Dict[str, Any]) -> float:
    mean = mean_variance["mean"]
    variance = mean_variance["variance"]
    sigma = math.sqrt(variance) if variance >= 0.0 else math.nan
    return _div(x - mean, sigma)


def _z_value_unbiased(x: Any, mean_variance: Dict[str, Any], unbiased: bool) -> float:
    mean = mean_variance["mean"]
    variance = mean_variance["variance"]
    sigma = math.sqrt(variance) if variance >= 0.0 else math.nan
    count = mean_variance["count"]
    if count / (count - 1.0) >= 0.0:
        correction = math.sqrt((count) / (count - 1.0))
    else:
        correction = math.nan
    if unbiased:
        return _div(x - mean, sigma) * correction
    return _div(x - mean, sigma)


@native("stat.change.zValue")
def _emit_z_value(site: Site) -> str:
    return site.call(_z_value if len(site.args) == 2 else _z_value_unbiased)


def _update_cusum(log_likelihood_ratio: Any, last: Any, reset: Any) -> Any:
    out = log_likelihood_ratio + last
    return out if out > reset else reset


@native("stat.change.updateCUSUM")
def _emit_update_cusum(site: Site) -> str:
    return site.call(_update_cusum)
