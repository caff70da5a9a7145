"""Whether two engines agree: the same outputs (doubles to 1e-12 relative) and the same errors.

An outcome is what one engine did with one datum: its value, or the kind and PFA code of its error.
The service uses this at load to decide which engine serves; the tests use it on every document.
"""

import math
from typing import Any, Callable, Iterable, Optional, Tuple

from titus.errors import PFARuntimeException, PFATimeoutException, PFAUserException

RELATIVE_TOLERANCE = 1e-12

Outcome = Tuple[str, Any]


def outcome(action: Callable[[Any], Any], datum: Any) -> Outcome:
    """``("value", output)`` or ``(kind, code)`` of the error ``action(datum)`` raised."""
    try:
        return ("value", action(datum))
    except PFARuntimeException as error:
        return ("runtime error", error.code)
    except PFAUserException as error:
        return ("user error", (error.code, error.message))
    except PFATimeoutException:
        return ("timeout", None)
    except RecursionError:
        return ("recursion", None)
    except MemoryError:
        raise
    except Exception as error:  # titus lets some library failures escape as Python errors
        return ("python error", _python_kind(error))


def _python_kind(error: Exception) -> str:
    for kind in (OverflowError, ZeroDivisionError, ArithmeticError, LookupError, TypeError, ValueError):
        if isinstance(error, kind):
            return kind.__name__
    return "Exception"


def same(left: Any, right: Any) -> bool:
    """Equal as PFA values: exact for everything but doubles, which may differ by 1e-12 relative."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, float) and isinstance(right, float):
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        if left == right:
            return True
        if math.isinf(left) or math.isinf(right):
            return False
        return abs(left - right) <= RELATIVE_TOLERANCE * max(abs(left), abs(right))
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return type(left) is type(right) and left == right


def same_outcome(left: Outcome, right: Outcome) -> bool:
    return left[0] == right[0] and (same(left[1], right[1]) if left[0] == "value" else left[1] == right[1])


def first_difference(reference: Callable[[Any], Any], candidate: Callable[[Any], Any],
                     data: Iterable[Any]) -> Optional[str]:
    """Score each datum with both, in order; the first disagreement, described, or ``None``."""
    for index, datum in enumerate(data):
        expected, got = outcome(reference, datum), outcome(candidate, datum)
        if not same_outcome(expected, got):
            return f"input {index + 1}: titus gave {_describe(expected)}, the compiled engine {_describe(got)}"
    return None


def _describe(result: Outcome, limit: int = 120) -> str:
    kind, detail = result
    text = f"{kind} {detail!r}" if kind != "value" else f"the value {detail!r}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
