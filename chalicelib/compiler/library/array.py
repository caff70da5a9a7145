"""``a.*``: arrays, ported from titus ``lib/array.py`` with its exact semantics.

Ordering follows titus's ``compare``: doubles put NaN above everything, floats compare NaN as
equal to everything, other types go through titus's ``compare`` on the resolved type. Ties keep
the earliest element, as titus's insertion-based ``highestN``/``lowestN`` do.
"""

import json  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
import math
from functools import cmp_to_key, partial, reduce
from typing import Any, Callable, Dict, List, Optional

from .registry import Site, native
from .types import AvroArray, AvroBoolean, AvroDouble, AvroEnum, AvroFloat, AvroInt, AvroLong, AvroNull, AvroString

from titus.datatype import FcnType, compare
from titus.errors import PFARuntimeException

INT_MIN, INT_MAX = -2147483648, 2147483647
LONG_MIN, LONG_MAX = -9223372036854775808, 9223372036854775807

Lt = Callable[[Any, Any], bool]


def _error(message: str, code: int, name: str) -> PFARuntimeException:
    return PFARuntimeException(message, code, name, None)


# ------------------------------------------------------------------ ordering by type

def _lt_double(x: Any, y: Any) -> bool:
    """``compare(double, x, y) < 0``: NaN is the largest double."""
    return x == x and (y != y or x < y)


def _plain(avro_type: Any) -> bool:
    """Types whose titus ``compare`` agrees with Python's ``<`` (floats included: NaN equals all)."""
    return isinstance(avro_type, (AvroInt, AvroLong, AvroFloat, AvroString, AvroBoolean))


def _total(avro_type: Any) -> bool:
    """Types where Python's order is a strict weak order equal to titus's (so stable sorts agree)."""
    return isinstance(avro_type, (AvroInt, AvroLong, AvroString, AvroBoolean))


def _lt_for(avro_type: Any) -> Lt:
    if isinstance(avro_type, AvroDouble):
        return _lt_double
    if _plain(avro_type):
        return lambda x, y: x < y
    return lambda x, y: compare(avro_type, x, y) < 0


def _sorter_for(avro_type: Any) -> Callable[[List[Any]], List[Any]]:
    """``sorted`` by titus's ``compare`` for ``avro_type`` (a stable sort)."""
    if isinstance(avro_type, AvroDouble):
        return _sorted_double
    if _plain(avro_type):
        return sorted
    key = cmp_to_key(partial(compare, avro_type))
    return lambda a: sorted(a, key=key)


def _sorted_double(a: List[Any]) -> List[Any]:
    if not _has_nan(a):
        return sorted(a)
    return sorted([x for x in a if x == x]) + [x for x in a if x != x]


def _has_nan(a: List[Any]) -> bool:
    total = sum(a)
    return total != total and any(x != x for x in a)


# ------------------------------------------------------------------ titus's extreme-value algorithms

def _highest_n(a: List[Any], n: int, lt: Lt) -> List[Any]:
    out: List[Any] = []
    for x in a:
        for index, best in enumerate(out):
            if lt(best, x):
                out.insert(index, x)
                break
        else:
            out.append(x)
        if len(out) > n:
            out.pop()
    return out


def _lowest_n(a: List[Any], n: int, lt: Lt) -> List[Any]:
    """``_highest_n`` with the order turned round (titus's lowest-N makes the same calls of ``lt``)."""
    return _highest_n(a, n, lambda best, x: lt(x, best))


def _arg_n(a: List[Any], n: int, lt: Lt, highest: bool) -> List[int]:
    """titus's ``argHighestN``/``argLowestN``, including the extra ``lt`` call of its tie loop."""
    out: List[Any] = []
    for i, x in enumerate(a):
        for index, (_, bestx) in enumerate(out):
            if lt(bestx, x) if highest else lt(x, bestx):
                ind = index
                while ind <= len(out) and not lt(out[ind][1], x) and not lt(x, out[ind][1]) and out[ind][0] > i:
                    ind += 1
                out.insert(ind, (i, x))
                break
        else:
            out.append((i, x))
        if len(out) > n:
            out.pop()
    return [i for i, _ in out]


def _desc_double(a: List[Any]) -> List[Any]:
    """Doubles highest first, ties in order: titus's ``highestN`` for all n."""
    if not _has_nan(a):
        return sorted(a, reverse=True)
    return [x for x in a if x != x] + sorted([x for x in a if x == x], reverse=True)


