"""Strict validation of a JSON record against a PFA input type.

:func:`compile_validator` turns an Avro schema into a function that checks a
parsed JSON value and converts it to the form titus expects (the form titus's
own ``checkData`` produces: tagged unions, ``bytes`` for bytes/fixed, floats
for float/double), so the engine can run with ``check=False``.

Strict means: a string is not a number, a boolean is not a number, a missing
field (without an Avro default) and an unknown field are errors. Errors are
:class:`InvalidInput` naming the field path, the expected type and the value.
"""

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

from .avro_schema import (
    NamedTypes,
    Schema,
    SchemaError,
    describe,
    field_names,
    full_name,
    type_kind,
    union_member,
    unwrap,
)
from .errors import InvalidInput

Check = Callable[[Any], Any]

# The longest caller-written name quoted in a message or a field path: answers never echo a caller's
# data at length.
KEY_LIMIT = 60
_INT_RANGE = (-(2 ** 31), 2 ** 31 - 1)
_LONG_RANGE = (-(2 ** 63), 2 ** 63 - 1)
_JSON_KIND = {
    "null": (type(None),), "boolean": (bool,), "int": (int,), "long": (int,), "float": (int, float),
    "double": (int, float), "bytes": (str,), "string": (str,), "enum": (str,), "fixed": (str,),
    "array": (list,), "map": (dict,), "record": (dict,),
}


# JSON value types that a member of these kinds accepts whatever the value is.
_TOTAL: Dict[type, Tuple[str, ...]] = {
    type(None): ("null",), bool: ("boolean",), str: ("string",), float: ("double", "float"),
}


