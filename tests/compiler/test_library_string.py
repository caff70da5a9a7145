"""s.* (titus's lib/pfastring.py): native versus titus."""

import importlib.util
import itertools
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("library_harness", Path(__file__).with_name("library_harness.py"))
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

from titus.datatype import AvroArray, AvroBoolean, AvroInt, AvroLong, AvroString  # noqa: E402, I001
from titus.lib import pfastring  # noqa: E402

from chalicelib.compiler.library import lookup  # noqa: E402

check = harness.check
S = AvroString()
STRINGS = ["", "a", "abc", "abcabc", "aaa", "é日本é", "  pad  ", "xyx", "\x00", "ab\U0001F600ba"]
NEEDLES = ["", "a", "b", "bc", "é", "x", "aa", "\U0001F600"]
INDEXES = [-20, -3, -1, 0, 1, 2, 5, 20]


def test_every_name_but_number_is_native():
    for name in pfastring.provides:
        if name != "s.number":
            assert lookup(name) is not None, name


@pytest.mark.parametrize("name", ["s.contains", "s.count", "s.index", "s.rindex", "s.startswith", "s.endswith",
                                  "s.split", "s.concat", "s.lstrip", "s.rstrip", "s.strip"])
def test_two_strings(name):
    check(name, [S, S], list(itertools.product(STRINGS, NEEDLES)))


@pytest.mark.parametrize("name", ["s.len", "s.lower", "s.upper"])
def test_one_string(name):
    check(name, [S], [(s,) for s in STRINGS + ["ÀÉ", "ß", "İ", "Σ"]])


@pytest.mark.parametrize("name", ["s.replaceall", "s.replacefirst", "s.replacelast", "s.translate"])
def test_three_strings(name):
    check(name, [S, S, S], list(itertools.product(STRINGS, NEEDLES, ["", "Z", "zy", "é"])))


def test_substrings():
    check("s.substr", [S, AvroInt(), AvroInt()], list(itertools.product(STRINGS, INDEXES, INDEXES)))
    check("s.substrto", [S, AvroInt(), AvroInt(), S], list(itertools.product(STRINGS, INDEXES, INDEXES, ["", "Q"])))


def test_join_and_repeat():
    check("s.join", [AvroArray(S), S], list(itertools.product([[], ["a"], ["a", "é", ""]], NEEDLES)))
    check("s.repeat", [S, AvroInt()], list(itertools.product(STRINGS, [-1, 0, 1, 3])))


@pytest.mark.parametrize("name", ["s.hex", "s.int"])
def test_numbers_as_text(name):
    check(name, [AvroLong()], [(x,) for x in harness.LONGS])
    check(name, [AvroLong(), AvroInt(), AvroBoolean()],
          list(itertools.product([0, 1, -1, 255, harness.LONG_MAX, harness.LONG_MIN], [-8, -1, 0, 1, 4, 20],
                                 [True, False])))


def test_documents_agree():
    harness.agree("s.substr", ["string", "int", "int"], "string", list(itertools.product(STRINGS, INDEXES, INDEXES)))
    harness.agree("s.replacelast", ["string", "string", "string"], "string",
                  list(itertools.product(STRINGS, NEEDLES, ["", "Z"])))
    harness.agree("s.hex", ["long", "int", "boolean"], "string",
                  list(itertools.product([0, 255, -1], [-4, 0, 4], [True, False])))
    harness.agree("s.split", ["string", "string"], {"type": "array", "items": "string"},
                  list(itertools.product(STRINGS, NEEDLES)))
