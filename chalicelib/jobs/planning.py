"""An uploaded file to its chunks: checked, counted and cut where rows end, never held whole in memory.

1. The first bytes are read on their own: a compressed or binary file, a CSV header that cannot serve the
   model, or JSON lines none of whose first rows is JSON fail the job here, before anything is scored.
2. A sample of the first rows is scored to measure what a row costs with this model; a chunk is as many rows
   as take about ``chunk_seconds`` (at most ``chunk_rows``), far inside the chunk function's time limit.
3. The whole file is read once to count its rows and note where each chunk starts. A file with more chunks
   than ``max_chunks`` gets bigger chunks (two merged into one, as often as needed).
"""

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional

from ..errors import ServiceError
from ..limits.deadline import Deadline
from ..model_loader import LoadedModel
from .reading import CSV, JSONL, FileRefused, RowReader, check_json_sample, refuse_binary
from .rows import Row, split_rows

HEAD_BYTES = 1024 * 1024
SAMPLE_ROWS = 50
# The sample's scoring stops after this long, however few rows it reached.
SAMPLE_MS = 2000.0

# While cutting, the time left is looked at before each block read, and the plan given up with this much left.
PLAN_MARGIN_MS = 30_000.0

Blocks = Callable[[int, Optional[int]], Iterator[bytes]]  # (start, end) -> the file's bytes in blocks


@dataclass(frozen=True)
class Chunk:
    index: int
    first_row: int  # the row number of its first row (rows are numbered from 1)
    rows: int
    start: int  # byte range in the file: [start, end)
    end: int

    def message(self, job_id: str) -> dict:
        return {"job": job_id, "chunk": self.index, "first_row": self.first_row, "rows": self.rows,
                "start": self.start, "end": self.end}


@dataclass
class Plan:
    data_start: int  # where the first data row starts (after a CSV header)
    chunk_rows: int
    rows_total: int = 0
    chunks: List[Chunk] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    row_cost_ms: Optional[float] = None


