"""A file's rows as byte ranges, read block by block: the whole file is never in memory.

A row ends at a newline (``\\n``; a ``\\r`` before it is dropped). In CSV, a newline inside a quoted cell does
not end the row: RFC 4180 doubles a quote inside a quoted cell, so a newline ends a row exactly when the quotes
before it, since the row began, are even in number. The planner and the chunk workers split with this one
function, so a chunk's byte range always starts and ends where a row does.

A row longer than ``max_row_bytes`` is not kept: it comes out as a :class:`Row` without data and with its size,
and the splitter goes on to its end (in a CSV file with a quote that is never closed, that is the end of the
file).
"""

import re
from dataclasses import dataclass
from typing import Generator, Iterable, Iterator, Optional

_QUOTE_OR_NEWLINE = re.compile(b'["\\n]')


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
    start = offset
    for block in blocks:
        if not block:
            continue
        data = carry + block if carry else block
        begin = 0  # where the current row starts in ``data``
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
            for match in _QUOTE_OR_NEWLINE.finditer(data, scanned):
                if match.group() == b'"':
                    inside = not inside
                elif not inside:
                    start = yield from _emit(data[begin:match.start()], start, dropped, max_row_bytes)
                    dropped = 0
                    begin = match.end()
        carry = data[begin:]
        if dropped + len(carry) > max_row_bytes:
            dropped += len(carry)
            carry = b""
        scanned = len(carry)
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
