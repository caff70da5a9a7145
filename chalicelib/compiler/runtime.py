"""What generated code calls for the core forms: paths, updates, casts, unions, errors, time.

Each helper does what titus's generic helper of the same form does (``titus/genpy.py``), for
one shape decided at compile time, so the answers and the error codes are titus's.
"""

import json
import time
from typing import Any, Callable, Dict, List, Optional

from titus.datatype import (
    AvroBoolean,
    AvroBytes,
    AvroDouble,
    AvroEnum,
    AvroFixed,
    AvroFloat,
    AvroInt,
    AvroLong,
    AvroNull,
    AvroString,
    jsonDecoder,
)
from titus.errors import AvroException, PFARuntimeException, PFATimeoutException, PFAUserException

perf_counter = time.perf_counter


class _NoMatch:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_MATCH"


NO_MATCH = _NoMatch()


class Clock:
    """An instance's time budget: generated code compares ``perf_counter()`` with ``deadline``."""

    __slots__ = ("deadline", "timeout_ms")

    def __init__(self) -> None:
        self.deadline = float("inf")
        self.timeout_ms = 0.0

    def start(self, timeout_ms: Optional[float]) -> None:
        if timeout_ms is None or timeout_ms <= 0:
            self.deadline = float("inf")
            self.timeout_ms = 0.0
        else:
            self.timeout_ms = timeout_ms
            self.deadline = perf_counter() + timeout_ms / 1000.0

    def expired(self) -> None:
        raise PFATimeoutException("exceeded timeout of {0} milliseconds".format(self.timeout_ms))


def item(obj: Any, key: Any, array_code: int, map_code: int, fcn_name: str) -> Any:
    """``obj[key]`` for an array index or a map key, with titus's error for a missing one."""
    try:
        return obj[key]
    except (KeyError, IndexError):
        if isinstance(obj, (list, tuple)):
            raise PFARuntimeException("array index not found", array_code, fcn_name, None) from None
        raise PFARuntimeException("map key not found", map_code, fcn_name, None) from None


def update(obj: Any, path: List[Any], to: Any, is_function: bool, array_code: int, map_code: int,
           fcn_name: str) -> Any:
    """A copy of ``obj`` with the value at ``path`` replaced by ``to`` (or ``to(old)`` for a function)."""
    if not path:
        return to(obj) if is_function else to
    head, tail = path[0], path[1:]
    if isinstance(obj, dict):
        if tail and head not in obj:
            raise PFARuntimeException("map key not found", map_code, fcn_name, None)
        out = {}
        for key, value in obj.items():
            out[key] = update(value, tail, to, is_function, array_code, map_code, fcn_name) if key == head else value
        return out
    if isinstance(obj, (list, tuple)):
        if (tail and head >= len(obj)) or head < 0:
            raise PFARuntimeException("array index not found", array_code, fcn_name, None)
        return [update(value, tail, to, is_function, array_code, map_code, fcn_name) if index == head else value
                for index, value in enumerate(obj)]
    raise TypeError("a path reached a value that has no parts")


def pool_update(pool: Dict[str, Any], path: List[Any], to: Any, is_function: bool, init: Any) -> Any:
    """titus's ``Pool.update``: the pool's own dict changes; the item is replaced by a new value."""
    head, tail = path[0], path[1:]
    if head not in pool:
        pool[head] = init
    pool[head] = update(pool[head], tail, to, is_function, 2010, 2011, "pool-to")
    return pool[head]


def pool_delete(pool: Dict[str, Any], key: str) -> None:
    pool.pop(key, None)
    return None


def wrap_union(value: Any, tag: str) -> Any:
    return value if value is None else {tag: value}


def untag(value: Any, expected_tag: str) -> Any:
    """titus's ``untagUnions`` for one value: ``{tag: v}`` becomes ``v`` when ``tag`` is the expected one."""
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag == expected_tag:
            return inner
    return value


