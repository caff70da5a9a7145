"""impute.* (titus's lib/impute.py): native versus titus."""

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("library_harness", Path(__file__).with_name("library_harness.py"))
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

from titus.datatype import (  # noqa: E402, I001
    AvroArray, AvroDouble, AvroFloat, AvroInt, AvroMap, AvroNull,
    AvroString, AvroUnion, jsonNodeToAvroType)
from titus.lib import impute  # noqa: E402

from chalicelib.compiler.library import lookup  # noqa: E402

check = harness.check
NAN, INF = harness.NAN, harness.INF
FLOATING = [0.0, -0.0, 1.5, -2.0, NAN, INF, -INF, 1e300, 3]


def test_every_name_is_native():
    for name in impute.provides:
        assert lookup(name) is not None, name


@pytest.mark.parametrize("name", ["impute.isnan", "impute.isinf", "impute.isnum", "impute.errorOnNonNum"])
@pytest.mark.parametrize("avro_type", [AvroFloat(), AvroDouble()])
def test_non_numbers(name, avro_type):
    check(name, [avro_type], [(x,) for x in FLOATING])


def test_default_on_non_number():
    check("impute.defaultOnNonNum", [AvroDouble(), AvroDouble()], [(x, -1.0) for x in FLOATING])
    check("impute.defaultOnNonNum", [AvroFloat(), AvroFloat()], [(x, 7.0) for x in FLOATING])


@pytest.mark.parametrize("inner, values", [
    (AvroDouble(), [0.0, NAN, -3.5]),
    (AvroString(), ["", "é"]),
    (AvroArray(AvroInt()), [[], [1, 2]]),
    (jsonNodeToAvroType({"type": "enum", "name": "E", "symbols": ["p", "q"]}), ["p", "q"]),
])
def test_nulls(inner, values):
    members = (inner.types if isinstance(inner, AvroUnion) else [inner]) + [AvroNull()]
    nullable = AvroUnion(members)
    default = values[0]
    check("impute.errorOnNull", [nullable], [(v,) for v in values + [None]])
    check("impute.defaultOnNull", [nullable, inner], [(v, default) for v in values + [None]])


def test_records_and_maps_are_left_to_titus():
    record = jsonNodeToAvroType({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    for inner in [record, AvroMap(AvroInt())]:
        function, *_ = harness.emit("impute.errorOnNull", [AvroUnion([inner, AvroNull()])])
        assert function is None
        function, *_ = harness.emit("impute.defaultOnNull", [AvroUnion([inner, AvroNull()]), inner])
        assert function is None


# ---------------------------------------------------------------- whole documents, both engines

def test_documents_agree():
    for name in ["impute.isnan", "impute.isinf", "impute.isnum"]:
        harness.agree(name, ["double"], "boolean", [(x,) for x in FLOATING])
    harness.agree("impute.errorOnNonNum", ["double"], "double", [(x,) for x in FLOATING])
    harness.agree("impute.defaultOnNonNum", ["double", "double"], "double", [(x, 0.5) for x in FLOATING])
    harness.agree("impute.errorOnNull", [["null", "double"]], "double", [(None,), (1.5,), (NAN,)])
    harness.agree("impute.defaultOnNull", [["null", "string"], "string"], "string", [(None, "d"), ("é", "d")])
