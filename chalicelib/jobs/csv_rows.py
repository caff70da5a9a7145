"""CSV rows to JSON records of a model's input type, cell by cell.

- record input: one column per field, converted by the field's type; a field with a default may lack
  its column; a required field without a column is an error for the whole file;
- map input: one column per key (``metadata.input_keys`` when the document lists them), converted by the
  map's value type; a map of ``["null", "string", "double"]`` (R's exports) gets numbers where the cell
  parses as one, null for an empty cell, else the text;
- any other input: exactly one column, converted by the input type.

A column may also be named as the exporter's ``metadata.renamed_features`` says the feature was called
before it became a valid Avro field name (``Sepal.Length`` for field ``Sepal_Length``).

Cells: ``double``/``float`` -> number, ``int``/``long`` -> integer, ``boolean`` -> ``true``/``false``
(any case), ``string``/``enum``/``bytes``/``fixed`` -> the text as is, a union with ``null`` -> null for an
empty cell, arrays/maps/records -> the cell parsed as JSON. A cell that cannot be converted makes its row
an ``invalid_input`` error naming the column; the service's validator checks everything else.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from ..avro_schema import NamedTypes, Schema, describe, full_name, type_kind, unwrap
from ..errors import InvalidInput

Convert = Callable[[str], Any]

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TEXT_KINDS = frozenset(["string", "enum", "bytes", "fixed"])
_JSON_KINDS = frozenset(["array", "map", "record"])


RENAMED_FEATURES = "renamed_features"


class CellError(ValueError):
    """A cell that cannot be converted; the message says what was expected."""


class HeaderError(ValueError):
    """The header cannot serve the model's input (a required column is missing, a column is repeated, ...)."""


@dataclass(frozen=True)
class RowConverter:
    """Turns one CSV row (its cells, in header order) into the model's input value."""

    kind: str  # "record", "map" or "single"
    columns: List[Tuple[int, str, Convert]]  # (cell index, column name / field / key, converter)
    width: int  # cells a row must have

    def convert(self, cells: Sequence[str]) -> Any:
        """The input value, or raises InvalidInput for this row."""
        if len(cells) != self.width:
            raise InvalidInput(f"row has {len(cells)} cells, the header has {self.width} columns")
        values: Dict[str, Any] = {}
        for index, name, convert in self.columns:
            try:
                values[name] = convert(cells[index])
            except CellError as error:
                raise InvalidInput(str(error), field=None if self.kind == "single" else name) from None
        if self.kind == "single":
            return next(iter(values.values()))
        return values


def row_converter(header: Sequence[str], input_schema: Schema, input_keys: Optional[List[str]],
                  warn: Callable[[str], None], renames: Optional[Mapping[str, str]] = None) -> RowConverter:
    """Plan the conversion of rows under ``header``; HeaderError if the header cannot serve the input type.

    ``renames`` maps a column name to the field (or key) it feeds, for a column named otherwise than its
    field (an exported feature ``sepal.length`` is field ``sepal_length``).
    """
    columns = [name.strip() for name in header]
    named = NamedTypes()
    _register(input_schema, named, "")
    schema = unwrap(input_schema)
    kind = type_kind(schema)
    if kind not in ("record", "map"):
        if len(columns) != 1:
            raise HeaderError(f"the model's input is {describe(schema)}, so the CSV must have exactly one column "
                              f"(it has {len(columns)}); or use JSON lines")
        return RowConverter("single", [(0, columns[0], _converter(schema, named, ""))], 1)
    if kind == "record":
        namespace = _inner_namespace(schema, "")
        converters = {field["name"]: _converter(field["type"], named, namespace) for field in schema["fields"]}
        required = [field["name"] for field in schema["fields"] if "default" not in field]
    else:
        value_converter = _converter(schema["values"], named, "")
        converters = {key: value_converter for key in (input_keys if input_keys is not None else columns)}
        required = list(converters)
    renames = renames or {}
    keys = [renames.get(column, column) if column not in converters else column for column in columns]
    # Only a column that feeds the model may not be repeated; unused ones (a label twice, blank names from
    # trailing commas) are left out like any other.
    duplicates = sorted({key for key, count in Counter(keys).items() if count > 1 and key in converters})
    if duplicates:
        raise HeaderError(f"the CSV header has more than one column for {', '.join(duplicates)}")
    present = set(keys)
    missing = [name for name in required if name not in present]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise HeaderError(f"the CSV has no column for the model's required input field(s) {shown}")
    extra = [column for column, key in zip(columns, keys, strict=True) if key not in converters]
    unused = list(dict.fromkeys(column for column in extra if column))
    if unused:
        warn(f"ignoring CSV column(s) not in the model's input: {', '.join(unused)}")
    if any(not column for column in extra):
        warn(f"ignoring {len(extra) - sum(1 for column in extra if column)} CSV column(s) with no name")
    plan = [(index, key, converters[key]) for index, key in enumerate(keys) if key in converters]
    return RowConverter(kind, plan, len(columns))


