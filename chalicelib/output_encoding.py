"""Plain JSON for a model's output.

:func:`compile_encoder` turns the PFA output type into a function from titus's
value to plain JSON:

- unions are untagged (``{"double": 1.5}`` becomes ``1.5``);
- bytes and fixed become strings of code points 0-255 (Avro's JSON encoding);
- non-finite doubles and floats become the strings ``"NaN"``, ``"Infinity"`` and
  ``"-Infinity"`` (standard JSON has no such numbers);
- NumPy scalars become plain numbers.

Types that need none of this get the identity, so a string or integer output
costs nothing.
"""

import math
from typing import Any, Callable, Dict, List, Tuple

from .avro_schema import NamedTypes, Schema, full_name, type_kind, union_member, unwrap

Encode = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def encode_double(value: Any) -> Any:
    value = float(value)
    if math.isfinite(value):
        return value
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _encode_int(value: Any) -> Any:
    return value if type(value) is int else int(value)


def _encode_bytes(value: Any) -> Any:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def compile_encoder(schema: Schema) -> Encode:
    compiler = _Compiler()
    encoder = compiler.compile(schema, "")
    return encoder if compiler.needs_work else _identity


class _Compiler:
    def __init__(self) -> None:
        self.named = NamedTypes()
        self.compiled: Dict[str, Encode] = {}
        self.needs_work = False

    def compile(self, schema: Schema, namespace: str) -> Encode:
        schema = unwrap(schema)
        kind = type_kind(schema)
        if kind == "ref":
            target = self.named.resolve(schema if isinstance(schema, str) else schema["type"], namespace)
            full = full_name(target, namespace)
            return lambda value: self.compiled[full](value)
        if kind in ("double", "float"):
            self.needs_work = True
            return encode_double
        if kind in ("int", "long"):
            self.needs_work = True
            return _encode_int
        if kind in ("bytes", "fixed"):
            self.needs_work = True
            if kind == "fixed":
                self.named.register(schema, namespace)
                self.compiled[full_name(schema, namespace)] = _encode_bytes
            return _encode_bytes
        if kind == "enum":
            self.named.register(schema, namespace)
            self.compiled[full_name(schema, namespace)] = _identity
            return _identity
        if kind in ("null", "boolean", "string"):
            return _identity
        if kind == "array":
            item = self.compile(schema["items"], namespace)
            return lambda value: [item(element) for element in value]
        if kind == "map":
            values = self.compile(schema["values"], namespace)
            return lambda value: {key: values(element) for key, element in value.items()}
        if kind == "record":
            return self._record(schema, namespace)
        return self._union(schema, namespace)

    def _record(self, schema: Dict[str, Any], namespace: str) -> Encode:
        full = self.named.register(schema, namespace)
        self.compiled[full] = lambda value: self.compiled[full + "#built"](value)
        inner = full.rsplit(".", 1)[0] if "." in full else ""
        fields = [(field["name"], self.compile(field["type"], inner)) for field in schema["fields"]]

        def encode(value: Any) -> Any:
            return {name: encode_field(value[name]) for name, encode_field in fields}
        self.compiled[full + "#built"] = encode
        self.compiled[full] = encode
        return encode

    def _union(self, schema: List[Schema], namespace: str) -> Encode:
        self.needs_work = True
        by_tag: Dict[str, Tuple[Encode, Tuple[type, ...]]] = {}
        by_python_type: Dict[type, Encode] = {}
        for member in schema:
            member, kind, tag = union_member(member, self.named, namespace)
            encoder = self.compile(member, namespace)
            if tag is None:
                continue
            plausible = _PYTHON_TYPES[kind] + ((int,) if kind in ("float", "double") else ())
            by_tag[tag] = by_tag[tag.rsplit(".", 1)[-1]] = (encoder, plausible)
            for python_type in _PYTHON_TYPES.get(kind, ()):
                by_python_type.setdefault(python_type, encoder)

        def encode(value: Any) -> Any:
            if value is None:
                return None
            # titus passes union values through in the tagged form {"double": 1.5} that
            # validation gives it; a one-key map or record can look the same, so a tag
            # only counts when the value under it could belong to that member.
            if type(value) is dict and len(value) == 1:
                (tag, inner), = value.items()
                if tag in by_tag and isinstance(inner, by_tag[tag][1]):
                    return by_tag[tag][0](inner)
            for python_type, encoder in by_python_type.items():
                if isinstance(value, python_type) and not (python_type is int and type(value) is bool):
                    return encoder(value)
            return value
        return encode


_PYTHON_TYPES = {
    "boolean": (bool,), "int": (int,), "long": (int,), "float": (float,), "double": (float,),
    "string": (str,), "enum": (str,), "bytes": (bytes,), "fixed": (bytes,),
    "array": (list,), "map": (dict,), "record": (dict,),
}