def _desc_index_double(a: List[Any]) -> List[int]:
    if not _has_nan(a):
        return sorted(range(len(a)), key=a.__getitem__, reverse=True)
    return ([i for i, x in enumerate(a) if x != x]
            + sorted([i for i, x in enumerate(a) if x == x], key=a.__getitem__, reverse=True))


def _asc_index_double(a: List[Any]) -> List[int]:
    if not _has_nan(a):
        return sorted(range(len(a)), key=a.__getitem__)
    return (sorted([i for i, x in enumerate(a) if x == x], key=a.__getitem__)
            + [i for i, x in enumerate(a) if x != x])


def _max_double(a: List[Any]) -> Any:
    if not a:
        raise _error("empty array", 15240, "a.max")
    if not _has_nan(a):
        return max(a)
    best = a[0]
    if best != best:
        return best
    for x in a:
        if x != x:
            return x
        if best < x:
            best = x
    return best


def _min_double(a: List[Any]) -> Any:
    if not a:
        raise _error("empty array", 15250, "a.min")
    if not _has_nan(a):
        return min(a)
    best = a[0]
    for x in a:
        if x == x and (best != best or x < best):
            best = x
    return best


def _argmax_double(a: List[Any]) -> int:
    if not a:
        raise _error("empty array", 15320, "a.argmax")
    if not _has_nan(a):
        return a.index(max(a))
    best = 0
    if a[0] != a[0]:
        return 0
    for i, x in enumerate(a):
        if x != x:
            return i
        if a[best] < x:
            best = i
    return best


def _argmin_double(a: List[Any]) -> int:
    if not a:
        raise _error("empty array", 15330, "a.argmin")
    if not _has_nan(a):
        return a.index(min(a))
    best = 0
    for i, x in enumerate(a):
        bestx = a[best]
        if x == x and (bestx != bestx or x < bestx):
            best = i
    return best


def _max_plain(a: List[Any]) -> Any:
    if not a:
        raise _error("empty array", 15240, "a.max")
    return max(a)


def _min_plain(a: List[Any]) -> Any:
    if not a:
        raise _error("empty array", 15250, "a.min")
    return min(a)


def _argmax_plain(a: List[Any]) -> int:
    if not a:
        raise _error("empty array", 15320, "a.argmax")
    return a.index(max(a))  # the first extreme is the first element equal to it


def _argmin_plain(a: List[Any]) -> int:
    if not a:
        raise _error("empty array", 15330, "a.argmin")
    return a.index(min(a))  # the first extreme is the first element equal to it


def _extreme_emitter(name: str, code: int, double: Any, plain: Any, generic: Callable[[List[Any], Lt], Any]) -> None:
    def emit(site: Site) -> str:
        items = site.param_types[0].items
        if isinstance(items, AvroDouble):
            return site.call(double)
        if _plain(items):
            return site.call(plain)
        lt = _lt_for(items)

        def fallback(a: List[Any]) -> Any:
            if not a:
                raise _error("empty array", code, name)
            return generic(a, lt)
        return site.call(fallback)
    native(name)(emit)


_extreme_emitter("a.max", 15240, _max_double, _max_plain, lambda a, lt: _highest_n(a, 1, lt)[0])
_extreme_emitter("a.min", 15250, _min_double, _min_plain, lambda a, lt: _lowest_n(a, 1, lt)[0])
_extreme_emitter("a.argmax", 15320, _argmax_double, _argmax_plain, lambda a, lt: _arg_n(a, 1, lt, True)[0])
_extreme_emitter("a.argmin", 15330, _argmin_double, _argmin_plain, lambda a, lt: _arg_n(a, 1, lt, False)[0])


def _check_n(a: List[Any], n: int, code: int, name: str) -> None:
    if len(a) == 0:
        raise _error("empty array", code, name)
    if n < 0:
        raise _error("n < 0", code + 1, name)


