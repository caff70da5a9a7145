"""interp.* (titus's lib/interp.py): both engines must agree, doubles bit for bit."""

import math
import random

from chalicelib.compiler.library import lookup
from tests.compiler.test_library_array import DOUBLE_POOL, agree, array_of, doc, native_everywhere, record

rng = random.Random(22000)
NAN, INF = math.nan, math.inf
XS = DOUBLE_POOL + [0.25, 0.75, 1.5, 2.0, 4.0, -3.0, 9.99, 10.0]


def test_bin():
    four = doc(record(x="double", n="int", lo="double", hi="double"), "int",
               [{"interp.bin": ["input.x", "input.n", "input.lo", "input.hi"]}])
    three = doc(record(x="double", o="double", w="double"), "int", [{"interp.bin": ["input.x", "input.o", "input.w"]}])
    native_everywhere(four, "interp.bin")
    native_everywhere(three, "interp.bin")
    agree(four, [{"x": x, "n": n, "lo": lo, "hi": hi} for x in XS for n in (1, 5, 0, 3)
                 for lo, hi in ((0.0, 10.0), (10.0, 0.0), (-1e308, 1e308), (0.0, INF), (NAN, 1.0), (-1.0, 1.0))])
    agree(three, [{"x": x, "o": o, "w": w} for x in XS for o in (0.0, 1.5, INF, NAN, -1e308)
                  for w in (1.0, 0.5, 0.0, -1.0, INF, NAN, 1e-300)])


def table_type(to_type, x_type="double"):
    return array_of({"type": "record", "name": "E", "fields": [{"name": "x", "type": x_type},
                                                              {"name": "to", "type": to_type}]})


def tables(to, n=40):
    out = [[], [{"x": 1.0, "to": to()}], [{"x": 1.0, "to": to()}, {"x": 1.0, "to": to()}],
           [{"x": 0.0, "to": to()}, {"x": NAN, "to": to()}, {"x": 2.0, "to": to()}]]
    for _ in range(n):
        xs = [0.0, 1.0, 2.0, 3.0, -1.0, 0.5, INF]
        out.append([{"x": rng.choice(xs), "to": to()} for _ in range(rng.randint(1, 5))])
    return out


def test_nearest():
    scalar = doc(record(x="double", t=table_type("string")), "string", [{"interp.nearest": ["input.x", "input.t"]}])
    native_everywhere(scalar, "interp.nearest")
    agree(scalar, [{"x": x, "t": t} for t in tables(lambda: rng.choice("abc")) for x in XS[::3]])
    vector = doc(record(x=array_of("double"), t=table_type("int", array_of("double"))), "int",
                 [{"interp.nearest": ["input.x", "input.t"]}])
    vector_tables = [[{"x": [rng.choice([0.0, 1.0, 2.0, NAN]) for _ in range(rng.choice([2, 2, 2, 1]))],
                       "to": rng.randint(0, 9)} for _ in range(rng.randint(0, 4))] for _ in range(40)]
    agree(vector, [{"x": x, "t": t} for t in vector_tables for x in ([0.0, 0.0], [1.5, 2.0], [1.0])])
    metric = {"params": [{"a": "double"}, {"b": "double"}], "ret": "double", "do": {"-": ["a", "b"]}}
    with_metric = doc(record(x="double", t=table_type("string")), "string",
                      [{"interp.nearest": ["input.x", "input.t", metric]}])
    agree(with_metric, [{"x": x, "t": t} for t in tables(lambda: rng.choice("abc")) for x in XS[::3]])


def test_linear():
    for name in ("interp.linear", "interp.linearFlat", "interp.linearMissing"):
        for to_type, to, out in (("double", lambda: rng.choice([0.0, 1.0, -2.0, 5.5, INF]), "double"),
                                 (array_of("double"), lambda: [rng.choice([0.0, 1.0, 3.0])
                                                               for _ in range(rng.choice([2, 2, 2, 3]))],
                                  array_of("double"))):
            output = ["null", out] if name == "interp.linearMissing" else out
            document = doc(record(x="double", t=table_type(to_type)), output, [{name: ["input.x", "input.t"]}])
            native_everywhere(document, name)
            agree(document, [{"x": x, "t": t} for t in tables(to) for x in XS[::2]])


def test_every_name_is_native():
    from titus.lib import interp

    for name in interp.provides:
        assert lookup(name) is not None, name
