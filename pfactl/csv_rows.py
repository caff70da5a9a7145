"""CSV rows to JSON records of a model's input type: the service's own conversion
(:mod:`chalicelib.jobs.csv_rows`), with a header that cannot serve the input reported as a pfactl error."""

from __future__ import annotations

from typing import Callable, List, Mapping, Optional, Sequence

from chalicelib.avro_schema import Schema
from chalicelib.jobs.csv_rows import CellError, HeaderError, RowConverter, renamed_features
from chalicelib.jobs.csv_rows import row_converter as _row_converter

from .errors import PfactlError

__all__ = ["CellError", "RowConverter", "renamed_features", "row_converter"]


def row_converter(header: Sequence[str], input_schema: Schema, input_keys: Optional[List[str]],
                  warn: Callable[[str], None], renames: Optional[Mapping[str, str]] = None) -> RowConverter:
    try:
        return _row_converter(header, input_schema, input_keys, warn, renames)
    except HeaderError as error:
        raise PfactlError(str(error)) from None
