"""``map.*``: maps (Python dicts), ported from titus ``lib/map.py`` with its exact semantics.

Key order is titus's: results keep the insertion order of the dicts they come from (``map.zipmap``
even calls maps with the same keys in another order misaligned). Set-like maps (``map.toset``,
``map.in``, ``map.add`` of an item) key each value by the base64 of its Avro binary encoding.
"""

import base64  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
import io
import struct
from typing import Any, Callable, Dict, List

from .array import _lt_double, _lt_for, _union_names, _untag
from .registry import Site, native
from .types import AvroBoolean, AvroDouble, AvroFloat, AvroInt, AvroLong, AvroNull, AvroString

from avro.io import BinaryEncoder, DatumWriter
from titus.datatype import FcnType, jsonEncoder
from titus.errors import PFARuntimeException

Lt = Callable[[Any, Any], bool]


def _error(message: str, code: int, name: str) -> PFARuntimeException:
    return PFARuntimeException(message, code, name, None)


# ------------------------------------------------------------------ basic access

@native("map.len")
def _emit_len(site: Site) -> str:
    return f"len({site.args[0]})"


@native("map.keys")
def _emit_keys(site: Site) -> str:
    return f"list({site.args[0]})"


@native("map.values", "map.fromset")
def _emit_values(site: Site) -> str:
    return f"list({site.args[0]}.values())"


# ------------------------------------------------------------------ searching

def _contains_key(m: Dict[str, Any], key: str) -> bool:
    return key in m


def _contains_key_fcn(m: Dict[str, Any], fcn: Callable[[str], Any]) -> bool:
    for k in m:
        if fcn(k):
            return True
    return False


def _contains_value(m: Dict[str, Any], value: Any) -> bool:
    for v in m.values():
        if v == value:  # titus compares with == (a NaN is never found), not by identity as ``in`` would
            return True
    return False


def _contains_value_fcn(m: Dict[str, Any], fcn: Callable[[Any], Any]) -> bool:
    for v in m.values():
        if fcn(v):
            return True
    return False


@native("map.containsKey", "map.containsValue")
def _emit_contains(site: Site) -> str:
    is_fcn = isinstance(site.param_types[1], FcnType)
    if site.name == "map.containsKey":
        return site.call(_contains_key_fcn if is_fcn else _contains_key)
    return site.call(_contains_value_fcn if is_fcn else _contains_value)


# ------------------------------------------------------------------ set-like keys

def _zigzag(value: int) -> bytes:
    datum = (value << 1) ^ (value >> 63)
    out = bytearray()
    while datum & ~0x7F:
        out.append((datum & 0x7F) | 0x80)
        datum >>= 7
    out.append(datum)
    return bytes(out)


def _key_string(x: str) -> str:
    data = x.encode("utf-8")
    return base64.b64encode(_zigzag(len(data)) + data).decode()


def _key_integral(x: int) -> str:
    return base64.b64encode(_zigzag(x)).decode()


_DOUBLE = struct.Struct("<d")


def _key_double(x: float) -> str:
    return base64.b64encode(_DOUBLE.pack(x)).decode()


def _key_boolean(x: bool) -> str:
    return "AQ==" if x else "AA=="


def _key_null(x: None) -> str:
    return ""


def _key_for(avro_type: Any) -> Callable[[Any], str]:
    """titus's ``ObjKey.toKey`` for values of ``avro_type``."""
    if isinstance(avro_type, AvroString):
        return _key_string
    if isinstance(avro_type, (AvroInt, AvroLong)):
        return _key_integral
    if isinstance(avro_type, AvroDouble):
        return _key_double
    if isinstance(avro_type, AvroBoolean):
        return _key_boolean
    if isinstance(avro_type, AvroNull):
        return _key_null
    writer = DatumWriter(avro_type.schema)

    def to_key(x: Any) -> str:
        data = io.BytesIO()
        writer.write(jsonEncoder(avro_type, x, False), BinaryEncoder(data))
        return base64.b64encode(data.getvalue()).decode()
    return to_key


@native("map.toset")
def _emit_toset(site: Site) -> str:
    key = _key_for(site.param_types[0].items)

    def toset(a: List[Any]) -> Dict[str, Any]:
        return {key(x): x for x in a}
    return site.call(toset)


@native("map.in")
def _emit_in(site: Site) -> str:
    key = _key_for(site.param_types[0].values)

    def contains(s: Dict[str, Any], x: Any) -> bool:
        return key(x) in s
    return site.call(contains)


# ------------------------------------------------------------------ manipulation

@native("map.add")
def _emit_add(site: Site) -> str:
    if len(site.args) == 3:
        return "{{**{0}, {1}: {2}}}".format(*site.args)
    key = _key_for(site.param_types[1])

    def add(m: Dict[str, Any], item: Any) -> Dict[str, Any]:
        return {**m, key(item): item}
    return site.call(add)


