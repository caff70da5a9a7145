"""cast.* (titus's lib/cast.py): native versus titus."""

import importlib.util
import itertools
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("library_harness", Path(__file__).with_name("library_harness.py"))
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

from titus.datatype import (  # noqa: E402, I001
    AvroArray, AvroBoolean, AvroDouble, AvroFloat, AvroInt, AvroLong,
    AvroMap, AvroNull, AvroString, AvroUnion, jsonNodeToAvroType)
from titus.lib import cast  # noqa: E402

from chalicelib.compiler.library import lookup  # noqa: E402

check = harness.check
NUMBER_TYPES = [AvroInt(), AvroLong(), AvroFloat(), AvroDouble()]
DOUBLES = harness.DOUBLES + [2147483646.5, 2147483647.4999, -2147483648.49, 9.223372036854775e18, 1e19]


def values_of(avro_type):
    if isinstance(avro_type, AvroInt):
        return harness.INTS
    if isinstance(avro_type, AvroLong):
        return harness.LONGS
    return DOUBLES + harness.INTS[:4]  # titus may hold an int where a double is expected


def test_every_name_is_native():
    for name in cast.provides:
        assert lookup(name) is not None, name


@pytest.mark.parametrize("name", ["cast.int", "cast.long", "cast.float", "cast.double"])
@pytest.mark.parametrize("avro_type", NUMBER_TYPES)
def test_numbers(name, avro_type):
    check(name, [avro_type], [(x,) for x in values_of(avro_type)])


@pytest.mark.parametrize("name", ["cast.signed", "cast.unsigned"])
def test_wrap_around(name):
    bits = [-1, 0, 1, 2, 3, 8, 16, 31, 32, 33, 53, 63, 64, 65]
    check(name, [AvroLong(), AvroInt()], list(itertools.product(harness.LONGS + [255, 256, -129, 128], bits)))


FANOUTS = ["cast.fanoutBoolean", "cast.fanoutInt", "cast.fanoutLong", "cast.fanoutFloat", "cast.fanoutDouble"]


@pytest.mark.parametrize("name", FANOUTS)
def test_fanouts(name):
    enum = jsonNodeToAvroType({"type": "enum", "name": "E", "symbols": ["a", "b", "c"]})
    check(name, [enum], [("a",), ("b",), ("c",)])
    dictionaries = [[], ["x"], ["x", "y", "é"], ["x", "x"]]
    check(name, [AvroString(), AvroArray(AvroString()), AvroBoolean()],
          list(itertools.product(["x", "é", "z", ""], dictionaries, [True, False])))
    check(name, [AvroInt(), AvroInt(), AvroInt(), AvroBoolean()],
          list(itertools.product([-1, 0, 3, 5, 9], [0, 2, 5], [0, 3, 6], [True, False])))


def test_serialize():
    record = jsonNodeToAvroType({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": ["null", "string"]},
        {"name": "c", "type": {"type": "array", "items": "double"}}]})
    records = [({"a": 1, "b": None, "c": []},), ({"a": -5, "b": "é", "c": [1.5, -0.0]},)]
    union = AvroUnion([AvroNull(), AvroDouble(), AvroString()])
    for name in ["cast.json", "cast.avro"]:
        check(name, [record], records)
        check(name, [AvroDouble()], [(x,) for x in [0.0, -0.0, 1.5, 1e300, 3.0]])
        check(name, [AvroString()], [("",), ("日本",), ('a"b\\',)])
        check(name, [union], [(None,), (2.5,), ("s",)])
        check(name, [AvroMap(AvroInt())], [({},), ({"a": 1, "b": -2},)])
        check(name, [AvroArray(AvroLong())], [([],), ([harness.LONG_MAX, harness.LONG_MIN],)])
    check("cast.json", [AvroDouble()], [(harness.NAN,), (harness.INF,)])


# ---------------------------------------------------------------- whole documents, both engines

@pytest.mark.parametrize("name, ret", [("cast.int", "int"), ("cast.long", "long"), ("cast.double", "double")])
@pytest.mark.parametrize("source", ["int", "long", "double"])
def test_documents_agree(name, ret, source):
    values = {"int": harness.INTS, "long": harness.LONGS, "double": DOUBLES}[source]
    harness.agree(name, [source], ret, [(x,) for x in values])


def test_more_documents_agree():
    harness.agree("cast.signed", ["long", "int"], "long",
                  list(itertools.product(harness.LONGS[::2], [1, 2, 8, 64, 65])))
    harness.agree("cast.fanoutDouble", ["string", {"type": "array", "items": "string"}, "boolean"],
                  {"type": "array", "items": "double"},
                  list(itertools.product(["x", "q"], [["x", "y"], ["x", "x"], []], [True, False])))
    harness.agree("cast.json", [{"type": "map", "values": ["null", "double"]}], "string",
                  [({},), ({"a": None, "b": 1.5},)])
