"""A file's rows as byte ranges, read block by block: the whole file is never in memory.

A row ends at a newline (``\\n``; a ``\\r`` before it is dropped). In CSV, a newline inside a quoted cell does
not end the row. A quote opens a quoted cell only where a cell starts (at the start of the row or after a comma,
as Python's csv module reads it; elsewhere it is a plain character), and inside one a doubled quote is a quote.
The planner and the chunk workers split with this one function, so a chunk's byte range always starts and ends
where a row does.

A row longer than ``max_row_bytes`` is not kept: it comes out as a :class:`Row` without data and with its size,
and the splitter goes on to its end (in a CSV file with a quote that is never closed, that is the end of the
file).
"""

import re
from dataclasses import dataclass
from typing import Generator, Iterable, Iterator, Optional

_QUOTE_OR_NEWLINE = re.compile(b'["\\n]')
_QUOTE = ord('"')
_CELL_STARTS = (b"", b",", b"\n")


@dataclass(frozen=True)
class Row:
    start: int  # byte offset of the row's first byte in the file
    end: int  # byte offset just after the row's newline (the next row's start), or the end of the file
    data: Optional[bytes]  # the row without its newline; None when it is over the limit

    @property
    def size(self) -> int:
        return self.end - self.start


def split_rows(blocks: Iterable[bytes], quoted: bool, max_row_bytes: int, offset: int = 0) -> Iterator[Row]:
    """The rows of the bytes that ``blocks`` yield in turn, the first starting at file offset ``offset``."""
    carry = b""  # the current row's bytes so far (empty once it is over the limit)
    scanned = 0  # how much of ``carry`` was already looked at
    dropped = 0  # bytes of the current row dropped for being over the limit
    inside = False  # within a quoted CSV cell
    edge = b""  # the file's byte just before ``data`` (none at the start of the file)
    start = offset
    for block in blocks:
        if not block:
            continue
        data = carry + block if carry else block
        begin = 0  # where the current row starts in ``data``
        stop = len(data)  # how far ``data`` was looked at
        if not quoted or (not inside and b'"' not in data[scanned:]):
            pieces = data[scanned:].split(b"\n")
            if len(pieces) > 1:
                first = data[:scanned] + pieces[0]
                start = yield from _emit(first, start, dropped, max_row_bytes)
                dropped = 0
                for piece in pieces[1:-1]:
                    start = yield from _emit(piece, start, 0, max_row_bytes)
                begin = len(data) - len(pieces[-1])
        else:
            position = scanned
            while (match := _QUOTE_OR_NEWLINE.search(data, position)) is not None:
                index = match.start()
                position = index + 1
                if data[index] != _QUOTE:
                    if not inside:
                        start = yield from _emit(data[begin:index], start, dropped, max_row_bytes)
                        dropped = 0
                        begin = index + 1
                elif not inside:
                    # As Python's csv module reads it: a quote opens a quoted cell only where a cell starts.
                    inside = (data[index - 1:index] if index else edge) in _CELL_STARTS
                elif index + 1 == len(data):  # closing, or the first of a doubled quote: the next block says
                    stop = index
                    break
                elif data[index + 1] == _QUOTE:  # a doubled quote inside a quoted cell
                    position = index + 2
                else:
                    inside = False
        edge = data[begin - 1:begin] if begin else edge
        carry = data[begin:]
        scanned = stop - begin
        if dropped + len(carry) > max_row_bytes:
            keep = data[stop:]  # a quote still to be read with the next block
            dropped += len(carry) - len(keep)
            edge = data[stop - 1:stop]
            carry, scanned = keep, 0
    if carry or dropped:
        row = carry[:-1] if carry.endswith(b"\r") else carry
        yield Row(start, start + dropped + len(carry), None if dropped else row)


def _emit(piece: bytes, start: int, dropped: int, max_row_bytes: int) -> Generator[Row, None, int]:
    """Yield the row that ends with ``piece`` (and its newline); return where the next one starts."""
    end = start + dropped + len(piece) + 1
    if dropped or len(piece) > max_row_bytes:
        yield Row(start, end, None)
    else:
        yield Row(start, end, piece[:-1] if piece.endswith(b"\r") else piece)
    return end