def _remove(m: Dict[str, Any], key: str) -> Dict[str, Any]:
    out = dict(m)
    out.pop(key, None)
    return out


def _only(m: Dict[str, Any], keys: List[str]) -> Dict[str, Any]:
    wanted = set(keys)
    return {k: v for k, v in m.items() if k in wanted}


def _except(m: Dict[str, Any], keys: List[str]) -> Dict[str, Any]:
    unwanted = set(keys)
    return {k: v for k, v in m.items() if k not in unwanted}


def _split(m: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [{k: v} for k, v in m.items()]


def _join(a: List[Dict[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for m in a:
        out.update(m)
    return out


def _intersection(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in a.items() if k in b}


def _diff(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in a.items() if k not in b}


def _symdiff(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    out = {k: v for k, v in a.items() if k not in b}
    out.update((k, v) for k, v in b.items() if k not in a)
    return out


def _subset(little: Dict[str, Any], big: Dict[str, Any]) -> bool:
    return all(k in big for k in little)


def _disjoint(a: Dict[str, Any], b: Dict[str, Any]) -> bool:
    return a.keys().isdisjoint(b)


_SIMPLE: Dict[str, Any] = {
    "map.remove": _remove, "map.only": _only, "map.except": _except, "map.split": _split, "map.join": _join,
    "map.intersection": _intersection, "map.diff": _diff, "map.symdiff": _symdiff, "map.subset": _subset,
    "map.disjoint": _disjoint,
}


@native(*_SIMPLE)
def _emit_simple(site: Site) -> str:
    return site.call(_SIMPLE[site.name])


@native("map.update", "map.union")
def _emit_update(site: Site) -> str:
    return "{{**{0}, **{1}}}".format(*site.args)


# ------------------------------------------------------------------ min/max

def _arg_n(m: Dict[str, Any], n: int, lt: Lt, highest: bool) -> List[str]:
    """titus's ``argHighestN``/``argLowestN``: ties go to the smaller key; ``lt`` is called as titus calls it."""
    out: List[Any] = []
    for k, x in m.items():
        for index, (bestk, bestx) in enumerate(out):
            if highest:
                better = lt(bestx, x) or (not lt(x, bestx) and bestk > k)
            else:
                better = lt(x, bestx) or (not lt(bestx, x) and bestk > k)
            if better:
                ind = index
                while ind < len(out) and not lt(out[ind][1], x) and not lt(x, out[ind][1]) and out[ind][0] < k:
                    ind += 1
                out.insert(ind, (k, x))
                break
        else:
            out.append((k, x))
        if len(out) > n:
            out.pop()
    return [k for k, _ in out]


def _argmax_plain(m: Dict[str, Any]) -> str:
    if not m:
        raise _error("empty map", 26120, "map.argmax")
    items = iter(m.items())
    bestk, bestx = next(items)
    for k, x in items:
        if bestx < x or (not x < bestx and bestk > k):
            bestk, bestx = k, x
    return bestk


def _argmin_plain(m: Dict[str, Any]) -> str:
    if not m:
        raise _error("empty map", 26130, "map.argmin")
    items = iter(m.items())
    bestk, bestx = next(items)
    for k, x in items:
        if x < bestx or (not bestx < x and bestk > k):
            bestk, bestx = k, x
    return bestk


def _argmax_double(m: Dict[str, Any]) -> str:
    if not m:
        raise _error("empty map", 26120, "map.argmax")
    items = iter(m.items())
    bestk, bestx = next(items)
    for k, x in items:
        if _lt_double(bestx, x) or (not _lt_double(x, bestx) and bestk > k):
            bestk, bestx = k, x
    return bestk


def _argmin_double(m: Dict[str, Any]) -> str:
    if not m:
        raise _error("empty map", 26130, "map.argmin")
    items = iter(m.items())
    bestk, bestx = next(items)
    for k, x in items:
        if _lt_double(x, bestx) or (not _lt_double(bestx, x) and bestk > k):
            bestk, bestx = k, x
    return bestk


_CODES = {"map.argmax": 26120, "map.argmin": 26130, "map.argmaxLT": 26140, "map.argminLT": 26150,
          "map.argmaxN": 26160, "map.argminN": 26170, "map.argmaxNLT": 26180, "map.argminNLT": 26190}


@native(*_CODES)
def _emit_arg(site: Site) -> str:
    name = site.name
    code = _CODES[name]
    highest = name.startswith("map.argmax")
    values = site.param_types[0].values
    with_n = "N" in name[len("map.argmax"):]
    by_lt = name.endswith("LT")
    if not with_n and not by_lt:
        if isinstance(values, AvroDouble):
            return site.call(_argmax_double if highest else _argmin_double)
        if isinstance(values, (AvroInt, AvroLong, AvroFloat, AvroString, AvroBoolean)):
            return site.call(_argmax_plain if highest else _argmin_plain)
    fixed_lt = None if by_lt else _lt_for(values)

    def arg(m: Dict[str, Any], *rest: Any) -> Any:
        if len(m) == 0:
            raise _error("empty map", code, name)
        n = rest[0] if with_n else 1
        if n < 0:
            raise _error("n < 0", code + 1, name)
        out = _arg_n(m, n, rest[-1] if fixed_lt is None else fixed_lt, highest)
        return out if with_n else out[0]
    return site.call(arg)


# ------------------------------------------------------------------ functional programming

def _map(m: Dict[str, Any], fcn: Callable[[Any], Any]) -> Dict[str, Any]:
    return {k: fcn(v) for k, v in m.items()}


def _map_with_key(m: Dict[str, Any], fcn: Callable[[str, Any], Any]) -> Dict[str, Any]:
    return {k: fcn(k, v) for k, v in m.items()}


def _filter(m: Dict[str, Any], fcn: Callable[[Any], Any]) -> Dict[str, Any]:
    return {k: v for k, v in m.items() if fcn(v)}


def _filter_with_key(m: Dict[str, Any], fcn: Callable[[str, Any], Any]) -> Dict[str, Any]:
    return {k: v for k, v in m.items() if fcn(k, v)}


def _flat_map(m: Dict[str, Any], fcn: Callable[[Any], Dict[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for v in m.values():
        out.update(fcn(v))
    return out


def _flat_map_with_key(m: Dict[str, Any], fcn: Callable[[str, Any], Dict[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in m.items():
        out.update(fcn(k, v))
    return out


def _corresponds(a: Dict[str, Any], b: Dict[str, Any], fcn: Callable[[Any, Any], Any]) -> bool:
    keys = set(a.keys())  # titus calls fcn in the set's order
    if keys != set(b.keys()):
        return False
    return all(fcn(a[k], b[k]) for k in keys)


def _corresponds_with_key(a: Dict[str, Any], b: Dict[str, Any], fcn: Callable[[str, Any, Any], Any]) -> bool:
    keys = set(a.keys())
    if keys != set(b.keys()):
        return False
    return all(fcn(k, a[k], b[k]) for k in keys)


_FUNCTIONAL: Dict[str, Any] = {
    "map.map": _map, "map.mapWithKey": _map_with_key, "map.filter": _filter, "map.filterWithKey": _filter_with_key,
    "map.flatMap": _flat_map, "map.flatMapWithKey": _flat_map_with_key, "map.corresponds": _corresponds,
    "map.correspondsWithKey": _corresponds_with_key,
}


@native(*_FUNCTIONAL)
def _emit_functional(site: Site) -> str:
    return site.call(_FUNCTIONAL[site.name])


@native("map.filterMap", "map.filterMapWithKey")
def _emit_filter_map(site: Site) -> str:
    names = _union_names(site.param_types[1])
    with_key = site.name == "map.filterMapWithKey"

    def filter_map(m: Dict[str, Any], fcn: Callable[..., Any]) -> Dict[str, Any]:
        out = {}
        for k, v in m.items():
            y = fcn(k, v) if with_key else fcn(v)
            if y is not None:
                out[k] = _untag(y, names)
        return out
    return site.call(filter_map)


def _aligned_keys(maps: Any, code: int, name: str) -> List[str]:
    keys = list(maps[0])
    for m in maps:
        if keys != list(m):
            raise _error("misaligned maps", code, name)
    return keys


def _zipmap2(a: Dict[str, Any], b: Dict[str, Any], fcn: Callable[[Any, Any], Any]) -> Dict[str, Any]:
    if list(a) != list(b):
        raise _error("misaligned maps", 26370, "map.zipmap")
    return {k: fcn(v, b[k]) for k, v in a.items()}


def _zipmap(*args: Any) -> Dict[str, Any]:
    maps, fcn = args[:-1], args[-1]
    return {k: fcn(*[m[k] for m in maps]) for k in _aligned_keys(maps, 26370, "map.zipmap")}


def _zipmap_with_key(*args: Any) -> Dict[str, Any]:
    maps, fcn = args[:-1], args[-1]
    return {k: fcn(k, *[m[k] for m in maps]) for k in _aligned_keys(maps, 26380, "map.zipmapWithKey")}


@native("map.zipmap", "map.zipmapWithKey")
def _emit_zipmap(site: Site) -> str:
    if site.name == "map.zipmap":
        return site.call(_zipmap2 if len(site.args) == 3 else _zipmap)
    return site.call(_zipmap_with_key)