@native("a.maxN", "a.minN", "a.argmaxN", "a.argminN")
def _emit_extreme_n(site: Site) -> str:
    name = site.name
    code = {"a.maxN": 15280, "a.minN": 15290, "a.argmaxN": 15360, "a.argminN": 15370}[name]
    items = site.param_types[0].items
    highest = name in ("a.maxN", "a.argmaxN")
    arg = name.startswith("a.arg")
    ordered: Callable[[List[Any]], List[Any]]
    if isinstance(items, AvroDouble):
        if arg:
            ordered = _desc_index_double if highest else _asc_index_double
        else:
            ordered = _desc_double if highest else _sorted_double
    elif _total(items):
        if arg:
            ordered = (lambda a: sorted(range(len(a)), key=a.__getitem__, reverse=True)) if highest \
                else (lambda a: sorted(range(len(a)), key=a.__getitem__))
        else:
            ordered = partial(sorted, reverse=True) if highest else sorted
    else:
        lt = _lt_for(items)

        def extreme_n(a: List[Any], n: int) -> List[Any]:
            _check_n(a, n, code, name)
            if arg:
                return _arg_n(a, n, lt, highest)
            return _highest_n(a, n, lt) if highest else _lowest_n(a, n, lt)
        return site.call(extreme_n)

    def sorted_n(a: List[Any], n: int) -> List[Any]:
        _check_n(a, n, code, name)
        return ordered(a)[:n]
    return site.call(sorted_n)


# ------------------------------------------------------------------ extreme values by a user's lessThan

def _max_lt(a: List[Any], lt: Lt) -> Any:
    if not a:
        raise _error("empty array", 15260, "a.maxLT")
    return _highest_n(a, 1, lt)[0]


def _min_lt(a: List[Any], lt: Lt) -> Any:
    if not a:
        raise _error("empty array", 15270, "a.minLT")
    return _lowest_n(a, 1, lt)[0]


def _max_n_lt(a: List[Any], n: int, lt: Lt) -> List[Any]:
    _check_n(a, n, 15300, "a.maxNLT")
    return _highest_n(a, n, lt)


def _min_n_lt(a: List[Any], n: int, lt: Lt) -> List[Any]:
    _check_n(a, n, 15310, "a.minNLT")
    return _lowest_n(a, n, lt)


def _argmax_lt(a: List[Any], lt: Lt) -> int:
    if not a:
        raise _error("empty array", 15340, "a.argmaxLT")
    return _arg_n(a, 1, lt, True)[0]


def _argmin_lt(a: List[Any], lt: Lt) -> int:
    if not a:
        raise _error("empty array", 15350, "a.argminLT")
    return _arg_n(a, 1, lt, False)[0]


def _argmax_n_lt(a: List[Any], n: int, lt: Lt) -> List[int]:
    _check_n(a, n, 15380, "a.argmaxNLT")
    return _arg_n(a, n, lt, True)


def _argmin_n_lt(a: List[Any], n: int, lt: Lt) -> List[int]:
    _check_n(a, n, 15390, "a.argminNLT")
    return _arg_n(a, n, lt, False)


_LT_HELPERS: Dict[str, Any] = {
    "a.maxLT": _max_lt, "a.minLT": _min_lt, "a.maxNLT": _max_n_lt, "a.minNLT": _min_n_lt,
    "a.argmaxLT": _argmax_lt, "a.argminLT": _argmin_lt, "a.argmaxNLT": _argmax_n_lt, "a.argminNLT": _argmin_n_lt,
}


@native(*_LT_HELPERS)
def _emit_lt(site: Site) -> str:
    return site.call(_LT_HELPERS[site.name])


# ------------------------------------------------------------------ basic access

@native("a.len")
def _emit_len(site: Site) -> str:
    return f"len({site.args[0]})"


@native("a.subseq")
def _emit_subseq(site: Site) -> str:
    return "{0}[{1}:{2}]".format(*site.args)


def _head(a: List[Any]) -> Any:
    if not a:
        raise _error("empty array", 15020, "a.head")
    return a[0]


def _tail(a: List[Any]) -> List[Any]:
    if not a:
        raise _error("empty array", 15030, "a.tail")
    return a[1:]


def _last(a: List[Any]) -> Any:
    if not a:
        raise _error("empty array", 15040, "a.last")
    return a[-1]


def _init(a: List[Any]) -> List[Any]:
    if not a:
        raise _error("empty array", 15050, "a.init")
    return a[:-1]


def _start_end(length: int, start: int, end: int) -> "tuple[int, int]":
    """titus.util.startEnd: Python-like negative indexes, clipped to the array."""
    start = start if start >= 0 else length + start
    start = min(max(start, 0), length)
    end = end if end >= 0 else length + end
    end = min(max(end, 0), length)
    return start, max(end, start)


def _subseqto(a: List[Any], start: int, end: int, replacement: List[Any]) -> List[Any]:
    start, end = _start_end(len(a), start, end)
    return a[:start] + replacement + a[end:]


_SIMPLE: Dict[str, Any] = {"a.head": _head, "a.tail": _tail, "a.last": _last, "a.init": _init,
                           "a.subseqto": _subseqto}


