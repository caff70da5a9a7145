"""Columns flowing through preprocessing steps, each one PFA expression.

A :class:`ColumnFlow` starts with one column per input field. Steps turn lists of
columns into lists of columns (scikit-learn's ``transform`` order) and read them
through :meth:`ColumnFlow.read`, which fixes each input field's Avro type from
what the first step reading it needs: ``double``, ``string``, or either of them
or ``null`` for a step that handles missing values (JSON ``null`` is the missing
value). Statements that must run before the feature vector is built (``let``
bindings of values read several times, checks that raise PFA errors) are
collected in order in :attr:`ColumnFlow.statements`.
"""

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .builder import DOUBLE_ARRAY, AvroType, ExportError, Expr

NUMBER = "double"
TEXT = "string"
UNUSED_FIELD_TYPE: AvroType = ["null", NUMBER, TEXT]  # read by no step: any scalar, or left out


@dataclass(frozen=True)
class Column:
    """``expr`` computes the column from the record ``input``; ``source`` is the input field it
    comes from (for messages). ``kind`` is NUMBER or TEXT, or None for an input field no step
    has read yet."""

    source: str
    expr: Expr
    kind: Optional[str] = None


class ColumnFlow:
    """The input fields, their types as the steps read them, and the statements the steps need."""

    def __init__(self, fields: List[str]) -> None:
        self.fields = fields
        self.columns = [Column(field, "input." + field) for field in fields]
        self.statements: List[Expr] = []
        self._types: Dict[str, AvroType] = {}
        self._examples: Dict[str, Any] = {}
        self._symbols = 0

    def read(self, column: Column, kind: str, step: str, nullable: bool = False,
             example: Any = None) -> Tuple[Expr, bool]:
        """The column as a ``kind`` value for ``step``, and whether it may be null.

        Only an input field can be null, and only if the first step reading it asks
        (``nullable``); ``example`` is a valid value for the field's example request.
        """
        if column.kind is not None:
            if column.kind != kind:
                raise ExportError(f"{step} needs {kind} values, but the column computed from "
                                  f"{column.source!r} holds {column.kind} values")
            return column.expr, False
        wanted: AvroType = ["null", kind] if nullable else kind
        known = self._types.setdefault(column.source, wanted)
        if known != wanted:
            raise ExportError(f"input field {column.source!r} is read both as {json.dumps(known)} and as "
                              f"{json.dumps(wanted)} ({step}); scikit-learn steps reading one column must agree")
        if example is not None:
            self._examples.setdefault(column.source, example)
        return column.expr, nullable

    def bind(self, expr: Expr) -> str:
        """A variable holding ``expr``, evaluated once before the feature vector."""
        if isinstance(expr, str):
            return expr
        name = self.symbol()
        self.statements.append({"let": {name: expr}})
        return name

    def symbol(self) -> str:
        """A variable name used nowhere else in the document."""
        self._symbols += 1
        return f"col_{self._symbols}"

    def features(self, columns: List[Column], estimator: str) -> Expr:
        """The feature vector of ``estimator``: every column, as a double."""
        return {"new": [self.read(column, NUMBER, estimator)[0] for column in columns], "type": DOUBLE_ARRAY}

    def field_types(self) -> List[Dict[str, Any]]:
        """The input record's fields; one no step reads accepts any scalar and may be left out."""
        return [{"name": field, "type": self._types[field]} if field in self._types
                else {"name": field, "type": UNUSED_FIELD_TYPE, "default": None}
                for field in self.fields]

    def field_type(self, field: str) -> AvroType:
        return self._types.get(field, UNUSED_FIELD_TYPE)

    def example(self, field: str) -> Any:
        """A value the model accepts for ``field``: a step's hint, else 0.0, "" or null (unread)."""
        if field not in self._types:
            return None
        avro_type = self._types[field]
        return self._examples.get(field, "" if avro_type in (TEXT, ["null", TEXT]) else 0.0)