def renamed_features(metadata: Mapping[str, str]) -> Dict[str, str]:
    """pfactl's exporter records original feature name -> field name in ``metadata.renamed_features``."""
    try:
        renames = json.loads(metadata.get(RENAMED_FEATURES) or "{}")
    except ValueError:
        return {}
    if not isinstance(renames, dict):
        return {}
    return {str(column): field for column, field in renames.items() if isinstance(field, str)}


def _register(schema: Schema, named: NamedTypes, namespace: str) -> None:
    """Register every named type the schema defines, so that later references resolve."""
    schema = unwrap(schema)
    kind = type_kind(schema)
    if kind == "union":
        for member in schema:
            _register(member, named, namespace)
    elif kind in ("record", "enum", "fixed"):
        named.register(schema, namespace)
        if kind == "record":
            for field in schema["fields"]:
                _register(field["type"], named, _inner_namespace(schema, namespace))
    elif kind == "array":
        _register(schema["items"], named, namespace)
    elif kind == "map":
        _register(schema["values"], named, namespace)


def _inner_namespace(schema: Dict[str, Any], namespace: str) -> str:
    full = full_name(schema, namespace)
    return full.rsplit(".", 1)[0] if "." in full else ""


def _kind(schema: Schema, named: NamedTypes, namespace: str) -> str:
    schema = unwrap(schema)
    kind = type_kind(schema)
    if kind == "ref":
        return type_kind(named.resolve(schema if isinstance(schema, str) else schema["type"], namespace))
    return kind


def _converter(schema: Schema, named: NamedTypes, namespace: str) -> Convert:
    kind = _kind(schema, named, namespace)
    if kind == "union":
        return _union(unwrap(schema), {_kind(member, named, namespace) for member in unwrap(schema)})
    expected = describe(schema)
    simple: Dict[str, Convert] = {"double": _to_float, "float": _to_float, "int": _to_int, "long": _to_int,
                                  "boolean": _to_bool, "null": _to_null}
    if kind in simple:
        convert = simple[kind]

        def checked(cell: str) -> Any:
            try:
                return convert(cell.strip())
            except CellError as error:
                raise CellError(f"{error}; expected {expected}") from None
        return checked
    if kind in _TEXT_KINDS:
        return str
    return lambda cell: _to_json(cell.strip(), expected)


def _union(schema: List[Any], kinds: Set[str]) -> Convert:
    expected = describe(schema)
    numeric_int = bool(kinds & {"int", "long"})
    numeric_float = bool(kinds & {"double", "float"})

    def convert(cell: str) -> Any:
        text = cell.strip()
        if not text and "null" in kinds:
            return None
        problem = None
        try:
            if numeric_int and _INTEGER.fullmatch(text):
                return int(text)
            if (numeric_float or numeric_int) and _NUMBER.fullmatch(text):
                return _to_float(text) if numeric_float else _to_int(text)
            if "boolean" in kinds and text.lower() in ("true", "false"):
                return text.lower() == "true"
            if kinds & _JSON_KINDS and text[:1] in ("[", "{"):
                return _to_json(text, expected)
        except CellError as error:
            problem = error
        if kinds & _TEXT_KINDS:
            return cell
        raise problem or CellError(f"cannot convert {_shown(cell)}; expected {expected}")
    return convert


def _to_float(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise CellError(f"cannot convert {_shown(text)} to a number")
    value = float(text)
    if math.isinf(value):
        raise CellError(f"{_shown(text)} is out of the range of a double")
    return value


def _to_int(text: str) -> int:
    if _INTEGER.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        value = float(text)
        if value.is_integer() and abs(value) < 2 ** 53:
            return int(value)
    raise CellError(f"cannot convert {_shown(text)} to an integer")


def _to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise CellError(f"cannot convert {_shown(text)} to a boolean (true or false)")
    return lowered == "true"


def _to_null(text: str) -> None:
    if text:
        raise CellError(f"cannot convert {_shown(text)} to null (an empty cell)")
    return None


def _to_json(text: str, expected: str) -> Any:
    if not text:
        raise CellError(f"empty cell; expected {expected} (as JSON)")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except ValueError:
        raise CellError(f"cannot read {_shown(text)} as JSON; expected {expected}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(text)
    return value


def _shown(text: str, limit: int = 40) -> str:
    if not text:
        return "an empty cell"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
