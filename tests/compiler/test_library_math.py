"""m.* (titus's lib/pfamath.py): native versus titus."""

import importlib.util
import random
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("library_harness", Path(__file__).with_name("library_harness.py"))
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

from titus.datatype import AvroDouble, AvroFloat, AvroInt, AvroLong  # noqa: E402
from titus.lib import pfamath  # noqa: E402

from chalicelib.compiler.library import lookup  # noqa: E402

check = harness.check
rng = random.Random(7)
EXTRA = [0.1, -0.1, 0.9999999, 1.0000001, -1.0000001, 1e-10, 4.5, 5.5, -4.5, -5.5, 0.49999999999999994, 1e16,
         4503599627370497.0, 709.7, -745.2, 1e154, 1.5e154]
VALUES = harness.DOUBLES + EXTRA

UNARY = ["m.acos", "m.asin", "m.atan", "m.ceil", "m.cos", "m.cosh", "m.exp", "m.expm1", "m.floor", "m.ln",
         "m.log10", "m.ln1p", "m.rint", "m.signum", "m.sin", "m.sinh", "m.sqrt", "m.tan", "m.tanh"]


def doubles(n=300):
    return [(v,) for v in VALUES] + [(rng.choice([rng.uniform(-3, 3), rng.gauss(0, 1e3), rng.uniform(-800, 800)]),)
                                     for _ in range(n)]


def test_every_name_is_native():
    for name in pfamath.provides:
        assert lookup(name) is not None, name


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    check(name, [AvroDouble()], doubles())
    check(name, [AvroInt()], [(x,) for x in harness.INTS])  # an int where a double is expected


def test_constants():
    check("m.pi", [], [()])
    check("m.e", [], [()])


@pytest.mark.parametrize("name", ["m.atan2", "m.hypot"])
def test_binary(name):
    inputs = [(x, y) for x in VALUES[::2] for y in VALUES[::3]]
    check(name, [AvroDouble(), AvroDouble()], inputs + [(rng.gauss(0, 10), rng.gauss(0, 10)) for _ in range(200)])


def test_log_with_base():
    bases = [-1, 0, 1, 2, 3, 10, 16]
    check("m.log", [AvroDouble(), AvroInt()], [(x, b) for x in VALUES for b in bases])


def test_abs():
    check("m.abs", [AvroInt()], [(x,) for x in harness.INTS])
    check("m.abs", [AvroLong()], [(x,) for x in harness.LONGS])
    check("m.abs", [AvroDouble()], [(x,) for x in VALUES])
    check("m.abs", [AvroFloat()], [(x,) for x in VALUES])


def test_copysign():
    inputs = [(x, y) for x in VALUES[::2] for y in VALUES[::2]]
    check("m.copysign", [AvroDouble(), AvroDouble()], inputs)
    ints = harness.INTS
    check("m.copysign", [AvroInt(), AvroInt()], [(x, y) for x in ints for y in ints])
    check("m.copysign", [AvroLong(), AvroLong()], [(x, y) for x in harness.LONGS for y in harness.LONGS[::3]])


def test_round():
    check("m.round", [AvroDouble()], doubles() + [(9.3e18,), (9.2e18,), (-9.3e18,)])
    check("m.round", [AvroFloat()], doubles())
    check("m.round", [AvroInt()], [(x,) for x in harness.INTS])


# ---------------------------------------------------------------- whole documents, both engines

@pytest.mark.parametrize("name", UNARY)
def test_documents_agree(name):
    ret = "int" if name == "m.signum" else "double"
    harness.agree(name, ["double"], ret, doubles(50))


def test_more_documents_agree():
    harness.agree("m.round", ["double"], "long", doubles(50))
    harness.agree("m.abs", ["int"], "int", [(x,) for x in harness.INTS])
    harness.agree("m.log", ["double", "int"], "double", [(x, b) for x in VALUES[::3] for b in [-1, 0, 1, 2, 10]])
    harness.agree("m.hypot", ["double", "double"], "double", [(x, y) for x in VALUES[::3] for y in VALUES[::4]])