@native(*_SIMPLE)
def _emit_simple(site: Site) -> str:
    return site.call(_SIMPLE[site.name])


# ------------------------------------------------------------------ searching

def _contains_seq(haystack: List[Any], needle: List[Any]) -> bool:
    size = len(needle)
    for start in range(len(haystack) - size + 1):
        if needle == haystack[start:start + size]:
            return True
    return False


def _contains_fcn(haystack: List[Any], fcn: Callable[[Any], Any]) -> bool:
    for item in haystack:
        if fcn(item):
            return True
    return False


def _contains_item(haystack: List[Any], needle: Any) -> bool:
    return needle in haystack


def _count_seq(haystack: List[Any], needle: List[Any]) -> int:
    if len(haystack) == 0 or len(needle) == 0:
        return 0
    size = len(needle)
    count = 0
    for start in range(len(haystack) - size + 1):
        if needle == haystack[start:start + size]:
            count += 1
    return count


def _count_fcn(haystack: List[Any], fcn: Callable[[Any], Any]) -> int:
    count = 0
    for item in haystack:
        if fcn(item):
            count += 1
    return count


def _count_item(haystack: List[Any], needle: Any) -> int:
    return haystack.count(needle)


def _index_seq(haystack: List[Any], needle: List[Any]) -> int:
    size = len(needle)
    for start in range(len(haystack) - size + 1):
        if needle == haystack[start:start + size]:
            return start
    return -1


def _index_fcn(haystack: List[Any], fcn: Callable[[Any], Any]) -> int:
    for index, item in enumerate(haystack):
        if fcn(item):
            return index
    return -1


def _index_item(haystack: List[Any], needle: Any) -> int:
    try:
        return haystack.index(needle)
    except ValueError:
        return -1


def _rindex_seq(haystack: List[Any], needle: List[Any]) -> int:
    size = len(needle)
    for start in range(len(haystack) - size, -1, -1):
        if needle == haystack[start:start + size]:
            return start
    return -1


def _rindex_fcn(haystack: List[Any], fcn: Callable[[Any], Any]) -> int:
    for index in range(len(haystack) - 1, -1, -1):
        if fcn(haystack[index]):
            return index
    return -1


def _rindex_item(haystack: List[Any], needle: Any) -> int:
    for index in range(len(haystack) - 1, -1, -1):
        if needle == haystack[index]:
            return index
    return -1


def _startswith_seq(haystack: List[Any], needle: List[Any]) -> bool:
    return needle == haystack[:len(needle)]


def _startswith_item(haystack: List[Any], needle: Any) -> bool:
    return len(haystack) != 0 and needle == haystack[0]


def _endswith_seq(haystack: List[Any], needle: List[Any]) -> bool:
    return len(needle) == 0 or needle == haystack[-len(needle):]


def _endswith_item(haystack: List[Any], needle: Any) -> bool:
    return len(haystack) != 0 and needle == haystack[-1]


_SEARCH: Dict[str, Any] = {
    "a.contains": (_contains_seq, _contains_fcn, _contains_item),
    "a.count": (_count_seq, _count_fcn, _count_item),
    "a.index": (_index_seq, _index_fcn, _index_item),
    "a.rindex": (_rindex_seq, _rindex_fcn, _rindex_item),
    "a.startswith": (_startswith_seq, None, _startswith_item),
    "a.endswith": (_endswith_seq, None, _endswith_item),
}


@native(*_SEARCH)
def _emit_search(site: Site) -> Optional[str]:
    """titus picks the variant at run time: a list needle is a subsequence, a callable a predicate."""
    seq, fcn, item = _SEARCH[site.name]
    needle = site.param_types[1]
    if isinstance(needle, FcnType):
        return site.call(fcn) if fcn is not None else None
    if isinstance(needle, AvroArray):
        return site.call(seq)
    if not _may_be_list(needle):
        return site.call(item)
    return None


def _may_be_list(avro_type: Any) -> bool:
    return isinstance(avro_type, AvroArray) or any(isinstance(t, AvroArray) for t in getattr(avro_type, "types", ()))


# ------------------------------------------------------------------ manipulation

@native("a.concat")
def _emit_concat(site: Site) -> str:
    return "({0} + {1})".format(*site.args)


@native("a.append")
def _emit_append(site: Site) -> str:
    return "({0} + [{1}])".format(*site.args)


