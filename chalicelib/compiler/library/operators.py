"""PFA's core operators (titus's ``lib/core.py``): arithmetic, comparison, logic and bitwise.

Numeric rules are titus's: int and long results are range-checked (``+ - * u- **``), ``/`` is always
a double, ``//`` truncates through a double division, ``%`` and ``%%`` by zero raise for integers and
give NaN for floating point. Comparisons follow titus's ``compare``: for ``double`` NaN is the greatest
value and equal to itself; for ``float`` NaN compares equal to everything.
"""

import math  # noqa: I001  (titus is imported after titus_compat, which applies its shims)
from typing import Any, Callable, Dict, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.datatype import compare as _titus_compare
from titus.errors import PFARuntimeException

from .arithmetic import div as _div
from .registry import Site, native
from .types import AvroBoolean, AvroDouble, AvroEnum, AvroFloat, AvroInt, AvroLong, AvroString, is_integral

INT_MIN = -2147483648
INT_MAX = 2147483647
LONG_MIN = -9223372036854775808
LONG_MAX = 9223372036854775807

_NAN = float("nan")
_INF = float("inf")


def _int_overflow(code: int, name: str) -> PFARuntimeException:
    return PFARuntimeException("int overflow", code, name, None)


def _long_overflow(code: int, name: str) -> PFARuntimeException:
    return PFARuntimeException("long overflow", code, name, None)


# ---------------------------------------------------------------- checked integer arithmetic

def _add_int(x: int, y: int) -> int:
    out = x + y
    if INT_MIN <= out <= INT_MAX:
        return out
    raise _int_overflow(18000, "+")


def _add_long(x: int, y: int) -> int:
    out = x + y
    if LONG_MIN <= out <= LONG_MAX:
        return out
    raise _long_overflow(18001, "+")


def _sub_int(x: int, y: int) -> int:
    out = x - y
    if INT_MIN <= out <= INT_MAX:
        return out
    raise _int_overflow(18010, "-")


def _sub_long(x: int, y: int) -> int:
    out = x - y
    if LONG_MIN <= out <= LONG_MAX:
        return out
    raise _long_overflow(18011, "-")


def _mul_int(x: int, y: int) -> int:
    out = x * y
    if INT_MIN <= out <= INT_MAX:
        return out
    raise _int_overflow(18020, "*")


def _mul_long(x: int, y: int) -> int:
    out = x * y
    if LONG_MIN <= out <= LONG_MAX:
        return out
    raise _long_overflow(18021, "*")


def _neg_int(x: int) -> int:
    if x == INT_MIN:
        raise _int_overflow(18050, "u-")
    return -x


def _neg_long(x: int) -> int:
    if x == LONG_MIN:
        raise _long_overflow(18051, "u-")
    return -x




def _floordiv(x: int, y: int) -> int:
    """titus truncates a double division (no range check on the result)."""
    if y == 0:
        raise PFARuntimeException("integer division by zero", 18040, "//", None)
    return int(x / float(y))


def _mod_integral(x: int, y: int) -> int:
    if y == 0:
        raise PFARuntimeException("integer division by zero", 18060, "%", None)
    return x % y


def _mod_floating(x: float, y: float) -> float:
    if y == 0:
        return _NAN
    return x % y


def _rem_integral(x: int, y: int) -> int:
    if y == 0:
        raise PFARuntimeException("integer division by zero", 18070, "%%", None)
    out = x % y
    if x < 0 and out > 0:
        return out - abs(y)
    elif x > 0 and out < 0:
        return out + abs(y)
    return out


def _rem_floating(x: float, y: float) -> float:
    if y == 0:
        return _NAN
    if not math.isnan(x) and not math.isinf(x) and math.isinf(y):
        return x
    out = x % y
    if x < 0 and out > 0:
        return out - abs(y)
    elif x > 0 and out < 0:
        return out + abs(y)
    return out


def pow_like_java(x: Any, y: Any) -> float:
    """titus's powLikeJava: Java's Math.pow special cases on top of math.pow."""
    if math.isnan(x) and y == 0:
        return 1.0
    elif math.isnan(x) or math.isnan(y):
        return _NAN
    elif x == 0 and y < 0:
        return _INF
    elif math.isinf(y):
        if x == 1 or x == -1:
            return _NAN
        elif abs(x) < 1:
            return 0.0 if y > 0 else _INF
        else:
            return _INF if y > 0 else 0.0
    elif math.isinf(x):
        if y == 0:
            return 1.0
        elif y < 0:
            return 0.0
        elif x < 0 and round(y) == y and y % 2 == 1:
            return -_INF
        else:
            return _INF
    elif x < 0 and round(y) != y:
        return _NAN
    try:
        return math.pow(x, y)
    except OverflowError:
        if abs(y) < 1:
            return _NAN if x < 0 else 1.0
        elif (abs(x) > 1 and y < 0) or (abs(x) < 1 and y > 0):
            return 0.0
        return _INF


