"""PFA's ``m.*`` functions (titus's ``lib/pfamath.py``), with titus's special cases.

Where titus calls a bare ``math`` function (``m.exp``, ``m.cosh``, ``m.sinh``, ...) it lets Python's
OverflowError through; so do these. ``m.expm1`` and ``m.ln1p`` are computed as titus does
(``exp(x) - 1``, ``log(1 + x)``), not with ``math.expm1``/``math.log1p``.
"""

import math  # noqa: I001  (titus is imported after titus_compat, which applies its shims)
from typing import Any, Callable, Dict, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .operators import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN
from .registry import Site, native
from .types import AvroInt, AvroLong

_NAN = float("nan")
_INF = float("inf")
_isnan = math.isnan
_isinf = math.isinf


def _abs_int(x: int) -> int:
    if x == INT_MIN:
        raise PFARuntimeException("int overflow", 27020, "m.abs", None)
    return abs(x)


def _abs_long(x: int) -> int:
    if x == LONG_MIN:
        raise PFARuntimeException("long overflow", 27021, "m.abs", None)
    return abs(x)


def _acos(x: float) -> float:
    try:
        return math.acos(x)
    except ValueError:
        return _NAN


def _asin(x: float) -> float:
    try:
        return math.asin(x)
    except ValueError:
        return _NAN


def _ceil(x: Any) -> Any:
    if _isinf(x) or _isnan(x):
        return x
    return math.ceil(x)  # an int, as titus returns


def _floor(x: Any) -> Any:
    if _isinf(x) or _isnan(x):
        return x
    return math.floor(x)


def _copysign(mag: Any, sign: Any) -> Any:
    return abs(mag) * (-1 if sign < 0 else 1)


def _cos(x: float) -> float:
    if _isinf(x) or _isnan(x):
        return _NAN
    return math.cos(x)


def _sin(x: float) -> float:
    if _isinf(x) or _isnan(x):
        return _NAN
    return math.sin(x)


def _tan(x: float) -> float:
    if _isinf(x) or _isnan(x):
        return _NAN
    return math.tan(x)


def _hypot(x: float, y: float) -> float:
    if _isinf(x) or _isinf(y):
        return _INF
    return math.sqrt(x**2 + y**2)


def _ln(x: float) -> float:
    if x < 0.0:
        return _NAN
    elif x == 0.0:
        return -_INF
    return math.log(x)


def _log10(x: float) -> float:
    if x < 0.0:
        return _NAN
    elif x == 0.0:
        return -_INF
    return math.log10(x)


def _log(x: float, base: int) -> float:
    if base <= 0:
        raise PFARuntimeException("base must be positive", 27170, "m.log", None)
    elif _isnan(x):
        return _NAN
    elif x < 0.0:
        return _NAN
    elif x == 0.0:
        return -_INF
    elif base == 1:
        if x < 1.0:
            return -_INF
        elif x == 1.0:
            return _NAN
        return _INF
    return math.log(x, base)


def _ln1p(x: float) -> float:
    if x < -1.0:
        return _NAN
    elif x == -1.0:
        return -_INF
    return math.log(1 + x)


def _round_int(x: float) -> int:
    out = x if (_isinf(x) or _isnan(x)) else math.floor(x + 0.5)
    if _isnan(out) or out < INT_MIN or out > INT_MAX:
        raise PFARuntimeException("int overflow", 27190, "m.round", None)
    return int(out)


def _round_long(x: float) -> int:
    out = x if (_isinf(x) or _isnan(x)) else math.floor(x + 0.5)
    if _isnan(out) or out < LONG_MIN or out > LONG_MAX:
        raise PFARuntimeException("long overflow", 27191, "m.round", None)
    return int(out)


def _rint(x: Any) -> Any:
    if _isinf(x) or _isnan(x):
        return x
    up, down = math.ceil(x), math.floor(x)
    if up - x < x - down:
        return up
    elif up - x > x - down:
        return down
    elif int(up) % 2 == 0:
        return up
    return down


def _signum(x: float) -> int:
    if _isnan(x) or x == 0:
        return 0
    return 1 if x > 0 else -1


def _sqrt(x: float) -> float:
    try:
        return math.sqrt(x)
    except ValueError:
        return _NAN


_DIRECT: Dict[str, Callable[..., Any]] = {
    "m.acos": _acos, "m.asin": _asin, "m.atan": math.atan, "m.atan2": math.atan2, "m.ceil": _ceil,
    "m.copysign": _copysign, "m.cos": _cos, "m.cosh": math.cosh, "m.exp": math.exp, "m.floor": _floor,
    "m.hypot": _hypot, "m.log10": _log10, "m.log": _log, "m.ln1p": _ln1p, "m.rint": _rint,
    "m.signum": _signum, "m.sin": _sin, "m.sinh": math.sinh, "m.sqrt": _sqrt, "m.tan": _tan,
    "m.tanh": math.tanh,
}


@native(*_DIRECT)
def _emit_direct(site: Site) -> Optional[str]:
    return site.call(_DIRECT[site.name])


@native("m.ln", atoms=True)
def _emit_ln(site: Site) -> Optional[str]:
    # math.log where it is defined, titus's answers (NaN, -inf) through _ln elsewhere, without a call per value.
    x, = site.args
    return f"({site.helper(math.log)}({x}) if {x} > 0.0 else {site.helper(_ln)}({x}))"


@native("m.pi")
def _emit_pi(site: Site) -> Optional[str]:
    return site.const(math.pi)


@native("m.e")
def _emit_e(site: Site) -> Optional[str]:
    return site.const(math.e)


@native("m.abs")
def _emit_abs(site: Site) -> Optional[str]:
    avro_type = site.param_types[0]
    if isinstance(avro_type, AvroInt):
        return site.call(_abs_int)
    if isinstance(avro_type, AvroLong):
        return site.call(_abs_long)
    return site.call(abs)


@native("m.expm1")
def _emit_expm1(site: Site) -> Optional[str]:
    return f"({site.call(math.exp)} - 1.0)"


@native("m.round")
def _emit_round(site: Site) -> Optional[str]:
    return site.call(_round_long if isinstance(site.ret_type, AvroLong) else _round_int)
