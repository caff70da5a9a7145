"""The row splitter the planner and the chunks share: rows end where Python's csv module says, whatever the
block boundaries, every byte belongs to one row, and an over-long row is dropped without being held."""

from __future__ import annotations

import csv
import io
import random

import pytest

from chalicelib.jobs.rows import split_rows

CELLS = ["a", '"x,y"', '"multi\nline"', '"q""uote"', "1.5", "", '"\r\n"', '12" pipe', 'a"b"c', '"x"y', '""', '""""',
         ' "z"']


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[index:index + size] for index in range(0, len(data), size)]


@pytest.mark.parametrize("seed", range(200))
def test_csv_rows_split_as_the_csv_module_reads_them(seed):
    rng = random.Random(seed)
    rows = [",".join(rng.choice(CELLS) for _ in range(3)) for _ in range(rng.randint(0, 12))]
    text = rng.choice(["\n", "\r\n"]).join(rows) + rng.choice(["", "\n", "\r\n"])
    data = text.encode()
    expected = list(csv.reader(io.StringIO(text, newline="")))
    for size in (1, 2, 3, 7, 64, 10_000):
        got = list(split_rows(_blocks(data, size), True, 10_000))
        assert [next(csv.reader([row.data.decode()])) if row.data else [] for row in got] == expected
        assert [row.start for row in got[1:]] == [row.end for row in got[:-1]]
        assert (got[0].start, got[-1].end) == (0, len(data)) if got else data == b""


def test_json_lines_split_at_every_newline_and_offsets_count_from_the_start():
    data = b'{"a": "x\\"y"}\r\n{"b": 2}\n\n{"c": 3}'
    got = list(split_rows(_blocks(data, 4), False, 100, offset=1000))
    assert [row.data for row in got] == [b'{"a": "x\\"y"}', b'{"b": 2}', b"", b'{"c": 3}']
    assert got[0].start == 1000 and got[-1].end == 1000 + len(data)


def test_an_over_long_row_comes_out_without_its_data_and_the_next_rows_are_intact():
    data = b"short\n" + b"x" * 50 + b"\nnext\n" + b"y" * 20
    got = list(split_rows(_blocks(data, 8), False, 10))
    assert [(row.data, row.size) for row in got] == [(b"short", 6), (None, 51), (b"next", 5), (None, 20)]


def test_a_quote_never_closed_makes_the_rest_of_the_file_one_dropped_row():
    data = b'a,b\n"open,1\n2,3\n4,5\n'
    got = list(split_rows(_blocks(data, 3), True, 8))
    assert [(row.data, row.start, row.end) for row in got] == [(b"a,b", 0, 4), (None, 4, len(data))]


def test_a_quote_inside_an_unquoted_cell_is_a_plain_character():
    data = b"1,note\n2,12\" pipe\n3,note\n4,\"a \"\" b\"\n"
    got = list(split_rows(_blocks(data, 5), True, 100))
    assert [row.data for row in got] == [b"1,note", b'2,12" pipe', b"3,note", b'4,"a "" b"']