def _pow_int(x: int, y: int) -> int:
    out = pow_like_java(x, y)
    if math.isnan(out) or out < INT_MIN or out > INT_MAX:
        raise _int_overflow(18080, "**")
    return int(out)


def _pow_long(x: int, y: int) -> int:
    out = pow_like_java(x, y)
    if math.isnan(out) or out < LONG_MIN or out > LONG_MAX:
        raise _long_overflow(18081, "**")
    return int(out)


def _binary(site: Site, op: str) -> str:
    return f"(({site.args[0]}) {op} ({site.args[1]}))"


_CHECKED: Dict[str, Dict[type, Callable[..., int]]] = {
    "+": {AvroInt: _add_int, AvroLong: _add_long},
    "-": {AvroInt: _sub_int, AvroLong: _sub_long},
    "*": {AvroInt: _mul_int, AvroLong: _mul_long},
    "u-": {AvroInt: _neg_int, AvroLong: _neg_long},
    "**": {AvroInt: _pow_int, AvroLong: _pow_long},
}


@native("+", "-", "*")
def _emit_arith(site: Site) -> Optional[str]:
    checked = _CHECKED[site.name].get(type(site.param_types[0]))
    if checked is not None:
        return site.call(checked)
    return _binary(site, site.name)


@native("u-")
def _emit_neg(site: Site) -> Optional[str]:
    checked = _CHECKED["u-"].get(type(site.param_types[0]))
    if checked is not None:
        return site.call(checked)
    return f"(-({site.args[0]}))"


@native("/")
def _emit_div(site: Site) -> Optional[str]:
    return site.call(_div)


@native("//")
def _emit_floordiv(site: Site) -> Optional[str]:
    return site.call(_floordiv)


@native("%")
def _emit_mod(site: Site) -> Optional[str]:
    return site.call(_mod_integral if is_integral(site.ret_type) else _mod_floating)


@native("%%")
def _emit_rem(site: Site) -> Optional[str]:
    return site.call(_rem_integral if is_integral(site.ret_type) else _rem_floating)


@native("**")
def _emit_pow(site: Site) -> Optional[str]:
    checked = _CHECKED["**"].get(type(site.ret_type))
    return site.call(checked if checked is not None else pow_like_java)


# ---------------------------------------------------------------- comparison

def _cmp_plain(x: Any, y: Any) -> int:
    return (x > y) - (x < y)


def _cmp_double(x: Any, y: Any) -> int:
    if x != x:
        return 0 if y != y else 1
    if y != y:
        return -1
    return (x > y) - (x < y)


def _eq_double(x: Any, y: Any) -> bool:
    return x == y or (x != x and y != y)


def _ne_double(x: Any, y: Any) -> bool:
    return not (x == y or (x != x and y != y))


def _lt_double(x: Any, y: Any) -> bool:
    return x < y or (y != y and x == x)


def _le_double(x: Any, y: Any) -> bool:
    return x <= y or y != y


def _gt_double(x: Any, y: Any) -> bool:
    return x > y or (x != x and y == y)


def _ge_double(x: Any, y: Any) -> bool:
    return x >= y or x != x


def _max_double(x: Any, y: Any) -> Any:
    return x if (x >= y or x != x) else y


def _min_double(x: Any, y: Any) -> Any:
    return x if (x < y or (y != y and x == x)) else y


def _eq_float(x: Any, y: Any) -> bool:
    return not (x > y or x < y)


def _ne_float(x: Any, y: Any) -> bool:
    return x > y or x < y


def _min_float(x: Any, y: Any) -> Any:
    return x if x < y else y


_DOUBLE = {"cmp": _cmp_double, "==": _eq_double, "!=": _ne_double, "<": _lt_double, "<=": _le_double,
           ">": _gt_double, ">=": _ge_double, "max": _max_double, "min": _min_double}

# titus's compare (cmp) turned into each operator's answer.
_FROM_CMP: Dict[str, Callable[[int], bool]] = {
    "==": lambda c: c == 0, "!=": lambda c: c != 0, "<": lambda c: c < 0,
    "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0,
}


def _generic(name: str, avro_type: Any) -> Callable[[Any, Any], Any]:
    """titus's own ``compare`` for composite types, with the type resolved once instead of per call."""
    if name == "cmp":
        return lambda x, y: _titus_compare(avro_type, x, y)
    if name == "max":
        return lambda x, y: x if _titus_compare(avro_type, x, y) >= 0 else y
    if name == "min":
        return lambda x, y: x if _titus_compare(avro_type, x, y) < 0 else y
    test = _FROM_CMP[name]
    return lambda x, y: test(_titus_compare(avro_type, x, y))


