"""Request bodies from a CSV file: each row, without the label column(s), as one JSON record, in file order.

Arrival n gets row n (wrapping around at the end), as artillery's `payload` with `order: sequence` does;
a batch of b records for arrival n holds rows n*b ... n*b + b - 1, again wrapping around.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

DEFAULT_DROP_COLUMNS = ("Class",)


def _value(text: str) -> float | str:
    """A CSV cell as a number when it reads as one (the Sonar features), else as the string."""
    try:
        return float(text)
    except ValueError:
        return text


def read_records(path: Path, drop_columns: Iterable[str] = DEFAULT_DROP_COLUMNS) -> list[dict[str, float | str]]:
    """Every row of the CSV file as {column: value}, without `drop_columns`; raises if there are no rows."""
    dropped = set(drop_columns)
    with open(path, newline="") as handle:
        records = [{name: _value(text) for name, text in row.items() if name not in dropped}
                   for row in csv.DictReader(handle)]
    if not records:
        raise ValueError(f"{path} has no data rows")
    return records


class Bodies:
    """Pre-encoded JSON request bodies for arrival numbers, so sending costs no encoding work."""

    def __init__(self, records: list[dict[str, float | str]], batch_size: int | None = None) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        self._encoded = [json.dumps(record, separators=(",", ":")) for record in records]
        self.batch_size = batch_size

    @property
    def records_per_request(self) -> int:
        """How many records one request carries (1 unless batching)."""
        return self.batch_size or 1

    def rows_for(self, arrival: int) -> list[int]:
        """0-based row numbers that arrival `arrival` sends."""
        size = self.records_per_request
        return [(arrival * size + offset) % len(self._encoded) for offset in range(size)]

    def body(self, arrival: int) -> bytes:
        """The body for arrival `arrival`: one record, or {"records": [...]} when batching."""
        rows = [self._encoded[row] for row in self.rows_for(arrival)]
        if self.batch_size is None:
            return rows[0].encode()
        return ('{"records":[' + ",".join(rows) + "]}").encode()
