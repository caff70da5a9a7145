"""An example request body for a model's input type.

A document may carry its own example as JSON text in ``metadata.example_request``;
otherwise one is made from the input type (zeros, first enum symbols, the first
non-null member of a union).
"""

import json
from typing import Any, Dict, Optional

from .avro_schema import NamedTypes, Schema, resolved, type_kind, unwrap

EXAMPLE_REQUEST = "example_request"

_PRIMITIVE_EXAMPLES = {"null": None, "boolean": True, "int": 0, "long": 0, "float": 0.0, "double": 0.0,
                       "string": "text", "bytes": ""}


def example_request(schema: Schema, metadata: Dict[str, str], keys: Optional[list] = None) -> Any:
    text = metadata.get(EXAMPLE_REQUEST)
    if text:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return _Example(keys).make(schema, "", 0)


class _Example:
    def __init__(self, keys: Optional[list]) -> None:
        self.named = NamedTypes()
        self.keys = keys

    def make(self, schema: Schema, namespace: str, depth: int) -> Any:
        schema, kind, was_reference = resolved(schema, self.named, namespace)
        if was_reference and depth > 3:
            return None
        if kind in _PRIMITIVE_EXAMPLES:
            return _PRIMITIVE_EXAMPLES[kind]
        if kind == "union":
            members = [member for member in schema if type_kind(unwrap(member)) != "null"] or schema
            return self.make(members[0], namespace, depth + 1)
        if kind == "array":
            return [self.make(schema["items"], namespace, depth + 1)]
        if kind == "map":
            value = self.make(schema["values"], namespace, depth + 1)
            if depth == 0 and self.keys:
                return {key: value for key in self.keys}
            return {"key": value}
        self.named.register(schema, namespace)
        if kind == "enum":
            return schema["symbols"][0]
        if kind == "fixed":
            return "\u0000" * schema["size"]
        return {field["name"]: (field["default"] if "default" in field
                                else self.make(field["type"], namespace, depth + 1))
                for field in schema["fields"]}
