"""Seeded requests generated from a model's input type, for checking a model against many inputs.

:func:`sample_requests` gives JSON values a caller could send that the service's validation accepts:
nulls where a union allows them, empty and long arrays and maps, extreme and non-round numbers, unicode
strings, every enum symbol. The same seed gives the same requests, so a difference found once can be
found again.
"""

import random
from typing import Any, Dict, List, Optional

from .avro_schema import NamedTypes, Schema, resolved, type_kind, unwrap

_INT_EDGES = [0, 1, -1, 2, 7, -13, 255, 2 ** 31 - 1, -(2 ** 31)]
_LONG_EDGES = _INT_EDGES + [2 ** 53, 2 ** 63 - 1, -(2 ** 63)]
_DOUBLE_EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 1.7976931348623157e308,
                 3.141592653589793, 1e-9, 123456.789]
_FLOAT_EDGES = [0.0, 1.0, -1.0, 0.5, 1e-30, 1e30, 3.4e38, -3.4e38]
_STRINGS = ["", "a", "text", "ünïcødé", "日本語", "emoji \U0001F600", "quote \" and \\ backslash", "new\nline",
            " spaced ", "0.02", "null"]
_MAX_DEPTH = 4


def sample_requests(schema: Schema, count: int, seed: int = 0, keys: Optional[List[str]] = None,
                    key_types: Optional[Dict[str, Schema]] = None) -> List[Any]:
    """``count`` requests of type ``schema``; ``keys`` (and ``key_types``) give a map input its fields, as
    ``metadata.input_keys`` and ``metadata.input_types`` do."""
    maker = _Maker(random.Random(seed), keys, key_types or {})
    return [maker.make(schema, "", 0) for _ in range(count)]


class _Maker:
    def __init__(self, rng: random.Random, keys: Optional[List[str]], key_types: Dict[str, Schema]) -> None:
        self.rng = rng
        self.named = NamedTypes()
        self.keys = keys
        self.key_types = key_types

    def make(self, schema: Schema, namespace: str, depth: int) -> Any:
        schema, kind, _ = resolved(schema, self.named, namespace)
        rng = self.rng
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("int", "long"):
            integers = _INT_EDGES if kind == "int" else _LONG_EDGES
            return rng.choice(integers) if rng.random() < 0.3 else rng.randint(-1000, 1000)
        if kind in ("float", "double"):
            numbers = _FLOAT_EDGES if kind == "float" else _DOUBLE_EDGES
            return rng.choice(numbers) if rng.random() < 0.3 else rng.uniform(-10, 10)
        if kind == "string":
            return rng.choice(_STRINGS) if rng.random() < 0.5 else self._text(rng.randint(0, 12))
        if kind == "bytes":
            return "".join(chr(rng.randint(0, 255)) for _ in range(rng.randint(0, 8)))
        if kind == "union":
            members = schema if depth < _MAX_DEPTH else [m for m in schema if type_kind(unwrap(m)) == "null"] or schema
            return self.make(rng.choice(members), namespace, depth + 1)
        if kind == "array":
            return [self.make(schema["items"], namespace, depth + 1) for _ in range(self._length(depth))]
        if kind == "map":
            if depth == 0 and self.keys is not None:
                return {key: self.make(self.key_types.get(key, schema["values"]), namespace, depth + 1)
                        for key in self.keys}
            return {self._text(rng.randint(0, 6)): self.make(schema["values"], namespace, depth + 1)
                    for _ in range(self._length(depth))}
        self.named.register(schema, namespace)
        inner = schema["name"].rsplit(".", 1)[0] if "." in schema["name"] else schema.get("namespace", namespace)
        if kind == "enum":
            return rng.choice(schema["symbols"])
        if kind == "fixed":
            return "".join(chr(rng.randint(0, 255)) for _ in range(schema["size"]))
        return {field["name"]: self.make(field["type"], inner or "", depth + 1) for field in schema["fields"]}

    def _length(self, depth: int) -> int:
        if depth >= _MAX_DEPTH:
            return 0
        return self.rng.choice([0, 1, 2, 3, 5, 10])

    def _text(self, length: int) -> str:
        alphabet = "abcxyzABC019 _-é日\U0001F600"
        return "".join(self.rng.choice(alphabet) for _ in range(length))