def _cycle(a: List[Any], item: Any, max_length: int) -> List[Any]:
    if max_length < 0:
        raise _error("maxLength out of range", 15150, "a.cycle")
    if max_length == 0:
        return []
    return (a + [item])[-max_length:]


def _insert(a: List[Any], index: int, item: Any) -> List[Any]:
    norm = index if index >= 0 else len(a) + index
    if norm < 0 or norm >= len(a):
        raise _error("index out of range", 15160, "a.insert")
    return a[:norm] + [item] + a[norm:]


def _replace(a: List[Any], index: int, item: Any) -> List[Any]:
    norm = index if index >= 0 else len(a) + index
    if norm < 0 or norm >= len(a):
        raise _error("index out of range", 15170, "a.replace")
    return a[:norm] + [item] + a[norm + 1:]


def _remove_range(a: List[Any], start: int, end: int) -> List[Any]:
    start, end = _start_end(len(a), start, end)
    return a[:start] + a[end:]


def _remove_index(a: List[Any], index: int) -> List[Any]:
    norm = index if index >= 0 else len(a) + index
    if norm < 0 or norm >= len(a):
        raise _error("index out of range", 15180, "a.remove")
    return a[:norm] + a[norm + 1:]


def _rotate(a: List[Any], steps: int) -> List[Any]:
    if steps < 0:
        raise _error("steps out of range", 15190, "a.rotate")
    if steps == 0 or len(a) == 0:
        return a
    index = steps % len(a)
    return a[index:] + a[:index]


@native("a.cycle", "a.insert", "a.replace", "a.remove", "a.rotate")
def _emit_manipulation(site: Site) -> str:
    if site.name == "a.remove":
        return site.call(_remove_range if len(site.args) == 3 else _remove_index)
    helper = {"a.cycle": _cycle, "a.insert": _insert, "a.replace": _replace, "a.rotate": _rotate}[site.name]
    return site.call(helper)


# ------------------------------------------------------------------ reordering

@native("a.sort")
def _emit_sort(site: Site) -> str:
    return site.call(_sorter_for(site.param_types[0].items))


def _sort_lt(a: List[Any], lt: Lt) -> List[Any]:
    """titus's ``toCmp``: ``lt(x, y)``, then ``lt(y, x)`` when the first is false."""
    return sorted(a, key=cmp_to_key(lambda x, y: -1 if lt(x, y) else 1 if lt(y, x) else 0))


@native("a.sortLT")
def _emit_sort_lt(site: Site) -> str:
    return site.call(_sort_lt)


@native("a.reverse")
def _emit_reverse(site: Site) -> str:
    return f"{site.args[0]}[::-1]"


# ------------------------------------------------------------------ numerical

def _sum_int(a: List[int]) -> int:
    out = sum(a)
    if INT_MIN <= out <= INT_MAX:
        return out
    raise _error("int overflow", 15400, "a.sum")


def _sum_long(a: List[int]) -> int:
    out = sum(a)
    if LONG_MIN <= out <= LONG_MAX:
        return out
    raise _error("long overflow", 15401, "a.sum")


@native("a.sum")
def _emit_sum(site: Site) -> str:
    ret = site.ret_type
    if isinstance(ret, AvroInt):
        return site.call(_sum_int)
    if isinstance(ret, AvroLong):
        return site.call(_sum_long)
    return f"sum({site.args[0]})"


def _product_int(a: List[int]) -> int:
    out = math.prod(a)
    if INT_MIN <= out <= INT_MAX:
        return out
    raise _error("int overflow", 15410, "a.product")


def _product_long(a: List[int]) -> int:
    out = math.prod(a)
    if LONG_MIN <= out <= LONG_MAX:
        return out
    raise _error("long overflow", 15411, "a.product")


def _product_float(a: List[float]) -> float:
    return reduce(lambda x, y: x * y, a, 1.0)


@native("a.product")
def _emit_product(site: Site) -> str:
    ret = site.ret_type
    if isinstance(ret, AvroInt):
        return site.call(_product_int)
    if isinstance(ret, AvroLong):
        return site.call(_product_long)
    return site.call(_product_float)


def _ln(x: float) -> float:
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    return math.log(x)


def _lnsum(a: List[float]) -> float:
    return sum([_ln(x) for x in a])


def _mean(a: List[float]) -> float:
    numer = sum(a)
    denom = float(len(a))
    if denom == 0.0:
        if numer > 0.0:
            return math.inf
        if numer < 0.0:
            return -math.inf
        return math.nan
    return numer / denom


