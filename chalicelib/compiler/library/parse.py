"""``parse.*``: numbers from strings, ported from titus ``lib/parse.py`` with its exact semantics.

Python's ``int`` and ``float`` do the parsing, as in titus (so their syntax: surrounding whitespace,
underscores, ``0x`` prefixes in base 16, ``inf``/``nan`` are accepted alike).
"""

import math  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
from typing import Any

from .registry import Site, native
from . import types  # noqa: F401  (the titus shims)

from titus.errors import PFARuntimeException
from titus.lib.core import (DOUBLE_MAX_VALUE, DOUBLE_MIN_VALUE, FLOAT_MAX_VALUE, FLOAT_MIN_VALUE, INT_MAX_VALUE,
                            INT_MIN_VALUE, LONG_MAX_VALUE, LONG_MIN_VALUE)


def _integer(text: str, base: int, low: int, high: int, message: str, code: int, name: str) -> int:
    if base < 2 or base > 36:
        raise PFARuntimeException("base out of range", code + 1, name, None)
    try:
        out = int(text, base)
    except ValueError:
        raise PFARuntimeException(message, code, name, None) from None
    if out < low or out > high:
        raise PFARuntimeException(message, code, name, None)
    return out


def _parse_int(text: str, base: int) -> int:
    return _integer(text, base, INT_MIN_VALUE, INT_MAX_VALUE, "not an integer", 33000, "parse.int")


def _parse_long(text: str, base: int) -> int:
    return _integer(text, base, LONG_MIN_VALUE, LONG_MAX_VALUE, "not a long integer", 33010, "parse.long")


def _floating(text: str, low: float, high: float, message: str, code: int, name: str) -> Any:
    try:
        out = float(text)
    except ValueError:
        raise PFARuntimeException(message, code, name, None) from None
    if math.isnan(out) or math.isinf(out):
        return out
    if out > high:
        return math.inf
    if -out > high:
        return -math.inf
    if abs(out) < low:
        return 0.0
    return out


def _parse_float(text: str) -> Any:
    return _floating(text, FLOAT_MIN_VALUE, FLOAT_MAX_VALUE, "not a single-precision float", 33020, "parse.float")


def _parse_double(text: str) -> Any:
    return _floating(text, DOUBLE_MIN_VALUE, DOUBLE_MAX_VALUE, "not a double-precision float", 33030,
                     "parse.double")


_PARSERS = {"parse.int": _parse_int, "parse.long": _parse_long, "parse.float": _parse_float,
            "parse.double": _parse_double}


@native(*_PARSERS)
def _emit_parse(site: Site) -> str:
    return site.call(_PARSERS[site.name])
