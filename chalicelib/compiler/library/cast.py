"""PFA's ``cast.*`` functions (titus's ``lib/cast.py``).

Rounding to int and long is titus's ``floor(x + 0.5)``; ``cast.float`` does not round to single
precision (titus keeps a Python float). ``cast.json`` and ``cast.avro`` use titus's encoders with the
type resolved once at compile time instead of on every call.
"""

import io  # noqa: I001  (titus is imported after titus_compat, which applies its shims)
import json
import math
from typing import Any, Callable, List, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

import avro.schema
from avro.io import BinaryEncoder, DatumWriter
from titus.datatype import jsonEncoder
from titus.errors import PFARuntimeException
from titus.util import bytesToString, untagUnion

from .operators import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN
from .registry import Site, native
from .types import AvroEnum, AvroString

# ---------------------------------------------------------------- wrap-around arithmetic


def _unsigned(x: int, bits: int) -> int:
    maximum = 2**bits
    if x < 0:
        y = x + maximum * int(math.ceil(-float(x) / maximum))
    else:
        y = x
    return y % maximum


def _signed(x: int, bits: int) -> int:
    if bits < 2 or bits > 64:
        raise PFARuntimeException("unrepresentable unsigned number", 17000, "cast.signed", None)
    y = _unsigned(x, bits)
    maximum = 2**(bits - 1)
    if y > maximum - 1:
        return y - 2 * maximum
    return y


def _to_unsigned(x: int, bits: int) -> int:
    if bits < 1 or bits > 63:
        raise PFARuntimeException("unrepresentable unsigned number", 17010, "cast.unsigned", None)
    return _unsigned(x, bits)


@native("cast.signed")
def _emit_signed(site: Site) -> Optional[str]:
    return site.call(_signed)


@native("cast.unsigned")
def _emit_unsigned(site: Site) -> Optional[str]:
    return site.call(_to_unsigned)


# ---------------------------------------------------------------- number precisions

def _int_from_floating(x: Any) -> int:
    if isinstance(x, float):
        if x != x or x in (math.inf, -math.inf):
            raise PFARuntimeException("int overflow", 17020, "cast.int", None)
        out = int(math.floor(x + 0.5))
    else:
        out = x
    if INT_MIN <= out <= INT_MAX:
        return out
    raise PFARuntimeException("int overflow", 17020, "cast.int", None)


def _int_from_long(x: int) -> int:
    if INT_MIN <= x <= INT_MAX:
        return x
    raise PFARuntimeException("int overflow", 17020, "cast.int", None)


def _long_from_floating(x: Any) -> int:
    if isinstance(x, float):
        if x != x or x in (math.inf, -math.inf):
            raise PFARuntimeException("long overflow", 17030, "cast.long", None)
        out = int(math.floor(x + 0.5))
    else:
        out = x
    if LONG_MIN <= out <= LONG_MAX:
        return out
    raise PFARuntimeException("long overflow", 17030, "cast.long", None)


@native("cast.int")
def _emit_int(site: Site) -> Optional[str]:
    name = site.param_types[0].name
    if name == "int":
        return site.args[0]
    return site.call(_int_from_long if name == "long" else _int_from_floating)


@native("cast.long")
def _emit_long(site: Site) -> Optional[str]:
    name = site.param_types[0].name
    if name in ("int", "long"):
        return site.args[0]
    return site.call(_long_from_floating)


@native("cast.float", "cast.double")
def _emit_floating(site: Site) -> Optional[str]:
    return site.call(float)


# ---------------------------------------------------------------- fanouts

def _check_distinct(dictionary: List[str], code: int, name: str) -> None:
    if len(dictionary) != len(set(dictionary)):
        raise PFARuntimeException("non-distinct values in dictionary", code, name, None)


_FANOUT = {  # name: (error code, true value, false value)
    "cast.fanoutBoolean": (17060, True, False),
    "cast.fanoutInt": (17070, 1, 0),
    "cast.fanoutLong": (17080, 1, 0),
    "cast.fanoutFloat": (17090, 1.0, 0.0),
    "cast.fanoutDouble": (17100, 1.0, 0.0),
}


def _fanout_enum(symbols: List[str], true: Any, false: Any) -> Callable[[str], List[Any]]:
    def fanout(x: str) -> List[Any]:
        return [true if x == s else false for s in symbols]
    return fanout


def _fanout_string(code: int, name: str, true: Any, false: Any) -> Callable[[str, List[str], bool], List[Any]]:
    def fanout(x: str, dictionary: List[str], out_of_range: bool) -> List[Any]:
        _check_distinct(dictionary, code, name)
        out = [true if x == s else false for s in dictionary]
        if out_of_range:
            out.append(false if x in dictionary else true)
        return out
    return fanout


def _fanout_int(true: Any, false: Any) -> Callable[[int, int, int, bool], List[Any]]:
    def fanout(x: int, minimum: int, maximum: int, out_of_range: bool) -> List[Any]:
        out = [true if x == i else false for i in range(minimum, maximum)]
        if out_of_range:
            out.append(true if (x < minimum or x >= maximum) else false)
        return out
    return fanout


@native(*_FANOUT)
def _emit_fanout(site: Site) -> Optional[str]:
    code, true, false = _FANOUT[site.name]
    first = site.param_types[0]
    if isinstance(first, AvroEnum):
        return site.call(_fanout_enum(list(first.symbols), true, false))
    if isinstance(first, AvroString):
        return site.call(_fanout_string(code, site.name, true, false))
    return site.call(_fanout_int(true, false))


# ---------------------------------------------------------------- serialize

def _json_of(avro_type: Any) -> Callable[[Any], str]:
    def cast_json(x: Any) -> str:
        return json.dumps(jsonEncoder(avro_type, x), separators=(",", ":"))
    return cast_json


@native("cast.json")
def _emit_json(site: Site) -> Optional[str]:
    return site.call(_json_of(site.param_types[0]))


def _avro_of(avro_type: Any) -> Callable[[Any], str]:
    type_json = json.loads(repr(avro_type))  # what titus's generated code holds as paramTypes[0]
    writer = DatumWriter(avro.schema.Parse(json.dumps(type_json)))

    def cast_avro(x: Any) -> str:
        bytes_io = io.BytesIO()
        writer.write(untagUnion(x, type_json), BinaryEncoder(bytes_io))
        return bytesToString(bytes_io.getvalue())
    return cast_avro


@native("cast.avro")
def _emit_avro(site: Site) -> Optional[str]:
    return site.call(_avro_of(site.param_types[0]))