def _geomean(a: List[float]) -> Any:
    if len(a) == 0:
        return math.nan
    return reduce(lambda x, y: x * y, a, 1.0) ** (1.0 / len(a))


def _logsumexp(a: List[float]) -> float:
    if len(a) == 0:
        return math.nan
    dmax = max(a)
    res = 0.0
    exp = math.exp
    for v in a:
        res += exp(v - dmax)
    return math.log(res) + dmax


_NUMERICAL: Dict[str, Any] = {"a.lnsum": _lnsum, "a.mean": _mean, "a.geomean": _geomean, "a.logsumexp": _logsumexp}


@native(*_NUMERICAL)
def _emit_numerical(site: Site) -> str:
    return site.call(_NUMERICAL[site.name])


def _median_of(sa: List[Any], floating: bool) -> Any:
    """The middle of sorted ``sa``; an even count averages the two middles only for float and double."""
    half = len(sa) // 2
    if len(sa) % 2:
        return sa[half]
    if floating:
        return (sa[half - 1] + sa[half]) / 2.0
    return sa[half - 1]


@native("a.median")
def _emit_median(site: Site) -> str:
    sort = _sorter_for(site.param_types[0].items)
    floating = isinstance(site.ret_type, (AvroFloat, AvroDouble))

    def median(a: List[Any]) -> Any:
        if len(a) == 0:
            raise _error("empty array", 15450, "a.median")
        return _median_of(sort(a), floating)
    return site.call(median)


@native("a.mode")
def _emit_mode(site: Site) -> str:
    """titus counts by ``json.dumps`` (so -0.0 and 0.0 differ, all NaNs agree), then takes the median
    of the most frequent values in order of first appearance."""
    items = site.param_types[0].items
    sort = _sorter_for(items)
    floating = isinstance(site.ret_type, (AvroFloat, AvroDouble))
    key: Callable[[Any], Any]
    if isinstance(items, (AvroInt, AvroLong, AvroString)):
        key = _identity
    elif isinstance(items, (AvroFloat, AvroDouble)):
        key = repr  # same partition as json.dumps: repr tells -0.0 from 0.0 and writes every NaN as 'nan'
    else:
        key = json.dumps

    def mode(a: List[Any]) -> Any:
        if len(a) == 0:
            raise _error("empty array", 15470, "a.mode")
        counter: Dict[Any, int] = {}
        first: Dict[Any, Any] = {}
        for x in a:
            k = key(x)
            if k in counter:
                counter[k] += 1
            else:
                counter[k] = 1
                first[k] = x
        best = max(counter.values())
        return _median_of(sort([first[k] for k, n in counter.items() if n == best]), floating)
    return site.call(mode)


def _identity(x: Any) -> Any:
    return x


@native("a.ntile")
def _emit_ntile(site: Site) -> str:
    items = site.param_types[0].items
    sort = _sorter_for(items)
    lt = _lt_for(items)
    floating = isinstance(site.ret_type, (AvroFloat, AvroDouble))

    def ntile(a: List[Any], p: float) -> Any:
        if len(a) == 0:
            raise _error("empty array", 15460, "a.ntile")
        if math.isnan(p):
            raise _error("p not a number", 15461, "a.ntile")
        if p <= 0.0:
            return _lowest_n(a, 1, lt)[0]
        if p >= 1.0:
            return _highest_n(a, 1, lt)[0]
        sa = sort(a)
        k = (len(a) - 1.0) * p
        f = math.floor(k)
        if floating:
            c = math.ceil(k)
            if f == c:
                return sa[int(k)]
            return sa[int(f)] * (c - k) + sa[int(c)] * (k - f)
        if len(sa) % 2 == 1:
            return sa[int(f)]
        return sa[int(k)]
    return site.call(ntile)


# ------------------------------------------------------------------ set-like functions

def _hashable(avro_type: Any) -> bool:
    """Types whose values hash consistently with ``==`` (NaN hashes by identity, as ``in`` matches it)."""
    return isinstance(avro_type, (AvroInt, AvroLong, AvroFloat, AvroDouble, AvroString, AvroBoolean, AvroEnum,
                                  AvroNull))


def _distinct(a: List[Any]) -> List[Any]:
    out: List[Any] = []
    for x in a:
        if x not in out:
            out.append(x)
    return out


def _distinct_hash(a: List[Any]) -> List[Any]:
    seen: set = set()
    out = []
    for x in a:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def _seteq(a: List[Any], b: List[Any]) -> bool:
    return all(x in b for x in a) and all(y in a for y in b)


