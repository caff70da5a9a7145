"""A row's bytes to the model's input value, or the row's error.

- JSON lines: each row is one JSON record, read as strictly as a ``/predict`` body;
- CSV: the first row is the header, naming the columns; each later row's cells become the input value by the
  model's input type (:mod:`.csv_rows`, the conversion ``pfactl score`` uses).

What makes a file not what it claims (:class:`FileRefused`, which fails the job): a compressed or binary file,
a CSV header that is not UTF-8 or cannot serve the model's input, JSON lines none of whose first rows is JSON.
"""

import csv
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from ..errors import InvalidInput, MalformedJson, PayloadTooLarge, ServiceError
from ..model_loader import LoadedModel
from ..request_body import read_json
from .csv_rows import HeaderError, RowConverter, renamed_features, row_converter

CSV = "csv"
JSONL = "jsonl"
FORMATS = (CSV, JSONL)
BOM = b"\xef\xbb\xbf"
# How many of the first rows must all fail to read as JSON before a JSON-lines file is refused.
SAMPLE_ROWS = 20
_MAGIC = ((b"\x1f\x8b", "gzip-compressed"), (b"PK\x03\x04", "a ZIP archive"), (b"BZh", "bzip2-compressed"),
          (b"\xfd7zXZ", "xz-compressed"), (b"PAR1", "a Parquet file"), (b"%PDF", "a PDF document"))


class FileRefused(ValueError):
    """The file is not what the job says it is; the message says why, in the uploader's terms."""


def refuse_binary(head: bytes, fmt: str) -> None:
    """FileRefused when the file's first bytes say it is compressed or binary, not text."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise FileRefused(f"the file is {what}, not {describe(fmt)}: upload it uncompressed")
    if b"\x00" in head[:4096]:
        raise FileRefused(f"the file is binary (it holds NUL bytes), not {describe(fmt)}")


def describe(fmt: str) -> str:
    return "CSV text with a header row" if fmt == CSV else "JSON lines (one JSON record per line)"


@dataclass
class RowReader:
    """Reads the data rows of one file for one model; ``notes`` says what was noticed about the file."""

    fmt: str
    max_row_bytes: int
    converter: Optional[RowConverter] = None
    notes: List[str] = field(default_factory=list)

    @classmethod
    def for_file(cls, fmt: str, model: LoadedModel, header: Optional[bytes], max_row_bytes: int) -> "RowReader":
        """The reader for a file whose first row is ``header`` (CSV only); FileRefused if it cannot serve."""
        reader = cls(fmt, max_row_bytes)
        if fmt == CSV:
            if header is None:
                raise FileRefused("the file has no header row: a CSV file's first row names its columns")
            reader.converter = reader._plan(header, model)
        return reader

    def value(self, data: Optional[bytes], size: int) -> Any:
        """The input value of one data row (``data`` None: the row was over the limit); raises ServiceError."""
        if data is None:
            raise PayloadTooLarge(f"row is {size} bytes, over the limit of {self.max_row_bytes} bytes "
                                  f"(MAX_BODY_BYTES)" + (" - a quote that is never closed makes the rest of a CSV "
                                                         "file one row" if self.fmt == CSV else ""))
        if self.fmt == JSONL:
            if data.startswith(BOM):  # a byte-order mark (at the start of the file, from some editors)
                data = data[len(BOM):]
            return read_json(data, self.max_row_bytes, "one JSON record", subject="row")
        assert self.converter is not None
        if not data.strip():
            raise InvalidInput("row is empty; expected one value per column")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidInput(f"row is not UTF-8 text ({error.reason} at byte {error.start} of the row)") from None
        try:
            cells = next(csv.reader([text]))
        except csv.Error as error:
            raise InvalidInput(f"row is not valid CSV: {_csv_problem(error)}") from None
        return self.converter.convert(cells)

    def _plan(self, header: bytes, model: LoadedModel) -> RowConverter:
        if header.startswith(BOM):
            header = header[len(BOM):]
        try:
            text = header.decode("utf-8")
        except UnicodeDecodeError:
            raise FileRefused("the CSV header (the first row) is not UTF-8 text") from None
        try:
            columns = next(csv.reader([text]))
        except (csv.Error, StopIteration) as error:
            raise FileRefused(f"the CSV header (the first row) is not valid CSV: "
                              f"{_csv_problem(error) if isinstance(error, csv.Error) else error}") from None
        if not [column for column in columns if column.strip()]:
            raise FileRefused("the CSV header (the first row) is empty: it must name the columns")
        served = model.served
        try:
            return row_converter(columns, served.model.input_schema, served.input_keys, self.notes.append,
                                 renamed_features(served.model.metadata))
        except HeaderError as error:
            raise FileRefused(f"the CSV header does not fit model {model.name!r}: {error}") from None


# /predict's hint for a number sent as a JSON string; a CSV cell has no quotes to take off.
_QUOTED_NUMBER_HINT = " (a number in quotes: send it without the quotes)"
_CSV_NUMBER_HINT = " (not a number that the field's type can hold, such as NaN, Infinity or one out of range)"
_CR_ONLY = "new-line character seen in unquoted field"


def in_csv_terms(error: ServiceError) -> ServiceError:
    """A model's answer for a CSV row, reworded where it speaks of JSON."""
    if _QUOTED_NUMBER_HINT in error.message:
        error.message = error.message.replace(_QUOTED_NUMBER_HINT, _CSV_NUMBER_HINT)
    return error


def _csv_problem(error: csv.Error) -> str:
    if _CR_ONLY in str(error):
        return ("a carriage return (\\r) ends a line inside an unquoted cell: lines must end with \\n or \\r\\n "
                "(a file saved with old Mac line endings uses \\r alone)")
    return str(error)


def check_json_sample(rows: List[Optional[bytes]], value: Callable[[Optional[bytes], int], Any]) -> None:
    """FileRefused when not one of a JSON-lines file's first rows is JSON (it is some other kind of file)."""
    if not rows:
        return
    for data in rows:
        try:
            value(data, 0 if data is None else len(data))
            return
        except MalformedJson:
            continue
        except ServiceError:
            return  # JSON, but not a record the model takes: that row's error, not the file's
    raise FileRefused(f"the file is not JSON lines: none of its first {len(rows)} rows is JSON")
