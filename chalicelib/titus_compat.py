"""The one place that knows titus2 1.2.0's insides.

titus2 calls ``inspect.getargspec`` (removed in Python 3.11) and ``numpy.int`` (removed in NumPy
1.24, used by ``model.reg.gaussianProcess``). The shims are applied before titus is first
imported; every other module imports titus through here.

Guards are installed on titus's library the same way:

- its regular expressions refuse back-references, patterns too large once their repetitions are
  written out, texts too long for the pattern (see :mod:`chalicelib.limits.regex_patterns`), and a
  search again at the place of an empty match, where titus's find-every-match loops never end;
- :func:`check_time_in_user_functions` makes every call of a user function check the engine's
  timeout, as titus's loops already do, so recursion cannot run past it either; so does every call
  a library function makes of a function it was given (``a.map``, ``a.sortLT``, ...).
"""

import inspect
import sys
from typing import Any

import numpy

if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec  # type: ignore[attr-defined]
if "int" not in numpy.__dict__:
    numpy.int = int  # type: ignore[attr-defined]

from titus import errors as titus_errors  # noqa: E402
from titus import util as titus_util  # noqa: E402
from titus.genpy import PFAEngine  # noqa: E402
from titus.lib import regex as titus_regex  # noqa: E402

from .limits.regex_patterns import (  # noqa: E402
    BACK_REFERENCE,
    MAX_COST,
    MAX_PATTERN_SIZE,
    TOO_COSTLY,
    back_reference,
    match_cost,
    pattern_size,
)

__all__ = ["PFAEngine", "titus_errors", "check_time_in_user_functions", "set_action_timeout"]

_regexer_init = titus_regex.Regexer.__init__


def _guarded_regexer_init(self: Any, haystack: Any, pattern: Any, code: int, name: str, pos: Any) -> None:
    text = pattern.decode("latin-1") if isinstance(pattern, (bytes, bytearray)) else pattern
    if isinstance(text, str) and back_reference(text) is not None:
        raise titus_errors.PFARuntimeException(f"bad pattern: {BACK_REFERENCE}", code, name, pos)
    if isinstance(text, str):
        size = pattern_size(text)
        if size > MAX_PATTERN_SIZE:
            raise titus_errors.PFARuntimeException(
                f"bad pattern: it has {size} parts once its counted repetitions are written out, more than "
                f"{MAX_PATTERN_SIZE}", code, name, pos)
        if match_cost(text, len(haystack)) > MAX_COST:
            raise titus_errors.PFARuntimeException(
                f"text too long for this pattern: {len(haystack)} characters; {TOO_COSTLY}", code, name, pos)
    _regexer_init(self, haystack, pattern, code, name, pos)
    self.guard = (code, name, pos, None)


_regexer_search = titus_regex.Regexer.search


def _guarded_search(self: Any, start: int) -> bool:
    """titus's functions that find every match (re.count, re.findall, re.replaceall, ...) search again from
    the end of the last match: after an empty match there, they would search at the same place forever."""
    code, name, pos, previous_empty_match_at = self.guard
    if start == previous_empty_match_at:
        raise titus_errors.PFARuntimeException(
            f"the pattern matches the empty string, on which {name} would never end", code, name, pos)
    found = _regexer_search(self, start)
    region = self.getRegion() if found else None
    self.guard = (code, name, pos, region.end[0] if region is not None and region.beg[0] == region.end[0] else None)
    return bool(found)


titus_regex.Regexer.__init__ = _guarded_regexer_init  # type: ignore[method-assign]
titus_regex.Regexer.search = _guarded_search  # type: ignore[method-assign]


def _check_time_in_callbacks() -> None:
    """Library functions that call a function for each element (``a.map``, ``a.sortLT``, ``model.tree.*``,
    ...) call it through ``titus.util.callfcn``, which each of their modules imported by name: one loop of
    such calls, over an array built by doubling, can otherwise run for minutes."""
    original = titus_util.callfcn

    def callfcn(state: Any, scope: Any, fcn: Any, args: Any) -> Any:
        state.checkTime()
        return original(state, scope, fcn, args)

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("titus") and getattr(module, "callfcn", None) is original:
            module.callfcn = callfcn  # type: ignore[attr-defined]


_check_time_in_callbacks()


def check_time_in_user_functions(engine: Any) -> None:
    """Wrap the engine's user functions (``u.*``) so each call checks the engine's timeout first."""
    for name, function in list(engine.f.items()):
        if name.startswith("u.") and hasattr(function, "paramNames"):
            engine.f[name] = _timed(function)


def _timed(function: Any) -> Any:
    def call(state: Any, scope: Any) -> Any:
        state.checkTime()
        return function(state, scope)
    call.paramNames = function.paramNames  # type: ignore[attr-defined]
    return call


def set_action_timeout(engine: Any, timeout_ms: float) -> None:
    """The time the engine's next ``action`` may take (titus reads it when the action starts)."""
    engine.options.timeout_action = max(1, int(timeout_ms))