def _seteq_hash(a: List[Any], b: List[Any]) -> bool:
    sa, sb = set(a), set(b)
    return all(x in sb for x in a) and all(y in sa for y in b)


def _union(a: List[Any], b: List[Any]) -> List[Any]:
    return _distinct(a + b)


def _union_hash(a: List[Any], b: List[Any]) -> List[Any]:
    return _distinct_hash(a + b)


def _intersection(a: List[Any], b: List[Any]) -> List[Any]:
    return [x for x in a if x in b] + [y for y in b if y in a]


def _intersection_hash(a: List[Any], b: List[Any]) -> List[Any]:
    sa, sb = set(a), set(b)
    return [x for x in a if x in sb] + [y for y in b if y in sa]


def _diff(a: List[Any], b: List[Any]) -> List[Any]:
    return [x for x in a if x not in b]


def _diff_hash(a: List[Any], b: List[Any]) -> List[Any]:
    sb = set(b)
    return [x for x in a if x not in sb]


def _symdiff(a: List[Any], b: List[Any]) -> List[Any]:
    return [x for x in a if x not in b] + [y for y in b if y not in a]


def _symdiff_hash(a: List[Any], b: List[Any]) -> List[Any]:
    sa, sb = set(a), set(b)
    return [x for x in a if x not in sb] + [y for y in b if y not in sa]


def _subset(a: List[Any], b: List[Any]) -> bool:
    return all(x in b for x in a)


def _subset_hash(a: List[Any], b: List[Any]) -> bool:
    sb = set(b)
    return all(x in sb for x in a)


def _disjoint(a: List[Any], b: List[Any]) -> bool:
    return all(x not in b for x in a) and all(y not in a for y in b)


def _disjoint_hash(a: List[Any], b: List[Any]) -> bool:
    sa, sb = set(a), set(b)
    return all(x not in sb for x in a) and all(y not in sa for y in b)


_SETS: Dict[str, Any] = {
    "a.distinct": (_distinct, _distinct_hash), "a.seteq": (_seteq, _seteq_hash), "a.union": (_union, _union_hash),
    "a.intersection": (_intersection, _intersection_hash), "a.diff": (_diff, _diff_hash),
    "a.symdiff": (_symdiff, _symdiff_hash), "a.subset": (_subset, _subset_hash),
    "a.disjoint": (_disjoint, _disjoint_hash),
}


@native(*_SETS)
def _emit_sets(site: Site) -> str:
    by_scan, by_hash = _SETS[site.name]
    hashable = all(_hashable(t.items) for t in site.param_types)
    return site.call(by_hash if hashable else by_scan)


# ------------------------------------------------------------------ functional programming

def _map(a: List[Any], fcn: Callable[[Any], Any]) -> List[Any]:
    return list(map(fcn, a))


def _map_with_index(a: List[Any], fcn: Callable[[int, Any], Any]) -> List[Any]:
    return [fcn(i, x) for i, x in enumerate(a)]


def _filter(a: List[Any], fcn: Callable[[Any], Any]) -> List[Any]:
    return [x for x in a if fcn(x)]


def _filter_with_index(a: List[Any], fcn: Callable[[int, Any], Any]) -> List[Any]:
    return [x for i, x in enumerate(a) if fcn(i, x)]


def _flat_map(a: List[Any], fcn: Callable[[Any], List[Any]]) -> List[Any]:
    out: List[Any] = []
    for x in a:
        out.extend(fcn(x))
    return out


def _flat_map_with_index(a: List[Any], fcn: Callable[[int, Any], List[Any]]) -> List[Any]:
    out: List[Any] = []
    for i, x in enumerate(a):
        out.extend(fcn(i, x))
    return out


def _reduce(a: List[Any], fcn: Callable[[Any, Any], Any]) -> Any:
    if len(a) == 0:
        raise _error("empty array", 15670, "a.reduce")
    return reduce(fcn, a)


def _reduce_right(a: List[Any], fcn: Callable[[Any, Any], Any]) -> Any:
    if len(a) == 0:
        raise _error("empty array", 15680, "a.reduceRight")
    acc = a[-1]
    for index in range(len(a) - 2, -1, -1):
        acc = fcn(a[index], acc)
    return acc


def _fold(a: List[Any], zero: Any, fcn: Callable[[Any, Any], Any]) -> Any:
    return reduce(fcn, a, zero)


