"""Reading Avro schemas as PFA documents write them (the JSON form).

Shared by input validation, output encoding and example requests: resolving
named types, naming the type a union member is tagged with, and describing a
type in one short phrase for error messages.
"""

from typing import Any, Dict, List, Optional, Tuple

Schema = Any  # an Avro schema in its JSON form: a name, a list (union) or a dict

PRIMITIVES = frozenset(["null", "boolean", "int", "long", "float", "double", "bytes", "string"])
NAMED = frozenset(["record", "enum", "fixed"])


class SchemaError(ValueError):
    """The schema is not one this service understands."""


class NamedTypes:
    """Registry of named types (records, enums, fixed) met while walking a schema."""

    def __init__(self) -> None:
        self._types: Dict[str, Dict[str, Any]] = {}

    def register(self, schema: Dict[str, Any], namespace: str) -> str:
        full = full_name(schema, namespace)
        self._types[full] = schema
        self._types.setdefault(schema["name"].rsplit(".", 1)[-1], schema)
        return full

    def resolve(self, name: str, namespace: str) -> Dict[str, Any]:
        for candidate in (f"{namespace}.{name}" if namespace and "." not in name else name, name):
            if candidate in self._types:
                return self._types[candidate]
        raise SchemaError(f"unknown type name {name!r}")


def full_name(schema: Dict[str, Any], namespace: str) -> str:
    name = schema["name"]
    if "." in name:
        return name
    space = schema.get("namespace", namespace) or ""
    return f"{space}.{name}" if space else name


def type_kind(schema: Schema) -> str:
    """'union', a primitive name, 'record'/'enum'/'fixed'/'array'/'map', or 'ref'."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, (list, dict)):
            return type_kind(kind)
        return kind if kind in PRIMITIVES or kind in NAMED or kind in ("array", "map") else "ref"
    return schema if schema in PRIMITIVES else "ref"


def resolved(schema: Schema, named: "NamedTypes", namespace: str) -> Tuple[Schema, str, bool]:
    """(the schema with a named reference resolved, its kind, whether it was a reference)."""
    schema = unwrap(schema)
    kind = type_kind(schema)
    if kind != "ref":
        return schema, kind, False
    target = named.resolve(schema if isinstance(schema, str) else schema["type"], namespace)
    return target, type_kind(target), True


def unwrap(schema: Schema) -> Schema:
    """``{"type": "double"}`` -> ``"double"``; ``{"type": [..]}`` -> ``[..]``."""
    while isinstance(schema, dict) and isinstance(schema.get("type"), (list, dict)):
        schema = schema["type"]
    if isinstance(schema, dict) and schema.get("type") in PRIMITIVES:
        return schema["type"]
    return schema


def union_member(member: Schema, named: NamedTypes, namespace: str) -> Tuple[Schema, str, Optional[str]]:
    """(member, its kind with names resolved, the tag titus gives its values; None for null)."""
    member = unwrap(member)
    kind = type_kind(member)
    target = member
    if kind == "ref":
        target = named.resolve(member if isinstance(member, str) else member["type"], namespace)
        kind = type_kind(target)
    if kind == "null":
        return member, kind, None
    return member, kind, full_name(target, namespace) if kind in NAMED else kind


def describe(schema: Schema, depth: int = 0) -> str:
    """A short phrase naming a type: ``double``, ``map of double``, ``one of null | double``."""
    schema = unwrap(schema)
    kind = type_kind(schema)
    if kind in PRIMITIVES:
        return kind
    if kind == "ref":
        return str(schema if isinstance(schema, str) else schema.get("type"))
    if depth > 1:
        return kind
    if kind == "union":
        return "one of " + " | ".join(describe(member, depth + 1) for member in schema)
    if kind == "array":
        return "array of " + describe(schema["items"], depth + 1)
    if kind == "map":
        return "map of " + describe(schema["values"], depth + 1)
    if kind == "enum":
        symbols = schema["symbols"]
        return f"enum {schema['name']} ({', '.join(symbols[:8])}{', ...' if len(symbols) > 8 else ''})"
    if kind == "fixed":
        return f"fixed {schema['name']} ({schema['size']} bytes)"
    return f"record {schema['name']}"


def field_names(schema: Dict[str, Any]) -> List[str]:
    return [field["name"] for field in schema["fields"]]