def expected_tag(avro_type: Any) -> str:
    """The tag ``untagUnions`` expects for a value of ``avro_type`` (from its JSON form, as titus does)."""
    node = json.loads(repr(avro_type))
    if isinstance(node, dict):
        if node["type"] in ("record", "enum", "fixed"):
            if "namespace" in node and node["namespace"].strip() != "":
                return node["namespace"] + "." + node["name"]
            return node["name"]
        return node["type"]
    return node


def cast_decoder(to_type: Any) -> Callable[[Any], Any]:
    """One case of titus's ``cast`` for a value that is not a tagged member: the value as ``to_type``
    (``jsonDecoder``'s answer), or :data:`NO_MATCH` where ``jsonDecoder`` fails."""
    return _decoder(to_type)


def accepted_tags(to_type: Any) -> frozenset:
    """The tags of a tagged union member that titus's cast lets a case of ``to_type`` try: its own name,
    and the narrower numbers for a wider number case."""
    name = to_type.name
    tags = {name}
    if name in ("long", "float", "double"):
        tags.add("int")
    if name in ("float", "double"):
        tags.add("long")
    if name == "double":
        tags.add("float")
    return frozenset(tags)


def plain_type(to_type: Any) -> Optional["tuple[str, bool]"]:
    """For a primitive case type: the Python type (or ``null``/``boolean``) whose values decode to
    themselves, and whether values of other types may still convert (numbers do: ``int("12")``)."""
    if isinstance(to_type, AvroNull):
        return ("null", False)
    if isinstance(to_type, AvroBoolean):
        return ("boolean", False)
    if isinstance(to_type, (AvroInt, AvroLong)):
        return ("int", True)
    if isinstance(to_type, (AvroFloat, AvroDouble)):
        return ("float", True)
    if isinstance(to_type, (AvroString, AvroBytes)):
        return ("str", False)
    return None


def _decoder(to_type: Any) -> Callable[[Any], Any]:
    """``jsonDecoder(to_type, value)``, with its failures (AvroException, TypeError) as NO_MATCH."""
    if isinstance(to_type, AvroNull):
        return lambda value: value if value is None else NO_MATCH
    if isinstance(to_type, AvroBoolean):
        return lambda value: value if (value is True or value is False) else NO_MATCH
    if isinstance(to_type, (AvroInt, AvroLong)):
        return _make_number_decoder(int)
    if isinstance(to_type, (AvroFloat, AvroDouble)):
        return _make_number_decoder(float)
    if isinstance(to_type, (AvroString, AvroBytes)):
        return lambda value: value if isinstance(value, str) else NO_MATCH
    if isinstance(to_type, AvroFixed):
        size = to_type.size
        return lambda value: value if isinstance(value, str) and len(value) == size else NO_MATCH
    if isinstance(to_type, AvroEnum):
        symbols = frozenset(to_type.symbols)
        return lambda value: value if isinstance(value, str) and value in symbols else NO_MATCH

    def decode(value: Any) -> Any:
        try:
            return jsonDecoder(to_type, value)
        except (AvroException, TypeError):
            return NO_MATCH

    return decode


def _make_number_decoder(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        try:
            return convert(value)
        except (ValueError, TypeError):
            return NO_MATCH
    return decode


def raise_scope_error() -> None:
    """What titus's ``DynamicScope.set`` raises for one ``set`` of variables declared in different blocks."""
    raise RuntimeError()


def raise_user_error(message: str, code: Optional[int]) -> None:
    raise PFAUserException(message, code, None)


def absorbed(error: BaseException, filter_: Optional[List[Any]]) -> bool:
    """Whether ``try`` with ``filter_`` absorbs ``error``, as titus's ``tryCatch`` decides."""
    if filter_ is None:
        return True
    return error.message in filter_ or error.code in filter_  # type: ignore[attr-defined]


def titus_callable(function: Callable[..., Any], arity: int) -> Any:
    """A compiled function in the form titus's library calls back (``callfcn``)."""
    names = ["$" + str(index) for index in range(arity)]

    def called(state: Any, scope: Any) -> Any:
        return function(*[scope.get(name) for name in names])

    called.paramNames = names  # type: ignore[attr-defined]
    return called