def _fold_right(a: List[Any], zero: Any, fcn: Callable[[Any, Any], Any]) -> Any:
    acc = zero
    for index in range(len(a) - 1, -1, -1):
        acc = fcn(a[index], acc)
    return acc


def _take_while(a: List[Any], fcn: Callable[[Any], Any]) -> List[Any]:
    for index, x in enumerate(a):
        if not fcn(x):
            return a[:index]
    return a[:]


def _drop_while(a: List[Any], fcn: Callable[[Any], Any]) -> List[Any]:
    for index, x in enumerate(a):
        if not fcn(x):
            return a[index:]
    return []


def _any(a: List[Any], fcn: Callable[[Any], Any]) -> bool:
    for x in a:
        if fcn(x):
            return True
    return False


def _all(a: List[Any], fcn: Callable[[Any], Any]) -> bool:
    for x in a:
        if not fcn(x):
            return False
    return True


def _corresponds(a: List[Any], b: List[Any], fcn: Callable[[Any, Any], Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=False):
        if not fcn(x, y):
            return False
    return True


def _corresponds_with_index(a: List[Any], b: List[Any], fcn: Callable[[int, Any, Any], Any]) -> bool:
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if not fcn(i, x, y):
            return False
    return True


def _groupby(a: List[Any], fcn: Callable[[Any], str]) -> Dict[str, List[Any]]:
    out: Dict[str, List[Any]] = {}
    for x in a:
        key = fcn(x)
        if key in out:
            out[key].append(x)
        else:
            out[key] = [x]
    return out


def _flatten(a: List[List[Any]]) -> List[Any]:
    return [item for sub in a for item in sub]


_FUNCTIONAL: Dict[str, Any] = {
    "a.map": _map, "a.mapWithIndex": _map_with_index, "a.filter": _filter, "a.filterWithIndex": _filter_with_index,
    "a.flatMap": _flat_map, "a.flatMapWithIndex": _flat_map_with_index, "a.reduce": _reduce,
    "a.reduceRight": _reduce_right, "a.fold": _fold, "a.foldRight": _fold_right, "a.takeWhile": _take_while,
    "a.dropWhile": _drop_while, "a.any": _any, "a.all": _all, "a.corresponds": _corresponds,
    "a.correspondsWithIndex": _corresponds_with_index, "a.groupby": _groupby, "a.flatten": _flatten,
}


@native(*_FUNCTIONAL)
def _emit_functional(site: Site) -> str:
    return site.call(_FUNCTIONAL[site.name])


def _union_names(fcn_type: Any) -> List[str]:
    """titus's ``typeNames`` for a ``filterMap`` callback: the names of its non-null result types."""
    ret = fcn_type.ret
    members = ret.types if hasattr(ret, "types") else [ret]
    return [t.name for t in members if not isinstance(t, AvroNull)]


def _untag(value: Any, names: List[str]) -> Any:
    """titus unwraps a one-entry dict whose key names a result type as a tagged union value."""
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag in names:
            return inner
    return value


@native("a.filterMap", "a.filterMapWithIndex")
def _emit_filter_map(site: Site) -> str:
    names = _union_names(site.param_types[1])
    with_index = site.name == "a.filterMapWithIndex"

    def filter_map(a: List[Any], fcn: Callable[..., Any]) -> List[Any]:
        out = []
        for i, x in enumerate(a):
            y = fcn(i, x) if with_index else fcn(x)
            if y is not None:
                out.append(_untag(y, names))
        return out
    return site.call(filter_map)


def _zipmap(*args: Any) -> List[Any]:
    if len(set(map(len, args[:-1]))) != 1:
        raise _error("misaligned arrays", 15650, "a.zipmap")
    return list(map(args[-1], *args[:-1]))


def _zipmap2(a: List[Any], b: List[Any], fcn: Callable[[Any, Any], Any]) -> List[Any]:
    if len(a) != len(b):
        raise _error("misaligned arrays", 15650, "a.zipmap")
    return list(map(fcn, a, b))


def _zipmap_with_index(*args: Any) -> List[Any]:
    if len(set(map(len, args[:-1]))) != 1:
        raise _error("misaligned arrays", 15660, "a.zipmapWithIndex")
    return list(map(args[-1], range(len(args[0])), *args[:-1]))


@native("a.zipmap", "a.zipmapWithIndex")
def _emit_zipmap(site: Site) -> str:
    if site.name == "a.zipmap":
        return site.call(_zipmap2 if len(site.args) == 3 else _zipmap)
    return site.call(_zipmap_with_index)
