"""``interp.*``: binning and interpolation tables, ported from titus ``lib/interp.py`` with its exact semantics.

The signature titus picks at run time (by the number of arguments and whether a type is an array) is
picked here at compile time. Quirks kept: ``interp.bin`` returns Python's unbounded ``int`` and lets
``math.floor``'s errors through where an intermediate overflows; ``interp.nearest`` keeps the first
entry when every distance is NaN.
"""

import math  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
from typing import Any, Callable, Dict, List, Optional, Tuple

from .arithmetic import div as _div
from .registry import Site, native
from .types import AvroArray, AvroNull, AvroUnion

from titus.datatype import FcnType
from titus.errors import PFARuntimeException

Table = List[Dict[str, Any]]




# ------------------------------------------------------------------ bin

def _bin_range(x: Any, numbins: int, low: Any, high: Any) -> int:
    if low >= high or math.isnan(low) or math.isnan(high):
        raise PFARuntimeException("bad histogram range", 22000, "interp.bin", None)
    if numbins < 1:
        raise PFARuntimeException("bad histogram scale", 22001, "interp.bin", None)
    if math.isnan(x) or x < low or x >= high:
        raise PFARuntimeException("x out of range", 22002, "interp.bin", None)
    out = int(math.floor(numbins * _div((x - low), (high - low))))
    if out < 0 or out >= numbins:
        raise PFARuntimeException("x out of range", 22002, "interp.bin", None)
    return out


def _bin_width(x: Any, origin: Any, width: Any) -> int:
    if math.isnan(origin) or math.isinf(origin):
        raise PFARuntimeException("bad histogram range", 22000, "interp.bin", None)
    if width <= 0.0 or math.isnan(width):
        raise PFARuntimeException("bad histogram scale", 22001, "interp.bin", None)
    if math.isnan(x) or math.isinf(x):
        raise PFARuntimeException("x out of range", 22002, "interp.bin", None)
    return int(math.floor(_div((x - origin), width)))


@native("interp.bin")
def _emit_bin(site: Site) -> str:
    return site.call(_bin_range if len(site.args) == 4 else _bin_width)


# ------------------------------------------------------------------ nearest

def _empty(table: Table) -> None:
    if len(table) == 0:
        raise PFARuntimeException("table must have at least one entry", 22010, "interp.nearest", None)


def _nearest_double(datum: Any, table: Table) -> Any:
    _empty(table)
    one = None
    oned = None
    for item in table:
        d = abs(datum - item["x"])
        if one is None or d < oned:
            one = item
            oned = d
    return one["to"]  # type: ignore[index]


def _nearest_vector(datum: List[Any], table: Table) -> Any:
    _empty(table)
    one = None
    oned = None
    for item in table:
        x = item["x"]
        if len(x) != len(datum):
            raise PFARuntimeException("inconsistent dimensionality", 22011, "interp.nearest", None)
        d = sum((x0i - xi) ** 2 for x0i, xi in zip(datum, x))  # noqa: B905  (lengths checked)
        if one is None or d < oned:
            one = item
            oned = d
    return one["to"]  # type: ignore[index]


def _nearest_metric(datum: Any, table: Table, metric: Callable[[Any, Any], Any]) -> Any:
    _empty(table)
    one = None
    oned = None
    for item in table:
        d = metric(datum, item["x"])
        if one is None or d < oned:
            one = item
            oned = d
    return one["to"]  # type: ignore[index]


@native("interp.nearest")
def _emit_nearest(site: Site) -> str:
    if len(site.args) == 3 and isinstance(site.param_types[2], FcnType):
        return site.call(_nearest_metric)
    return site.call(_nearest_vector if isinstance(site.param_types[0], AvroArray) else _nearest_double)


# ------------------------------------------------------------------ linear interpolation

def _closest(datum: Any, table: Table, code: int, name: str) -> Tuple[Any, Any, bool]:
    """titus's ``Linear.closest``: the entries either side of ``datum``, or the two nearest."""
    below = None
    above = None
    belowd = None
    aboved = None
    for item in table:
        if item["x"] <= datum and (below is None or datum - item["x"] < belowd):
            below = item
            belowd = datum - item["x"]
        if datum < item["x"] and (above is None or item["x"] - datum < aboved):
            above = item
            aboved = item["x"] - datum
    if below is not None and above is not None:
        return below, above, True
    one = None
    two = None
    oned = None
    twod = None
    for item in table:
        d = abs(datum - item["x"])
        if one is None or d < oned:
            two = one
            twod = oned
            one = item
            oned = d
        elif (two is None or d < twod) and d != oned:
            two = item
            twod = d
    if two is None:
        raise PFARuntimeException("table must have at least two distinct x values", code, name, None)
    return one, two, False


def _single(datum: Any, one: Dict[str, Any], two: Dict[str, Any]) -> Any:
    onex = one["x"]
    twox = two["x"]
    oney = one["to"]
    twoy = two["to"]
    unitless = _div((datum - onex), (twox - onex))
    return (1.0 - unitless) * oney + unitless * twoy


def _multi(datum: Any, one: Dict[str, Any], two: Dict[str, Any], code: int, name: str) -> List[Any]:
    onex = one["x"]
    twox = two["x"]
    oney = one["to"]
    twoy = two["to"]
    unitless = _div((datum - onex), (twox - onex))
    if len(oney) != len(twoy):
        raise PFARuntimeException("inconsistent dimensionality", code, name, None)
    return [(1.0 - unitless) * oney[i] + unitless * twoy[i] for i in range(len(oney))]


def _linear_helper(name: str, code: int, of_arrays: bool) -> Callable[[Any, Table], Any]:
    flat, missing = name == "interp.linearFlat", name == "interp.linearMissing"

    def linear(datum: Any, table: Table) -> Any:
        one, two, between = _closest(datum, table, code, name)
        if flat and not between:
            return one["to"]
        if missing and not between and one["x"] != datum:
            return None
        if of_arrays:
            return _multi(datum, one, two, code + 1, name)
        return _single(datum, one, two)
    return linear


_LINEAR_CODES = {"interp.linear": 22020, "interp.linearFlat": 22030, "interp.linearMissing": 22040}


def _non_null(avro_type: Any) -> Optional[Any]:
    if isinstance(avro_type, AvroUnion):
        return next(t for t in avro_type.types if not isinstance(t, AvroNull))
    return avro_type


@native(*_LINEAR_CODES)
def _emit_linear(site: Site) -> str:
    of_arrays = isinstance(_non_null(site.ret_type), AvroArray)
    return site.call(_linear_helper(site.name, _LINEAR_CODES[site.name], of_arrays))
