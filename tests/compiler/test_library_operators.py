"""Core operators (+ - * / // u- % %% ** comparisons max min logic bitwise): native versus titus."""

import importlib.util
import itertools
import random
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("library_harness", Path(__file__).with_name("library_harness.py"))
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

from titus.datatype import (  # noqa: E402, I001
    AvroArray, AvroBoolean, AvroBytes, AvroDouble, AvroFloat, AvroInt,
    AvroLong, AvroMap, AvroNull, AvroRecord, AvroString, AvroUnion, jsonNodeToAvroType)

from chalicelib.compiler.library import lookup  # noqa: E402

check = harness.check
INTS, LONGS, DOUBLES = harness.INTS, harness.LONGS, harness.DOUBLES
NAN, INF = harness.NAN, harness.INF

ARITHMETIC = ["+", "-", "*", "/", "//", "%", "%%", "**"]
COMPARISON = ["cmp", "==", "!=", "<", "<=", ">", ">=", "max", "min"]
LOGIC = ["&&", "||", "^^", "!", "&&&", "|||", "!!!", "&", "|", "^", "~", "u-"]

rng = random.Random(20240611)


def pairs(values, extra=60, draw=None):
    out = list(itertools.product(values, values))
    for _ in range(extra):
        out.append((draw(), draw()) if draw else (rng.choice(values), rng.choice(values)))
    return out


def rand_int():
    return rng.randint(-2**31, 2**31 - 1) if rng.random() < 0.5 else rng.randint(-100, 100)


def rand_long():
    return rng.randint(-2**63, 2**63 - 1) if rng.random() < 0.5 else rng.randint(-10**6, 10**6)


def rand_double():
    return rng.choice([rng.uniform(-10, 10), rng.gauss(0, 1e6), float(rng.randint(-20, 20))])


def test_every_name_is_native():
    for name in ARITHMETIC + COMPARISON + LOGIC:
        assert lookup(name) is not None, name


@pytest.mark.parametrize("name", ["+", "-", "*", "%", "%%", "**"])
def test_int_arithmetic(name):
    check(name, [AvroInt(), AvroInt()], pairs(INTS, 300, rand_int))


@pytest.mark.parametrize("name", ["+", "-", "*", "%", "%%", "**"])
def test_long_arithmetic(name):
    check(name, [AvroLong(), AvroLong()], pairs(LONGS, 300, rand_long))
    check(name, [AvroInt(), AvroLong()], pairs(INTS, 50, rand_int))  # int promoted to long


@pytest.mark.parametrize("name", ["+", "-", "*", "/", "%", "%%", "**"])
@pytest.mark.parametrize("types", [[AvroDouble(), AvroDouble()], [AvroFloat(), AvroFloat()],
                                   [AvroInt(), AvroDouble()], [AvroDouble(), AvroLong()]])
def test_floating_arithmetic(name, types):
    def value(avro_type):
        if isinstance(avro_type, AvroInt):
            return rng.choice(INTS)
        if isinstance(avro_type, AvroLong):
            return rng.choice(LONGS)
        return rng.choice(DOUBLES) if rng.random() < 0.5 else rand_double()
    inputs = [(value(types[0]), value(types[1])) for _ in range(400)]
    if all(not isinstance(t, (AvroInt, AvroLong)) for t in types):
        inputs += pairs(DOUBLES)
    check(name, types, inputs)


def test_division_of_integers():
    check("/", [AvroInt(), AvroInt()], pairs(INTS, 100, rand_int))
    check("/", [AvroLong(), AvroLong()], pairs(LONGS, 100, rand_long))
    check("//", [AvroInt(), AvroInt()], pairs(INTS, 300, rand_int))
    check("//", [AvroLong(), AvroLong()], pairs(LONGS, 300, rand_long))


def test_pow_special_cases():
    values = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, 1e10, -1e10, 1e308, NAN, INF, -INF, 0.3]
    check("**", [AvroDouble(), AvroDouble()], pairs(values))
    check("**", [AvroInt(), AvroInt()], pairs([0, 1, -1, 2, -2, 3, -3, 31, 32, 30, -31, 46341, INT_MIN()], 0))


def INT_MIN():
    return harness.INT_MIN


def test_negation():
    check("u-", [AvroInt()], [(x,) for x in INTS])
    check("u-", [AvroLong()], [(x,) for x in LONGS])
    check("u-", [AvroDouble()], [(x,) for x in DOUBLES])
    check("u-", [AvroFloat()], [(x,) for x in DOUBLES])


NUMBER_TYPES = [[AvroInt(), AvroInt()], [AvroLong(), AvroLong()], [AvroFloat(), AvroFloat()],
                [AvroDouble(), AvroDouble()], [AvroInt(), AvroDouble()], [AvroLong(), AvroFloat()],
                [AvroDouble(), AvroInt()]]


@pytest.mark.parametrize("name", COMPARISON)
@pytest.mark.parametrize("types", NUMBER_TYPES)
def test_compare_numbers(name, types):
    small = [0.0, -0.0, 1.0, -1.0, 2.5, NAN, INF, -INF, 1e300]
    ints = [0, 1, -1, 2, INT_MIN(), harness.INT_MAX]
    pools = [ints if isinstance(t, (AvroInt, AvroLong)) else small for t in types]
    inputs = list(itertools.product(*pools))
    for _ in range(100):
        inputs.append(tuple(rng.choice(pool) for pool in pools))
    check(name, types, inputs)


