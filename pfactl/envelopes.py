"""The rows of a CSV or JSON-lines file as the messages `pfactl send` sends: envelopes of the queue and stream
handlers, ``{"id": ..., "model": ..., "record": ...}`` (or ``"records": [...]``; notes/streams_spec.md).

Rows are numbered as `pfactl score` numbers its output lines: row 1 is the first record after a CSV's header
(or the first non-blank JSON line); blank lines are not rows; a row that cannot be read or converted keeps
its number. An envelope's ``id`` is the number of its first row, so a result's row is ``id + index``; an
envelope holds consecutive rows only (a bad row ends one), which keeps that true. With an id column, the
id is that column's (field's) value instead, and the column is not sent.

CSV cells become JSON values as `pfactl score` converts them (:mod:`pfactl.csv_rows`, which also leaves out
columns that are not inputs of a record model, or of a map model that lists its keys, with a warning).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from typing import IO, Any, Callable, Iterable, Iterator, List, Optional, Sequence, Union

from chalicelib.errors import ServiceError
from chalicelib.request_body import read_json

from .csv_rows import RowConverter
from .errors import PfactlError
from .input_files import DATA, empty
from .scoring import MAX_RECORD_BYTES, InputLines

RecordId = Union[int, str]
# Given the CSV header (without the id column and dropped columns), plan its conversion; warnings to the callable.
ConverterFactory = Callable[[List[str], Callable[[str], None]], RowConverter]
MAX_ID_CHARS = 256
# Characters SQS refuses in a message body (and lone surrogates, which are not UTF-8): sent \u-escaped.
_REFUSED_BY_SQS = re.compile("[\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Row:
    """One row: its number, and its record as JSON text with its id, or why it cannot be sent."""

    number: int
    text: str = ""
    id: Optional[RecordId] = None
    problem: Optional[str] = None


@dataclass(frozen=True)
class Envelope:
    """One message: its id, the rows it holds (``first_row`` .. ``first_row + rows - 1``) and its body."""

    id: RecordId
    first_row: int
    rows: int
    body: bytes

    def which_rows(self) -> str:
        return f"row {self.first_row}" if self.rows == 1 else f"rows {self.first_row}-{self.first_row + self.rows - 1}"


def json_text(value: Any) -> str:
    """Compact JSON; ValueError for a number JSON cannot hold (an overflowing 1e999)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if _REFUSED_BY_SQS.search(text):
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    return text