@dataclass(frozen=True)
class Planner:
    max_row_bytes: int
    chunk_rows: int
    max_chunks: int
    chunk_seconds: float
    timeout_ms: int

    def reader(self, fmt: str, model: LoadedModel, blocks: Blocks) -> "tuple[RowReader, int]":
        """The file's row reader and where its data rows start; FileRefused when it is not ``fmt``."""
        head = b"".join(blocks(0, HEAD_BYTES))
        refuse_binary(head, fmt)
        if fmt == CSV:
            first = next(split_rows([head], quoted=True, max_row_bytes=self.max_row_bytes), None)
            header = first.data if first is not None and first.data is not None else None
            if first is not None and first.data is None:
                hint = " (its lines seem to end with \\r alone: they must end with \\n or \\r\\n)" \
                    if b"\r" in head else ""
                raise FileRefused(f"the CSV header (the first row) is over {self.max_row_bytes} bytes{hint}")
            return RowReader.for_file(fmt, model, header, self.max_row_bytes), first.end if first else 0
        return RowReader.for_file(JSONL, model, None, self.max_row_bytes), 0

    def chunk_reader(self, fmt: str, model: LoadedModel, blocks: Blocks, data_start: int) -> RowReader:
        """A chunk's row reader, once the file was checked: only the header is read again (a CSV's first row)."""
        if fmt != CSV:
            return RowReader.for_file(JSONL, model, None, self.max_row_bytes)
        first = next(split_rows(blocks(0, data_start), quoted=True, max_row_bytes=self.max_row_bytes), None)
        return RowReader.for_file(fmt, model, first.data if first is not None else None, self.max_row_bytes)

    def plan(self, fmt: str, model: LoadedModel, blocks: Blocks, chunk_rows: Optional[int] = None,
             time_left_ms: Callable[[], Optional[float]] = lambda: None) -> Plan:
        """The job's chunks. ``chunk_rows`` is given when the job was planned before (the same cuts again).

        FileRefused when the file cannot be read through within ``time_left_ms()`` (less a margin to record the
        plan and send the chunks): a planner that died instead would leave the job waiting for its retries."""
        reader, data_start = self.reader(fmt, model, blocks)
        sample = self._sample(reader, blocks, data_start)
        if fmt == JSONL:
            check_json_sample([row.data for row in sample], reader.value)
        plan = Plan(data_start, chunk_rows or self.chunk_rows, notes=list(reader.notes))
        if chunk_rows is None:
            plan.row_cost_ms = self._row_cost_ms(reader, model, sample)
            if plan.row_cost_ms:
                fitting = int(self.chunk_seconds * 1000 / plan.row_cost_ms)
                plan.chunk_rows = max(1, min(self.chunk_rows, fitting))
        self._cut(plan, blocks, fmt, time_left_ms)
        return plan

    def _sample(self, reader: RowReader, blocks: Blocks, data_start: int) -> List[Row]:
        rows = split_rows(blocks(data_start, data_start + HEAD_BYTES), reader.fmt == CSV, self.max_row_bytes,
                          offset=data_start)
        sample = []
        for row in rows:
            if row.end > data_start + HEAD_BYTES:  # cut short by the sample's range
                break
            sample.append(row)
            if len(sample) == SAMPLE_ROWS:
                break
        return sample

    def _row_cost_ms(self, reader: RowReader, model: LoadedModel, sample: List[Row]) -> Optional[float]:
        """What one row takes with this model: the sample's 90th percentile (one slow row, a pause of the
        process, does not halve the chunks), or None if there was no sample."""
        times: List[float] = []
        for row in sample:
            started = time.perf_counter()
            try:
                model.predict(reader.value(row.data, row.size), Deadline(self.timeout_ms))
            except ServiceError:
                pass  # a bad row's cost says little about the good ones; its time still counts
            times.append((time.perf_counter() - started) * 1000)
            if sum(times) > SAMPLE_MS:
                break
        if not times:
            return None
        return sorted(times)[min(len(times) - 1, int(len(times) * 0.9))]

    def _cut(self, plan: Plan, blocks: Blocks, fmt: str, time_left_ms: Callable[[], Optional[float]]) -> None:
        starts: List[tuple] = []  # (first_row, start offset) of each chunk
        rows = 0
        end = plan.data_start
        for row in split_rows(_in_time(blocks(plan.data_start, None), plan.data_start, time_left_ms),
                              fmt == CSV, self.max_row_bytes, offset=plan.data_start):
            if rows % plan.chunk_rows == 0:
                if len(starts) == self.max_chunks:  # too many: merge each pair, so chunks hold twice the rows
                    starts = starts[::2]
                    plan.chunk_rows *= 2
                if rows % plan.chunk_rows == 0:
                    starts.append((rows + 1, row.start))
            rows += 1
            end = row.end
        plan.rows_total = rows
        if not starts:
            return
        bounds = [start for _, start in starts[1:]] + [end]
        plan.chunks = [Chunk(index, first_row, _rows_in(index, first_row, starts, rows), start, stop)
                       for index, ((first_row, start), stop) in enumerate(zip(starts, bounds, strict=True))]


def _in_time(blocks: Iterator[bytes], offset: int, time_left_ms: Callable[[], Optional[float]]) -> Iterator[bytes]:
    """The blocks, while the invocation has time to read another one (looked at before each block)."""
    for block in blocks:
        left = time_left_ms()
        if left is not None and left < PLAN_MARGIN_MS:
            raise FileRefused(f"the file is too large to read through in one invocation of start_job (its time "
                              f"ran out {offset} bytes in): split it into smaller files")
        offset += len(block)
        yield block


def _rows_in(index: int, first_row: int, starts: List[tuple], total: int) -> int:
    following = starts[index + 1][0] if index + 1 < len(starts) else total + 1
    return following - first_row

