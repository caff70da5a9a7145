"""One chunk of a job scored: its rows read from the upload's byte range, each row's prediction or error
written as one line, in order, to the chunk's output part (and its errors alone to the errors part).

The parts are written whole each time, so a chunk scored twice (a retry, a duplicate message) writes the same
parts again; that it is counted once is the job store's business. Each row has the model's time limit
(``MODEL_TIMEOUT_MS``), as a ``/predict`` call does. Should the invocation itself run short, the rows not reached
get a ``model_timeout`` error rather than be lost; the planner sizes chunks so that this does not happen.
"""

import json
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, Optional

from ..errors import InternalError, ModelTimeout, ServiceError
from ..limits.deadline import Deadline
from ..model_loader import LoadedModel
from .planning import Chunk
from .reading import CSV, RowReader, in_csv_terms
from .rows import split_rows

# Parts are spooled in memory up to this size, then on disk (/tmp).
SPOOL_BYTES = 8 * 1024 * 1024


class ChunkMismatch(ValueError):
    """The chunk's byte range did not hold the rows the plan said: a bug, or a file that changed."""


@dataclass
class ChunkOutput:
    output: IO[bytes]
    errors: IO[bytes]
    scored: int = 0
    failed: int = 0
    output_bytes: int = 0
    errors_bytes: int = 0
    engine_ms: float = 0.0
    codes: Dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        self.output.close()
        self.errors.close()


def score_chunk(chunk: Chunk, blocks: Iterator[bytes], reader: RowReader, model: LoadedModel, timeout_ms: int,
                time_left_ms: Callable[[], Optional[float]], on_bug: Callable[[Exception], None]) -> ChunkOutput:
    """Score the chunk's rows into two spooled files (rewound, ready to upload)."""
    result = ChunkOutput(tempfile.SpooledTemporaryFile(SPOOL_BYTES), tempfile.SpooledTemporaryFile(SPOOL_BYTES))
    number = chunk.first_row
    out_of_time: Optional[ServiceError] = None
    for row in split_rows(blocks, reader.fmt == CSV, reader.max_row_bytes, offset=chunk.start):
        if number >= chunk.first_row + chunk.rows:
            raise ChunkMismatch(f"chunk {chunk.index} holds more than its {chunk.rows} rows")
        left = time_left_ms()
        if out_of_time is None and left is not None and left < 1:
            out_of_time = ModelTimeout(f"not scored: the chunk's invocation ran out of time at row {number}; "
                                       f"the job's other rows were scored")
        if out_of_time is not None:
            _write(result, number, error=out_of_time)
        else:
            started = time.perf_counter()
            try:
                value = reader.value(row.data, row.size)
                prediction = model.predict(value, Deadline(timeout_ms, cap_ms=left))
                _write(result, number, prediction=prediction)
            except ServiceError as error:
                _write(result, number, error=in_csv_terms(error) if reader.fmt == CSV else error)
            except Exception as error:  # a bug must cost one row its answer, not the job
                on_bug(error)
                _write(result, number, error=InternalError("the row could not be scored because of an internal "
                                                           "error (the service's log has the details)"))
            result.engine_ms += (time.perf_counter() - started) * 1000
        number += 1
    if number != chunk.first_row + chunk.rows:
        raise ChunkMismatch(f"chunk {chunk.index} holds {number - chunk.first_row} rows, expected {chunk.rows}")
    result.output.seek(0)
    result.errors.seek(0)
    return result


def _write(result: ChunkOutput, number: int, prediction: Any = None, error: Optional[ServiceError] = None) -> None:
    if error is None:
        line = json.dumps({"row": number, "prediction": prediction}, separators=(",", ":")) + "\n"
        result.output_bytes += result.output.write(line.encode("ascii"))
        result.scored += 1
        return
    line = json.dumps({"row": number, **error.to_body()}, separators=(",", ":")) + "\n"
    data = line.encode("ascii")
    result.output_bytes += result.output.write(data)
    result.errors_bytes += result.errors.write(data)
    result.failed += 1
    result.codes[error.code] = result.codes.get(error.code, 0) + 1