class Mismatch(Exception):
    """Raised inside a check; containers add their path segment on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: List[str] = []

    def field(self) -> Optional[str]:
        if not self.path:
            return None
        text = ""
        for segment in reversed(self.path):
            if len(segment) > KEY_LIMIT:
                segment = segment[: KEY_LIMIT - 3] + "..."
            text += segment if segment.startswith("[") or not text else "." + segment
        return text


def compile_validator(schema: Schema, map_keys: Optional[List[str]] = None,
                      map_types: Optional[Dict[str, Schema]] = None) -> Callable[[Any], Any]:
    """Return ``validate(value) -> converted value`` raising :class:`InvalidInput`.

    ``map_keys`` gives a map-typed input the field contract of a record: exactly
    these keys, all required (an exported model's features, for instance).
    ``map_types`` narrows the type of some keys' values to members of the map's
    value type (R exports every feature as ``null | string | double`` although
    a numeric feature's model only takes numbers). Raises :class:`SchemaError`
    if a narrowed type is not part of the map's value type.
    """
    compiler = _Compiler()
    check = compiler.compile(schema, "")
    if map_keys is not None and type_kind(unwrap(schema)) == "map":
        values = unwrap(schema)["values"]
        narrowed = {key: compiler.narrowed(values, map_types[key], key) for key in map_keys
                    if map_types and key in map_types}
        check = _with_required_keys(check, values, map_keys, narrowed, map_types or {})

    def validate(value: Any) -> Any:
        try:
            return check(value)
        except Mismatch as mismatch:
            raise InvalidInput(mismatch.message, field=mismatch.field()) from None
        except RecursionError:  # a recursive type lets a record nest as deep as the body does
            raise InvalidInput("the record is nested too deeply for this service to check") from None

    return validate


def _with_required_keys(check: Check, value_schema: Schema, keys: List[str], narrowed: Dict[str, Check],
                        narrowed_types: Dict[str, Schema]) -> Check:
    required = frozenset(keys)
    expected_names = ", ".join(keys)
    types = {key: narrowed_types.get(key, value_schema) for key in keys}

    def check_keys(value: Any) -> Any:
        if not narrowed or type(value) is not dict:
            out = check(value)
        else:
            out = {}
            for key, element in value.items():
                try:
                    out[key] = (narrowed.get(key) or check_value)(element)
                except Mismatch as mismatch:
                    mismatch.path.append(key)
                    raise
        if len(out) != len(required) or any(key not in required for key in out):
            raise _field_problems(out, [key for key in keys if key not in out], required, expected_names, types)
        return out

    check_value = _Compiler().compile(value_schema, "")
    return check_keys


def _field_problems(value: Dict[str, Any], missing: List[str], known: frozenset, expected_names: str,
                    types: Dict[str, Schema]) -> "Mismatch":
    """Every missing and unknown field of one record, in one message (names listed up to a bound)."""
    unknown = sorted(key for key in value if key not in known)
    parts = []
    if len(missing) == 1:
        parts.append(f"missing required field {_key(missing[0])} (expected {describe(types[missing[0]])})")
    elif missing:
        parts.append(f"missing required fields {_names(missing)}")
    if unknown:
        parts.append(f"unknown field{'s' if len(unknown) > 1 else ''} {_names(unknown)}; "
                     f"expected fields: {expected_names}")
    mismatch = Mismatch("; ".join(parts))
    mismatch.path.append((missing or unknown)[0])
    return mismatch


def _names(names: List[str], limit: int = 10) -> str:
    shown_names = ", ".join(_key(name) for name in names[:limit])
    if len(names) > limit:
        return f"{shown_names} and {len(names) - limit} more ({len(names)} in all)"
    return shown_names


def _key(key: str, limit: int = KEY_LIMIT) -> str:
    """A field name as the caller wrote it, quoted, cut to a short prefix."""
    return repr(key if len(key) <= limit else key[: limit - 3] + "...")


def shown(value: Any, limit: int = 60) -> str:
    """The received value as the caller wrote it, with its JSON type, cut to one short line."""
    kind = _json_kind_name(value)
    if type(value) is int and value.bit_length() > 200:  # Python writes at most 4300 digits of an integer
        return f"integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    try:
        text = json.dumps(value, allow_nan=True, ensure_ascii=False)
    except (TypeError, ValueError):
        try:
            text = repr(value)
        except ValueError:  # holds an integer too long to write
            return f"{kind} holding an integer of over 4300 digits"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{kind} {text}" if kind not in ("null", "boolean") else text


def _json_kind_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _expected(schema: Schema, value: Any) -> Mismatch:
    message = f"expected {describe(schema)}, got {shown(value)}"
    if type(value) is str and _takes_numbers(schema) and _is_number(value):
        message += " (a number in quotes: send it without the quotes)"
    return Mismatch(message)


def _takes_numbers(schema: Schema) -> bool:
    members = schema if isinstance(schema, list) else [schema]
    return any(unwrap(member) in ("double", "float", "int", "long") for member in members)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Compiler:
    def __init__(self) -> None:
        self.named = NamedTypes()
        self.compiled: Dict[str, Check] = {}

    def compile(self, schema: Schema, namespace: str) -> Check:
        schema = unwrap(schema)
        kind = type_kind(schema)
        if kind == "ref":
            name = schema if isinstance(schema, str) else schema["type"]
            target = self.named.resolve(name, namespace)
            full = full_name(target, namespace)
            return lambda value: self.compiled[full](value)
        builder = getattr(self, "_" + kind, None)
        if builder is None:
            raise SchemaError(f"unsupported type {kind!r}")
        return builder(schema, namespace)

    def narrowed(self, values: Schema, narrowed: Schema, key: str) -> Check:
        """A check of ``narrowed`` (some members of the union ``values``) that gives the value the form a
        value of ``values`` has: a union's tag."""
        members = narrowed if isinstance(narrowed, list) else [narrowed]
        allowed = values if isinstance(values, list) else [values]
        for member in members:
            if member not in allowed:
                raise SchemaError(f"the type {json.dumps(member)} given for {key!r} is not one of the map's value "
                                  f"types ({describe(values)})")
        return self.compile(members if isinstance(values, list) else members[0], "")

    # primitives -----------------------------------------------------------
    def _null(self, schema: Schema, namespace: str) -> Check:
        def check(value: Any) -> Any:
            if value is not None:
                raise _expected(schema, value)
            return None
        return check

    def _boolean(self, schema: Schema, namespace: str) -> Check:
        def check(value: Any) -> Any:
            if value is not True and value is not False:
                raise _expected(schema, value)
            return value
        return check

    def _integer(self, schema: Schema, bounds: tuple) -> Check:
        low, high = bounds

        def check(value: Any) -> Any:
            if type(value) is not int:
                raise _expected(schema, value)
            if not low <= value <= high:
                raise Mismatch(f"expected {schema} (from {low} to {high}), got {shown(value)}")
            return value
        return check

    def _int(self, schema: Schema, namespace: str) -> Check:
        return self._integer(schema, _INT_RANGE)

    def _long(self, schema: Schema, namespace: str) -> Check:
        return self._integer(schema, _LONG_RANGE)

    def _double(self, schema: Schema, namespace: str) -> Check:
        def check(value: Any) -> Any:
            kind = type(value)
            if kind is float:
                if value - value == 0.0:  # finite; JSON's 1e999 parses as infinity
                    return value
                raise Mismatch(f"expected {schema}, got a number out of its range: {shown(value)}")
            if kind is int:
                try:
                    return float(value)
                except OverflowError:
                    raise Mismatch(f"expected {schema}, got an integer out of its range: {shown(value)}") from None
            raise _expected(schema, value)
        return check

    _float = _double

    def _string(self, schema: Schema, namespace: str) -> Check:
        def check(value: Any) -> Any:
            if type(value) is not str:
                raise _expected(schema, value)
            return value
        return check

    def _bytes(self, schema: Schema, namespace: str) -> Check:
        def check(value: Any) -> Any:
            if type(value) is not str:
                raise _expected(schema, value)
            try:
                return value.encode("latin-1")
            except UnicodeEncodeError:
                raise Mismatch(f"expected bytes (a string of code points 0-255, Avro's JSON encoding), "
                               f"got {shown(value)}") from None
        return check

    # named ----------------------------------------------------------------
    def _named(self, schema: Dict[str, Any], namespace: str, build: Callable[[str], Check]) -> Check:
        full = self.named.register(schema, namespace)
        inner_namespace = full.rsplit(".", 1)[0] if "." in full else ""
        check = build(inner_namespace)
        self.compiled[full] = check
        return check

    def _fixed(self, schema: Dict[str, Any], namespace: str) -> Check:
        size = schema["size"]
        as_bytes = self._bytes(schema, namespace)

        def build(_: str) -> Check:
            def check(value: Any) -> Any:
                data = as_bytes(value)
                if len(data) != size:
                    raise Mismatch(f"expected {describe(schema)}, got {len(data)} bytes")
                return data
            return check
        return self._named(schema, namespace, build)

    def _enum(self, schema: Dict[str, Any], namespace: str) -> Check:
        symbols = frozenset(schema["symbols"])

        def build(_: str) -> Check:
            def check(value: Any) -> Any:
                if type(value) is not str or value not in symbols:
                    raise _expected(schema, value)
                return value
            return check
        return self._named(schema, namespace, build)

    def _record(self, schema: Dict[str, Any], namespace: str) -> Check:
        def build(inner_namespace: str) -> Check:
            fields = []
            types: Dict[str, Schema] = {}
            for field in schema["fields"]:
                field_check = self.compile(field["type"], inner_namespace)
                has_default = "default" in field
                default = field_check(field["default"]) if has_default else None
                fields.append((field["name"], field_check, has_default, default))
                types[field["name"]] = field["type"]
            names = frozenset(name for name, *_ in fields)
            required = [name for name, _, has_default, _ in fields if not has_default]
            expected_names = ", ".join(field_names(schema))

            def check(value: Any) -> Any:
                if type(value) is not dict:
                    raise _expected(schema, value)
                out = {}
                for name, field_check, has_default, default in fields:
                    if name in value:
                        try:
                            out[name] = field_check(value[name])
                        except Mismatch as mismatch:
                            mismatch.path.append(name)
                            raise
                    elif has_default:
                        out[name] = default
                    else:
                        raise _field_problems(value, [name for name in required if name not in value], names,
                                              expected_names, types)
                if len(value) > len(out) or any(key not in names for key in value):
                    raise _field_problems(value, [], names, expected_names, types)
                return out
            return check
        # Register before building so a recursive record can refer to itself.
        full = self.named.register(schema, namespace)
        self.compiled[full] = lambda value: self.compiled[full + "#built"](value)
        inner = full.rsplit(".", 1)[0] if "." in full else ""
        built = build(inner)
        self.compiled[full + "#built"] = built
        self.compiled[full] = built
        return built

    # containers -----------------------------------------------------------
    def _array(self, schema: Dict[str, Any], namespace: str) -> Check:
        item = self.compile(schema["items"], namespace)

        def check(value: Any) -> Any:
            if type(value) is not list:
                raise _expected(schema, value)
            out = []
            for index, element in enumerate(value):
                try:
                    out.append(item(element))
                except Mismatch as mismatch:
                    mismatch.path.append(f"[{index}]")
                    raise
            return out
        return check

    def _map(self, schema: Dict[str, Any], namespace: str) -> Check:
        values = self.compile(schema["values"], namespace)

        def check(value: Any) -> Any:
            if type(value) is not dict:
                raise _expected(schema, value)
            out = {}
            for key, element in value.items():
                try:
                    out[key] = values(element)
                except Mismatch as mismatch:
                    mismatch.path.append(key)
                    raise
            return out
        return check

    def _union(self, schema: List[Schema], namespace: str) -> Check:
        members = []
        kinds = []
        for member in schema:
            member, kind, tag = union_member(member, self.named, namespace)
            members.append((tag, self.compile(member, namespace), _JSON_KIND[kind]))
            kinds.append(kind)
        # A JSON value that only one member can take, and always does (a float for the one double member):
        # answered without trying the members, the common case of nullable numbers and strings.
        direct: Dict[type, Optional[str]] = {}
        for python_type, total_kinds in _TOTAL.items():
            takers = [(tag, kind) for (tag, _, json_kinds), kind in zip(members, kinds, strict=True)
                      if python_type in json_kinds]
            if len(takers) == 1 and takers[0][1] in total_kinds:
                direct[python_type] = takers[0][0]

        def check(value: Any) -> Any:
            kind = type(value)
            if kind in direct and (kind is not float or value - value == 0.0):
                tag = direct[kind]
                return value if tag is None else {tag: value}
            plausible = []
            for tag, member_check, json_kinds in members:
                if type(value) not in json_kinds:
                    continue
                try:
                    converted = member_check(value)
                except Mismatch as mismatch:
                    plausible.append(mismatch)
                    continue
                return converted if tag is None else {tag: converted}
            if len(plausible) == 1:  # only one member could take this kind of value: its reason is the one
                raise plausible[0]
            raise _expected(schema, value)
        return check
