"""Score a CSV or JSON-lines file locally, with the service's engine and strict validation.

Exactly one output line per input row, in order: ``{"prediction": ...}`` or ``{"error": {...}}`` with the
service's error codes and messages. A bad row (malformed JSON, a cell that does not convert, a record
the validator refuses, a model error) gets its error line and the run goes on. Blank lines are not rows.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, Optional, TextIO

from chalicelib.errors import InternalError, InvalidInput, ServiceError
from chalicelib.request_body import read_json
from chalicelib.served_model import ServedModel
from chalicelib.settings import Settings

from .csv_rows import renamed_features, row_converter
from .errors import PfactlError
from .input_files import DATA, empty
from .progress import Progress

FORMATS = ("csv", "jsonl")
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
# The largest record /predict accepts; a longer JSON line gets the same payload_too_large error.
MAX_RECORD_BYTES = Settings(model_bucket="-", model_key="-").max_body_bytes
_BOM = b"\xef\xbb\xbf"

csv.field_size_limit(MAX_RECORD_BYTES)


@dataclass(frozen=True)
class Summary:
    rows: int
    errors: int
    seconds: float

    def line(self) -> str:
        rate = f" ({self.rows / self.seconds:,.0f} rows/s)" if self.seconds > 0 and self.rows else ""
        return (f"scored {_count(self.rows, 'row')} in {self.seconds:.2f} s{rate}: "
                f"{_count(self.rows - self.errors, 'prediction')}, {_count(self.errors, 'error')}")


def _count(number: int, thing: str) -> str:
    return f"{number:,} {thing}{'' if number == 1 else 's'}"


def input_format(path: str, given: Optional[str]) -> str:
    if given:
        return given
    if path == "-":
        return "jsonl"
    found = _SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise PfactlError(f"cannot tell the format of {path} from its name: pass --format csv or --format jsonl")
    return found


def score_stream(served: ServedModel, source: IO[bytes], fmt: str, output: TextIO, *, stderr: TextIO,
                 progress: bool = False, force_progress: bool = False, name: str = "the input") -> Summary:
    """Score every row of ``source`` (called ``name`` in messages) into ``output``; warnings and progress go
    to ``stderr``. A source with no rows at all (nothing but blank lines) is refused with PfactlError."""
    info = os.fstat(source.fileno())
    total = info.st_size if stat.S_ISREG(info.st_mode) else None
    lines = InputLines(source)
    bar = Progress(stderr, total, enabled=progress, forced=force_progress)

    def warn(message: str) -> None:
        bar.write(f"pfactl: warning: {message}")

    records = _csv_records(lines, served, warn, name) if fmt == "csv" else _jsonl_records(lines, name)
    return _score(served, records, output.write, lambda rows, errors: bar.update(lines.bytes_read, rows, errors),
                  lambda rows, errors: bar.finish(lines.bytes_read, rows, errors))


def _score(served: ServedModel, records: Iterator[Any], write: Callable[[str], Any],
           on_row: Callable[[int, int], None], on_end: Callable[[int, int], None]) -> Summary:
    started = time.perf_counter()
    rows = errors = 0
    for item in records:
        if isinstance(item, ServiceError):
            result = item.to_body()
        else:
            try:
                result = {"prediction": served.predict(item)}
            except ServiceError as error:
                result = error.to_body()
            except Exception as error:  # a bug in the engine wrapper: report it on this row and go on
                result = InternalError(f"pfactl could not score this row: {type(error).__name__}: {error}").to_body()
        rows += 1
        errors += "error" in result
        write(_json_line(result))
        on_row(rows, errors)
    on_end(rows, errors)
    return Summary(rows, errors, time.perf_counter() - started)


def _json_line(result: Dict[str, Any]) -> str:
    text = json.dumps(result, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800"): keep it escaped
            text = json.dumps(result, allow_nan=False, separators=(",", ":"))
    return text + "\n"


class InputLines:
    """The lines of a binary stream, counting bytes read and noting lines that are not UTF-8."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.bytes_read = 0
        self.bad_utf8 = False

    def raw(self) -> Iterator[bytes]:
        for number, line in enumerate(self._stream):
            self.bytes_read += len(line)
            yield line[len(_BOM):] if number == 0 and line.startswith(_BOM) else line

    def text(self) -> Iterator[str]:
        for line in self.raw():
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_utf8 = True
                yield line.decode("utf-8", "replace")

    def take_bad_utf8(self) -> bool:
        bad, self.bad_utf8 = self.bad_utf8, False
        return bad


def _jsonl_records(lines: InputLines, name: str) -> Iterator[Any]:
    rows = 0
    for line in lines.raw():
        if not line.strip():
            continue
        rows += 1
        try:
            yield read_json(line, MAX_RECORD_BYTES, "one JSON record")
        except ServiceError as error:
            yield type(error)(error.message.replace("request body", "line", 1), field=error.field)
    if not rows:
        raise empty(name, DATA["jsonl"])


def _csv_records(lines: InputLines, served: ServedModel, warn: Callable[[str], None], name: str) -> Iterator[Any]:
    reader = csv.reader(lines.text())
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as error:
        raise PfactlError(f"cannot read the CSV header of {name}: {error}") from None
    if header is None:
        raise empty(name, DATA["csv"])
    if lines.take_bad_utf8():
        raise PfactlError(f"the CSV header of {name} is not UTF-8 text; expected {DATA['csv']}")
    converter = row_converter(header, served.model.input_schema, served.input_keys, warn,
                              renamed_features(served.model.metadata))
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            lines.take_bad_utf8()
            yield InvalidInput(f"row is not valid CSV: {error}")
            continue
        if lines.take_bad_utf8():
            yield InvalidInput("row is not UTF-8 text")
        elif cells:
            try:
                yield converter.convert(cells)
            except ServiceError as error:
                yield error