def _enum_emitter(site: Site) -> str:
    index = site.const({symbol: i for i, symbol in enumerate(site.param_types[0].symbols)})
    a, b = site.args
    if site.name in ("==", "!="):
        return _binary(site, site.name)
    if site.name in ("<", "<=", ">", ">="):
        return f"({index}[{a}] {site.name} {index}[{b}])"
    if site.name == "cmp":
        return f"{site.helper(_cmp_plain)}({index}[{a}], {index}[{b}])"
    pick = _max_enum if site.name == "max" else _min_enum
    return site.call(pick, index)


def _max_enum(index: Dict[str, int], x: str, y: str) -> str:
    return x if index[x] >= index[y] else y


def _min_enum(index: Dict[str, int], x: str, y: str) -> str:
    return x if index[x] < index[y] else y


_TOTAL_ORDER = (AvroInt, AvroLong, AvroString, AvroBoolean)


@native("cmp", "==", "!=", "<", "<=", ">", ">=", "max", "min")
def _emit_compare(site: Site) -> Optional[str]:
    name = site.name
    avro_type = site.param_types[0]
    if isinstance(avro_type, AvroDouble):
        return site.call(_DOUBLE[name])
    if isinstance(avro_type, _TOTAL_ORDER) or isinstance(avro_type, AvroFloat):
        floating = isinstance(avro_type, AvroFloat)
        if name == "cmp":
            return site.call(_cmp_plain)
        if name == "max":
            return site.call(max)  # x unless y > x: titus's "x if cmp(x, y) >= 0", NaN included
        if name == "min":
            return site.call(_min_float if floating else min)
        if floating:
            a, b = site.args
            if name == "<=":
                return f"(not (({a}) > ({b})))"
            if name == ">=":
                return f"(not (({a}) < ({b})))"
            if name in ("==", "!="):
                return site.call(_eq_float if name == "==" else _ne_float)
        return _binary(site, name)
    if isinstance(avro_type, AvroEnum):
        return _enum_emitter(site)
    return site.call(_generic(name, avro_type))


# ---------------------------------------------------------------- logic

@native("&&")
def _emit_and(site: Site) -> Optional[str]:
    return _binary(site, "and")  # short-circuits, as titus's generated code does


@native("||")
def _emit_or(site: Site) -> Optional[str]:
    return _binary(site, "or")


@native("^^")
def _emit_xor(site: Site) -> Optional[str]:
    return _binary(site, "!=")


@native("!")
def _emit_not(site: Site) -> Optional[str]:
    return f"(not ({site.args[0]}))"


_TAGGED_TRUE = {"boolean": True}
_TAGGED_FALSE = {"boolean": False}

# titus answers a decided &&&, ||| or !!! with the tagged union {"boolean": b} (and accepts it as an
# argument); the same values are given here, new each time.


def _kleene_and(x: Any, y: Callable[[], Any]) -> Optional[Dict[str, bool]]:
    if x is False or x == _TAGGED_FALSE:
        return {"boolean": False}
    yval = y()
    if yval is False or yval == _TAGGED_FALSE:
        return {"boolean": False}
    if (x is True or x == _TAGGED_TRUE) and (yval is True or yval == _TAGGED_TRUE):
        return {"boolean": True}
    return None


def _kleene_or(x: Any, y: Callable[[], Any]) -> Optional[Dict[str, bool]]:
    if x is True or x == _TAGGED_TRUE:
        return {"boolean": True}
    yval = y()
    if yval is True or yval == _TAGGED_TRUE:
        return {"boolean": True}
    if (x is False or x == _TAGGED_FALSE) and (yval is False or yval == _TAGGED_FALSE):
        return {"boolean": False}
    return None


def _kleene_not(x: Any) -> Optional[Dict[str, bool]]:
    if x is True or x == _TAGGED_TRUE:
        return {"boolean": False}
    if x is False or x == _TAGGED_FALSE:
        return {"boolean": True}
    return None


@native("&&&", "|||")
def _emit_kleene(site: Site) -> Optional[str]:
    # titus evaluates the second argument only when the first does not decide (its lambdas).
    helper = site.helper(_kleene_and if site.name == "&&&" else _kleene_or)
    return f"{helper}({site.args[0]}, lambda: ({site.args[1]}))"


@native("!!!")
def _emit_kleene_not(site: Site) -> Optional[str]:
    return site.call(_kleene_not)


# ---------------------------------------------------------------- bitwise

@native("&", "|", "^")
def _emit_bitwise(site: Site) -> Optional[str]:
    return _binary(site, site.name)


@native("~")
def _emit_bitwise_not(site: Site) -> Optional[str]:
    return f"(~({site.args[0]}))"