@pytest.mark.parametrize("name", COMPARISON)
def test_compare_other_types(name):
    strings = ["", "a", "b", "ab", "é", "日本", "Z", "a\x00"]
    check(name, [AvroString(), AvroString()], list(itertools.product(strings, strings)))
    check(name, [AvroBoolean(), AvroBoolean()], list(itertools.product([True, False], [True, False])))
    enum = jsonNodeToAvroType({"type": "enum", "name": "Color", "symbols": ["red", "green", "blue"]})
    symbols = ["red", "green", "blue"]
    check(name, [enum, enum], list(itertools.product(symbols, symbols)))
    check(name, [AvroNull(), AvroNull()], [(None, None)])
    arrays = [[], [1.0], [1.0, 2.0], [NAN], [2.0], [1.0, NAN], [-0.0]]
    check(name, [AvroArray(AvroDouble()), AvroArray(AvroDouble())], list(itertools.product(arrays, arrays)))
    union = AvroUnion([AvroNull(), AvroDouble(), AvroString()])
    values = [None, 1.0, NAN, "x", "", -2.0]
    check(name, [union, union], list(itertools.product(values, values)))
    record = jsonNodeToAvroType({"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "int"}, {"name": "b", "type": "string", "order": "descending"}]})
    records = [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 0, "b": "z"}]
    check(name, [record, record], list(itertools.product(records, records)))


def test_compare_bytes_and_maps():
    check("==", [AvroBytes(), AvroBytes()], [(b"a", b"a"), (b"a", b"b")])
    check("<", [AvroMap(AvroInt()), AvroMap(AvroInt())], [({"a": 1}, {"a": 2})])


BOOLS = list(itertools.product([True, False], [True, False]))
KLEENE = [True, False, None, {"boolean": True}, {"boolean": False}]


def test_logic():
    for name in ["&&", "||", "^^"]:
        check(name, [AvroBoolean(), AvroBoolean()], BOOLS)
    check("!", [AvroBoolean()], [(True,), (False,)])
    kleene = AvroUnion([AvroBoolean(), AvroNull()])
    for name in ["&&&", "|||"]:
        check(name, [kleene, kleene], list(itertools.product(KLEENE, KLEENE)), lazy=(0, 1))
    check("!!!", [kleene], [(x,) for x in KLEENE + [{"boolean": True}, {"boolean": False}]])


def test_short_circuit():
    function, *_ = harness.emit("&&", [AvroBoolean(), AvroBoolean()])
    assert "and" in harness.emit("&&", [AvroBoolean(), AvroBoolean()])[3]
    assert "or" in harness.emit("||", [AvroBoolean(), AvroBoolean()])[3]
    kleene = AvroUnion([AvroBoolean(), AvroNull()])
    code = harness.emit("&&&", [kleene, kleene])[3]
    assert "lambda" in code


@pytest.mark.parametrize("types", [[AvroInt(), AvroInt()], [AvroLong(), AvroLong()]])
def test_bitwise(types):
    values = LONGS if isinstance(types[0], AvroLong) else INTS
    for name in ["&", "|", "^"]:
        check(name, types, pairs(values, 100, rand_long if isinstance(types[0], AvroLong) else rand_int))
    check("~", types[:1], [(x,) for x in values])


def test_record_with_descending_order_is_kept():
    record = jsonNodeToAvroType({"type": "record", "name": "S", "fields": [{"name": "a", "type": "int"}]})
    assert isinstance(record, AvroRecord)


# ---------------------------------------------------------------- whole documents, both engines

DOC_NUMBERS = {"int": INTS, "long": LONGS, "double": DOUBLES, "float": [0.0, -0.0, 1.5, NAN, INF, -INF, -2.0]}


@pytest.mark.parametrize("name", ["+", "-", "*", "/", "%", "%%", "**", "//"] + COMPARISON)
@pytest.mark.parametrize("types", [("int", "int"), ("long", "long"), ("double", "double"), ("int", "double"),
                                   ("float", "float")])
def test_documents_agree(name, types):
    if name == "//" and "double" in types or name == "//" and "float" in types:
        pytest.skip("// takes integers only")
    left, right = DOC_NUMBERS[types[0]], DOC_NUMBERS[types[1]]
    inputs = [(x, y) for x in left[::2] for y in right[::2]] + [(rng.choice(left), rng.choice(right))
                                                                 for _ in range(50)]
    if name == "cmp":
        ret = "int"
    elif name in ("==", "!=", "<", "<=", ">", ">="):
        ret = "boolean"
    elif name == "/":
        ret = "double"
    else:
        ret = {"int": 0, "long": 1, "float": 2, "double": 3}
        ret = max(types, key=lambda t: ret[t])
    harness.agree(name, list(types), ret, inputs)


def test_logic_documents_agree():
    nullable = ["boolean", "null"]
    for name in ["&&", "||", "^^"]:
        harness.agree(name, ["boolean", "boolean"], "boolean", BOOLS)
    for name in ["&&&", "|||"]:
        harness.agree(name, [nullable, nullable], nullable, list(itertools.product(*[[True, False, None]] * 2)))
    harness.agree("!!!", [nullable], nullable, [(True,), (False,), (None,)])
    for name in ["&", "|", "^"]:
        harness.agree(name, ["long", "long"], "long", pairs(LONGS[::3], 20, rand_long))
    harness.agree("u-", ["int"], "int", [(x,) for x in INTS])


def test_short_circuit_document():
    """The right side of && is not evaluated when the left is false (here it would divide by zero)."""
    document = {"input": "int", "output": "boolean",
                "action": [{"&&": [{"!=": ["input", 0]}, {"==": [{"//": [10, "input"]}, 5]}]}]}
    assert harness._differential().assert_agree(document, [0, 2, 3]) == 3


def test_short_circuit_over_statements():
    document = {"input": "int", "output": "boolean", "action": [{"&&": [
        {"!=": ["input", 0]}, {"if": {"==": [{"//": [10, "input"]}, 5]}, "then": True, "else": False}]}]}
    assert harness._differential().assert_agree(document, [0, 2]) == 2
