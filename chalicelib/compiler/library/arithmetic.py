"""titus's arithmetic rules that several prefixes share."""

import math
from typing import Any


def div(numer: Any, denom: Any) -> float:
    """``titus.util.div``: always a double; a number over zero is +-inf, and 0/0 is NaN."""
    try:
        return numer / float(denom)  # type: ignore[no-any-return]
    except ZeroDivisionError:
        if numer > 0.0:
            return math.inf
        if numer < 0.0:
            return -math.inf
        return math.nan