class RowReader:
    """The rows of ``source`` (``fmt`` csv or jsonl; ``name`` in messages), read once by :meth:`rows`.

    ``converter_for`` plans a CSV's conversion (required for CSV); ``id_column`` is the column or field whose
    value is each row's id; ``drop`` names columns (fields) not to send. ``bytes_read`` and ``rows_read``
    say how far it has got.
    """

    def __init__(self, source: IO[bytes], fmt: str, *, name: str, warn: Callable[[str], None],
                 converter_for: Optional[ConverterFactory] = None, id_column: Optional[str] = None,
                 drop: Sequence[str] = ()) -> None:
        if fmt == "csv" and converter_for is None:
            raise ValueError("reading CSV needs converter_for")
        self._lines = InputLines(source)
        self._fmt = fmt
        self._name = name
        self._warn = warn
        self._converter_for = converter_for
        self._id_column = id_column
        self._drop = list(drop)
        self.rows_read = 0

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read

    def rows(self) -> Iterator[Row]:
        for row in self._csv_rows() if self._fmt == "csv" else self._jsonl_rows():
            self.rows_read = row.number
            yield row

    def _jsonl_rows(self) -> Iterator[Row]:
        number = 0
        for line in self._lines.raw():
            if not line.strip():
                continue
            number += 1
            try:
                record = read_json(line, MAX_RECORD_BYTES, "one JSON record", subject="line")
            except ServiceError as error:
                yield Row(number, problem=error.message)
                continue
            yield self._jsonl_row(number, record)
        if not number:
            raise empty(self._name, DATA["jsonl"])

    def _jsonl_row(self, number: int, record: Any) -> Row:
        row_id: RecordId = number
        if self._id_column is not None:
            if not isinstance(record, dict):
                return Row(number, problem=f"not a JSON object, so no id field {self._id_column!r}")
            if self._id_column not in record:
                return Row(number, problem=f"no id field {self._id_column!r}")
            record = dict(record)
            given = record.pop(self._id_column)
            problem = _id_problem(given)
            if problem:
                return Row(number, problem=f"id field {self._id_column!r}: {problem}")
            row_id = given
        if self._drop and isinstance(record, dict):
            record = {key: value for key, value in record.items() if key not in self._drop}
        return _encoded(number, record, row_id)

    def _csv_rows(self) -> Iterator[Row]:
        lines = self._lines
        reader = csv.reader(lines.text())
        try:
            header = next((row for row in reader if row), None)
        except csv.Error as error:
            raise PfactlError(f"cannot read the CSV header of {self._name}: {error}") from None
        if header is None:
            raise empty(self._name, DATA["csv"])
        if lines.take_bad_utf8():
            raise PfactlError(f"the CSV header of {self._name} is not UTF-8 text; expected {DATA['csv']}")
        columns = [name.strip() for name in header]
        left_out = {self._column(columns, name, "--drop") for name in self._drop}
        id_index = None if self._id_column is None else self._column(columns, self._id_column, "--id-column")
        if id_index is not None:
            left_out.add(id_index)
        kept = [index for index in range(len(columns)) if index not in left_out]
        assert self._converter_for is not None
        converter = self._converter_for([header[index] for index in kept], self._warn)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                lines.take_bad_utf8()
                number += 1
                yield Row(number, problem=f"not valid CSV: {error}")
                continue
            if lines.take_bad_utf8():
                number += 1
                yield Row(number, problem="not UTF-8 text")
            elif cells:
                number += 1
                yield self._csv_row(number, cells, len(columns), kept, id_index, converter)

    def _csv_row(self, number: int, cells: List[str], width: int, kept: List[int], id_index: Optional[int],
                 converter: RowConverter) -> Row:
        if len(cells) != width:
            return Row(number, problem=f"{len(cells)} cells, the header has {width} columns")
        row_id: RecordId = number
        if id_index is not None:
            row_id = cells[id_index].strip()
            problem = _id_problem(row_id)
            if problem:
                return Row(number, problem=f"id column {self._id_column!r}: {problem}")
        try:
            record = converter.convert([cells[index] for index in kept])
        except ServiceError as error:
            where = f"column {error.field!r}: " if error.field else ""
            return Row(number, problem=f"{where}{error.message}")
        return _encoded(number, record, row_id)

    def _column(self, columns: List[str], name: str, option: str) -> int:
        if name not in columns:
            shown = ", ".join(columns[:10]) + (f" and {len(columns) - 10} more" if len(columns) > 10 else "")
            raise PfactlError(f"{option} {name}: the CSV header of {self._name} has no such column (it has {shown})")
        return columns.index(name)


def _encoded(number: int, record: Any, row_id: RecordId) -> Row:
    try:
        return Row(number, json_text(record), row_id)
    except ValueError:
        return Row(number, problem="a number out of the range of a double")


def _id_problem(value: Any) -> Optional[str]:
    """Why ``value`` cannot be an envelope id (a string of 1-256 characters, or an integer), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return f"expected a string or an integer, got {json.dumps(value)[:40]}"
    if isinstance(value, str) and not 0 < len(value) <= MAX_ID_CHARS:
        return f"expected 1-{MAX_ID_CHARS} characters, got {len(value)}"
    return None


def envelopes(rows: Iterable[Row], per_message: int, model: Optional[str],
              on_bad_row: Callable[[Row], None]) -> Iterator[Envelope]:
    """Group consecutive good rows ``per_message`` at a time (``record`` when 1, else ``records`` lists);
    bad rows go to ``on_bad_row`` and are not sent."""
    head = f',"model":{json_text(model)}' if model is not None else ""
    group: List[Row] = []
    for row in rows:
        if row.problem is not None:
            if group:
                yield _envelope(group, per_message, head)
                group = []
            on_bad_row(row)
            continue
        group.append(row)
        if len(group) == per_message:
            yield _envelope(group, per_message, head)
            group = []
    if group:
        yield _envelope(group, per_message, head)


def _envelope(group: List[Row], per_message: int, head: str) -> Envelope:
    first = group[0]
    assert first.id is not None
    if per_message == 1:
        body = f'{{"id":{json_text(first.id)}{head},"record":{first.text}}}'
    else:
        body = f'{{"id":{json_text(first.id)}{head},"records":[{",".join(row.text for row in group)}]}}'
    return Envelope(first.id, first.number, len(group), body.encode("utf-8"))
