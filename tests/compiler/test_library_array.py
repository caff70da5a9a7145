"""a.* (titus's lib/array.py): documents scored by titus and by the compiled engine must agree.

Outputs are compared strictly: doubles bit for bit (NaN equal to NaN, the sign of zero kept), ints
versus floats, map keys in order; errors by kind and PFA code.
"""

import random

import pytest

from chalicelib.compiler import compile_document
from chalicelib.compiler.library import lookup
from tests.compiler.differential import outcomes
from tests.compiler.library_harness import same as strict

NAN, INF = float("nan"), float("inf")
INT_MIN, INT_MAX = -2147483648, 2147483647
LONG_MIN, LONG_MAX = -9223372036854775808, 9223372036854775807
rng = random.Random(20240601)

DOUBLE_POOL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0, 1e300, -1e300, 5e-324, 710.0, -745.0, NAN, INF, -INF, 0.1]
INT_POOL = [0, 1, -1, 2, 3, -7, 100, INT_MAX, INT_MIN, INT_MAX - 1]
LONG_POOL = INT_POOL + [LONG_MAX, LONG_MIN, 2**40, -(2**40)]
STRING_POOL = ["", "a", "b", "ab", "é", "日本", "Z", "a\x00", "🎉", "ab"]


def agree(document, inputs):
    """Every input scored by both engines: the same value (strictly) or the same error."""
    for datum, (expected, got) in zip(inputs, outcomes(document, inputs), strict=True):
        assert expected[0] == got[0], (datum, expected, got)
        if expected[0] == "value":
            assert strict(expected[1], got[1]), (datum, expected, got)
        else:
            assert expected[1] == got[1], (datum, expected, got)
    return len(inputs)


def native_everywhere(document, *names):
    compiled = compile_document(document)
    for name in names:
        assert lookup(name) is not None, name
        assert name not in compiled.delegated, name


def array_of(item_type):
    return {"type": "array", "items": item_type}


def doc(input_type, output_type, action, **extra):
    return {"input": input_type, "output": output_type, "action": action, **extra}


def record(**fields):
    return {"type": "record", "name": "In", "fields": [{"name": k, "type": v} for k, v in fields.items()]}


def doubles(n=120, pool=DOUBLE_POOL, max_len=7):
    out = [[], [NAN], [NAN, NAN], [-0.0, 0.0], [0.0, -0.0], [1.0, NAN, 2.0], [NAN, 1.0], [INF, NAN, -INF],
           [1.0, 1.0, 2.0, 2.0], [3.0, -1.0, 3.0], [1e308, 1e308], [-INF, INF]]
    for _ in range(n):
        out.append([rng.choice(pool) if rng.random() < 0.6 else rng.uniform(-10, 10)
                    for _ in range(rng.randint(0, max_len))])
    return out


def ints(n=120, pool=INT_POOL, max_len=7):
    out = [[], [INT_MAX, 1], [INT_MIN, -1], [INT_MAX, INT_MIN], [2, 2, 1, 1]]
    for _ in range(n):
        out.append([rng.choice(pool) if rng.random() < 0.4 else rng.randint(-5, 5)
                    for _ in range(rng.randint(0, max_len))])
    return out


def longs(n=80):
    return [[], [LONG_MAX, 1], [LONG_MIN, -1]] + [
        [rng.choice(LONG_POOL) for _ in range(rng.randint(0, 6))] for _ in range(n)]


def strings(n=80):
    return [[], ["b", "a", "b"]] + [[rng.choice(STRING_POOL) for _ in range(rng.randint(0, 6))] for _ in range(n)]


FCN_DOUBLE = {"params": [{"x": "double"}], "ret": "double", "do": {"*": ["x", 2]}}
IS_POSITIVE = {"params": [{"x": "double"}], "ret": "boolean", "do": {">": ["x", 0]}}
LESS = {"params": [{"x": "double"}, {"y": "double"}], "ret": "boolean", "do": {"<": ["x", "y"]}}

# ------------------------------------------------------------------ extreme values


@pytest.mark.parametrize("name", ["a.max", "a.min", "a.argmax", "a.argmin"])
@pytest.mark.parametrize("item_type,data", [("double", doubles()), ("float", doubles()), ("int", ints()),
                                            ("long", longs()), ("string", strings())])
def test_extremes(name, item_type, data):
    out = "int" if "arg" in name else item_type
    document = doc(array_of(item_type), out, [{name: ["input"]}])
    native_everywhere(document, name)
    agree(document, data)


@pytest.mark.parametrize("name", ["a.maxN", "a.minN", "a.argmaxN", "a.argminN"])
@pytest.mark.parametrize("item_type,data", [("double", doubles()), ("float", doubles()), ("int", ints()),
                                            ("string", strings())])
def test_extremes_n(name, item_type, data):
    out = array_of("int" if "arg" in name else item_type)
    document = doc(record(a=array_of(item_type), n="int"), out, [{name: ["input.a", "input.n"]}])
    native_everywhere(document, name)
    agree(document, [{"a": a, "n": n} for a in data for n in (-1, 0, 1, 2, 3, 10)])


def test_extremes_of_records_and_enums():
    item = {"type": "record", "name": "P", "fields": [{"name": "x", "type": "double"},
                                                      {"name": "s", "type": "string", "order": "descending"}]}
    for name in ("a.max", "a.min", "a.argmax", "a.argmin", "a.sort", "a.median", "a.mode"):
        out = "int" if "arg" in name else (array_of("P") if name == "a.sort" else "P")
        document = doc(array_of(item), out, [{name: ["input"]}])
        data = [[{"x": rng.choice([1.0, 2.0, NAN, -0.0]), "s": rng.choice("abc")} for _ in range(rng.randint(0, 5))]
                for _ in range(60)]
        agree(document, data)
    enum = {"type": "enum", "name": "E", "symbols": ["z", "y", "x"]}
    for name in ("a.max", "a.argminN", "a.sort"):
        out = {"a.max": "E", "a.argminN": array_of("int"), "a.sort": array_of("E")}[name]
        args = ["input", 2] if name == "a.argminN" else ["input"]
        document = doc(array_of(enum), out, [{name: args}])
        agree(document, [[rng.choice("zyx") for _ in range(rng.randint(0, 5))] for _ in range(60)])


def counting_lt(item_type="double"):
    """A lessThan that counts its calls in a cell: titus's exact calling pattern is part of the answer."""
    return {"params": [{"x": item_type}, {"y": item_type}], "ret": "boolean",
            "do": [{"cell": "calls", "to": {"params": [{"c": "int"}], "ret": "int", "do": {"+": ["c", 1]}}},
                   {"<": ["x", "y"]}]}


@pytest.mark.parametrize("name,with_n", [("a.maxLT", False), ("a.minLT", False), ("a.argmaxLT", False),
                                         ("a.argminLT", False), ("a.maxNLT", True), ("a.minNLT", True),
                                         ("a.argmaxNLT", True), ("a.argminNLT", True), ("a.sortLT", False)])
def test_extremes_by_less_than(name, with_n):
    result = "int" if name in ("a.argmaxLT", "a.argminLT") else "double"
    if with_n or name == "a.sortLT":
        result = array_of("int" if "arg" in name else "double")
    out = {"type": "record", "name": "Out", "fields": [{"name": "r", "type": result}, {"name": "calls", "type": "int"}]}
    args = ["input.a", "input.n", counting_lt()] if with_n else ["input.a", counting_lt()]
    document = doc(record(a=array_of("double"), n="int"), out,
                   [{"let": {"r": {name: args}}}, {"new": {"r": "r", "calls": {"cell": "calls"}}, "type": "Out"}],
                   cells={"calls": {"type": "int", "init": 0}})
    native_everywhere(document, name)
    agree(document, [{"a": a, "n": n} for a in doubles(50) for n in (-1, 0, 1, 3)])


# ------------------------------------------------------------------ numerical


@pytest.mark.parametrize("item_type,data", [("int", ints()), ("long", longs()), ("double", doubles(300, max_len=12)),
                                            ("float", doubles())])
def test_sum_and_product(item_type, data):
    for name in ("a.sum", "a.product"):
        document = doc(array_of(item_type), item_type, [{name: ["input"]}])
        native_everywhere(document, name)
        agree(document, data + [[INT_MAX] * 3, [LONG_MAX, LONG_MAX], [LONG_MIN, -1], [2**20, 2**20, 2**30]])


@pytest.mark.parametrize("name", ["a.mean", "a.lnsum", "a.geomean", "a.logsumexp", "a.median", "a.mode"])
def test_double_statistics(name):
    document = doc(array_of("double"), "double", [{name: ["input"]}])
    native_everywhere(document, name)
    wide = [[rng.gauss(0, 100) for _ in range(rng.randint(1, 30))] for _ in range(50)]
    agree(document, doubles(300) + wide + [[0.1] * 10, [1e308, 1e308, -1e308], [-0.0], [-0.0, -0.0], [-0.0, 0.0, 0.0]])


@pytest.mark.parametrize("item_type,data", [("int", ints()), ("long", longs()), ("string", strings()),
                                            ("float", doubles())])
def test_median_and_mode_of_other_types(item_type, data):
    for name in ("a.median", "a.mode"):
        document = doc(array_of(item_type), item_type, [{name: ["input"]}])
        native_everywhere(document, name)
        agree(document, data)


@pytest.mark.parametrize("item_type,data", [("double", doubles()), ("int", ints()), ("string", strings())])
def test_ntile(item_type, data):
    document = doc(record(a=array_of(item_type), p="double"), item_type, [{"a.ntile": ["input.a", "input.p"]}])
    native_everywhere(document, "a.ntile")
    agree(document, [{"a": a, "p": p} for a in data for p in (NAN, -1.0, 0.0, 0.25, 0.5, 0.7, 1.0, 2.0, 1 / 3)])


# ------------------------------------------------------------------ access, search, manipulation


def test_access():
    for name, out in (("a.len", "int"), ("a.head", "double"), ("a.tail", array_of("double")),
                      ("a.last", "double"), ("a.init", array_of("double")), ("a.reverse", array_of("double")),
                      ("a.sort", array_of("double")), ("a.distinct", array_of("double"))):
        document = doc(array_of("double"), out, [{name: ["input"]}])
        native_everywhere(document, name)
        agree(document, doubles())
    for item_type, data in (("int", ints()), ("string", strings()), ("float", doubles())):
        document = doc(array_of(item_type), array_of(item_type), [{"a.sort": ["input"]}])
        agree(document, data)


INDEXES = [-10, -3, -1, 0, 1, 2, 5, INT_MAX, INT_MIN]


@pytest.mark.parametrize("name,args", [("a.subseq", ["input.a", "input.i", "input.j"]),
                                       ("a.subseqto", ["input.a", "input.i", "input.j", "input.b"]),
                                       ("a.remove", ["input.a", "input.i", "input.j"]),
                                       ("a.remove", ["input.a", "input.i"]),
                                       ("a.insert", ["input.a", "input.i", "input.x"]),
                                       ("a.replace", ["input.a", "input.i", "input.x"]),
                                       ("a.cycle", ["input.a", "input.x", "input.i"]),
                                       ("a.rotate", ["input.a", "input.i"]),
                                       ("a.concat", ["input.a", "input.b"]),
                                       ("a.append", ["input.a", "input.x"])])
def test_manipulation(name, args):
    document = doc(record(a=array_of("int"), b=array_of("int"), i="int", j="int", x="int"), array_of("int"),
                   [{name: args}])
    native_everywhere(document, name)
    data = [{"a": a, "b": b, "i": i, "j": j, "x": 9} for a in ([], [1], [1, 2, 3], [1, 2, 3, 4, 5])
            for b in ([], [7, 8]) for i in INDEXES for j in INDEXES[::2]]
    agree(document, data)


@pytest.mark.parametrize("name", ["a.contains", "a.count", "a.index", "a.rindex", "a.startswith", "a.endswith"])
def test_search(name):
    out = "boolean" if name in ("a.contains", "a.startswith", "a.endswith") else "int"
    items = [[], [1.0], [1.0, 2.0], [2.0, 1.0, 2.0, 1.0], [NAN], [1.0, NAN, 1.0], [-0.0, 0.0]]
    for needle_type, needles in (("double", [1.0, 2.0, -0.0, NAN, 3.0]),
                                 (array_of("double"), [[], [1.0], [1.0, 2.0], [2.0, 1.0], [NAN], [0.0]])):
        document = doc(record(a=array_of("double"), x=needle_type), out, [{name: ["input.a", "input.x"]}])
        native_everywhere(document, name)
        agree(document, [{"a": a, "x": x} for a in items for x in needles])
    if name not in ("a.startswith", "a.endswith"):
        document = doc(array_of("double"), out, [{name: ["input", IS_POSITIVE]}])
        native_everywhere(document, name)
        agree(document, doubles())
    # nested arrays: a list needle is a subsequence even where titus typed it as one item
    document = doc(record(a=array_of(array_of("int")), x=array_of("int")), out, [{name: ["input.a", "input.x"]}])
    agree(document, [{"a": a, "x": x} for a in ([], [[1], [2]], [[1, 2]], [[1, 2], [1, 2]]) for x in ([], [1, 2], [2])])


@pytest.mark.parametrize("name", ["a.seteq", "a.union", "a.intersection", "a.diff", "a.symdiff", "a.subset",
                                  "a.disjoint"])
def test_sets(name):
    out = "boolean" if name in ("a.seteq", "a.subset", "a.disjoint") else None
    for item_type, data in (("double", doubles(40, max_len=4)), ("string", strings(40)), ("int", ints(40))):
        document = doc(record(a=array_of(item_type), b=array_of(item_type)), out or array_of(item_type),
                       [{name: ["input.a", "input.b"]}])
        native_everywhere(document, name)
        agree(document, [{"a": a, "b": b} for a in data[:25] for b in data[-25:]])
    pair = {"type": "array", "items": {"type": "record", "name": "P", "fields": [{"name": "v", "type": "int"}]}}
    document = doc(record(a=pair, b=array_of("P")), out or array_of("P"), [{name: ["input.a", "input.b"]}])
    values = [[{"v": rng.randint(0, 3)} for _ in range(rng.randint(0, 4))] for _ in range(15)]
    agree(document, [{"a": a, "b": b} for a in values for b in values])


# ------------------------------------------------------------------ functional programming


def test_map_filter_and_friends():
    with_index = {"params": [{"i": "int"}, {"x": "double"}], "ret": "double", "do": {"+": ["i", "x"]}}
    index_positive = {"params": [{"i": "int"}, {"x": "double"}], "ret": "boolean", "do": {">": [{"+": ["i", "x"]}, 1]}}
    to_array = {"params": [{"x": "double"}], "ret": array_of("double"),
                "do": {"new": ["x", "x"], "type": array_of("double")}}
    to_array_i = {"params": [{"i": "int"}, {"x": "double"}], "ret": array_of("double"),
                  "do": {"new": ["x", "i"], "type": array_of("double")}}
    cases = [("a.map", FCN_DOUBLE, array_of("double")), ("a.mapWithIndex", with_index, array_of("double")),
             ("a.filter", IS_POSITIVE, array_of("double")), ("a.filterWithIndex", index_positive, array_of("double")),
             ("a.flatMap", to_array, array_of("double")), ("a.flatMapWithIndex", to_array_i, array_of("double")),
             ("a.takeWhile", IS_POSITIVE, array_of("double")), ("a.dropWhile", IS_POSITIVE, array_of("double")),
             ("a.any", IS_POSITIVE, "boolean"), ("a.all", IS_POSITIVE, "boolean"),
             ("a.count", IS_POSITIVE, "int"), ("a.index", IS_POSITIVE, "int")]
    for name, fcn, out in cases:
        document = doc(array_of("double"), out, [{name: ["input", fcn]}])
        native_everywhere(document, name)
        agree(document, doubles())


def test_callback_errors_and_order():
    """A callback that fails on some element: the same element fails first in both engines."""
    failing = {"params": [{"x": "int"}], "ret": "int", "do": {"+": ["x", INT_MAX]}}  # int overflow for x > 0
    failing_bool = {"params": [{"x": "int"}], "ret": "boolean", "do": {"==": [{"//": [1, "x"]}, 0]}}
    for name, fcn, out in (("a.map", failing, array_of("int")), ("a.any", failing_bool, "boolean"),
                           ("a.all", failing_bool, "boolean"), ("a.filter", failing_bool, array_of("int"))):
        document = doc(array_of("int"), out, [{name: ["input", fcn]}])
        agree(document, ints(60, pool=[0, 1, -1, 2, 5]))


def test_fold_and_reduce():
    concat = {"params": [{"acc": "string"}, {"x": "int"}], "ret": "string",
              "do": {"s.concat": ["acc", {"s.int": "x"}]}}
    concat_right = {"params": [{"x": "int"}, {"acc": "string"}], "ret": "string",
                    "do": {"s.concat": ["acc", {"s.int": "x"}]}}
    minus = {"params": [{"a": "int"}, {"b": "int"}], "ret": "int", "do": {"-": ["a", "b"]}}
    data = ints(80, pool=[0, 1, 2, 3, INT_MAX, INT_MIN])
    for name, args, out in (("a.fold", ["input", {"string": "<"}, concat], "string"),
                            ("a.foldRight", ["input", {"string": ">"}, concat_right], "string"),
                            ("a.reduce", ["input", minus], "int"), ("a.reduceRight", ["input", minus], "int")):
        document = doc(array_of("int"), out, [{name: args}])
        native_everywhere(document, name)
        agree(document, data)
    sum_fold = {"params": [{"acc": "double"}, {"x": "double"}], "ret": "double", "do": {"+": ["acc", "x"]}}
    document = doc(array_of("double"), "double", [{"a.fold": ["input", 0.0, sum_fold]}])
    agree(document, doubles())


def test_zipmap_and_corresponds():
    add2 = {"params": [{"x": "double"}, {"y": "int"}], "ret": "double", "do": {"+": ["x", "y"]}}
    add3 = {"params": [{"x": "double"}, {"y": "int"}, {"z": "double"}], "ret": "double",
            "do": {"+": [{"+": ["x", "y"]}, "z"]}}
    add4 = {"params": [{"x": "double"}, {"y": "int"}, {"z": "double"}, {"w": "int"}], "ret": "double",
            "do": {"-": [{"+": [{"+": ["x", "y"]}, "z"]}, "w"]}}
    add2i = {"params": [{"i": "int"}, {"x": "double"}, {"y": "int"}], "ret": "double",
             "do": {"+": [{"*": ["i", "x"]}, "y"]}}
    add3i = {"params": [{"i": "int"}, {"x": "double"}, {"y": "int"}, {"z": "double"}], "ret": "double",
             "do": {"+": [{"*": ["i", "x"]}, "z"]}}
    close = {"params": [{"x": "double"}, {"y": "int"}], "ret": "boolean", "do": {"<=": ["x", "y"]}}
    close_i = {"params": [{"i": "int"}, {"x": "double"}, {"y": "int"}], "ret": "boolean",
               "do": {"<=": [{"-": ["x", "i"]}, "y"]}}
    in_type = record(a=array_of("double"), b=array_of("int"), c=array_of("double"), d=array_of("int"))
    cases = [("a.zipmap", ["input.a", "input.b", add2], array_of("double")),
             ("a.zipmap", ["input.a", "input.b", "input.c", add3], array_of("double")),
             ("a.zipmap", ["input.a", "input.b", "input.c", "input.d", add4], array_of("double")),
             ("a.zipmapWithIndex", ["input.a", "input.b", add2i], array_of("double")),
             ("a.zipmapWithIndex", ["input.a", "input.b", "input.c", add3i], array_of("double")),
             ("a.corresponds", ["input.a", "input.b", close], "boolean"),
             ("a.correspondsWithIndex", ["input.a", "input.b", close_i], "boolean")]
    lengths = [0, 1, 2, 3]
    data = []
    for _ in range(150):
        la, lb, lc, ld = (rng.choice(lengths) for _ in range(4))
        if rng.random() < 0.6:
            lb = lc = ld = la
        data.append({"a": [rng.choice(DOUBLE_POOL) for _ in range(la)], "b": [rng.randint(-3, 3) for _ in range(lb)],
                     "c": [rng.choice(DOUBLE_POOL) for _ in range(lc)], "d": [rng.randint(-3, 3) for _ in range(ld)]})
    for name, args, out in cases:
        document = doc(in_type, out, [{name: args}])
        native_everywhere(document, name)
        agree(document, data)


def test_groupby_flatten_filter_map():
    key = {"params": [{"x": "string"}], "ret": "string", "do": {"s.substr": ["x", 0, 1]}}
    document = doc(array_of("string"), {"type": "map", "values": array_of("string")}, [{"a.groupby": ["input", key]}])
    native_everywhere(document, "a.groupby")
    agree(document, [[rng.choice(["ab", "ac", "b", "", "bb", "é", "日本"]) for _ in range(rng.randint(0, 6))]
                     for _ in range(80)])
    document = doc(array_of(array_of("int")), array_of("int"), [{"a.flatten": ["input"]}])
    native_everywhere(document, "a.flatten")
    agree(document, [[], [[]], [[1], [], [2, 3]], [[1, 2], [3]]])
    maybe = {"params": [{"x": "int"}], "ret": ["null", "int"],
             "do": {"if": {">": ["x", 0]}, "then": {"*": ["x", 10]}, "else": None}}
    maybe_i = {"params": [{"i": "int"}, {"x": "int"}], "ret": ["int", "null"],
               "do": {"if": {">": ["x", "i"]}, "then": "i", "else": None}}
    for name, fcn in (("a.filterMap", maybe), ("a.filterMapWithIndex", maybe_i)):
        document = doc(array_of("int"), array_of("int"), [{name: ["input", fcn]}])
        native_everywhere(document, name)
        agree(document, ints(60, pool=[0, 1, -1, 3]))


def test_filter_map_untags_like_titus():
    """titus unwraps a one-entry map whose key names a result type (here a map named 'map'? no: a record)."""
    rec = {"type": "record", "name": "R", "fields": [{"name": "R", "type": "int"}]}
    fcn = {"params": [{"x": "int"}], "ret": ["null", rec],
           "do": {"if": {">": ["x", 0]}, "then": {"new": {"R": "x"}, "type": "R"}, "else": None}}
    document = doc(array_of("int"), array_of("R"), [{"a.filterMap": ["input", fcn]}])
    outs = outcomes(document, [[1, 0, 2]])
    assert strict(outs[0][0], outs[0][1])


def test_every_name_is_native():
    from titus.lib import array as titus_array

    left_to_titus = {"a.shuffle", "a.combinations", "a.permutations", "a.slidingWindow"}
    for name in titus_array.provides:
        assert (lookup(name) is None) == (name in left_to_titus), name


def test_function_references():
    """Callbacks given as references to user and library functions, and with some arguments filled."""
    user = {"twice": {"params": [{"x": "double"}], "ret": "double", "do": {"*": ["x", 2]}},
            "scale": {"params": [{"k": "double"}, {"x": "double"}], "ret": "double", "do": {"*": ["k", "x"]}}}
    for fcn in ({"fcn": "u.twice"}, {"fcn": "m.sqrt"}, {"fcn": "u.scale", "fill": {"k": 3.0}}):
        out = array_of("double")
        document = doc(array_of("double"), out, [{"a.map": ["input", fcn]}], fcns=user)
        agree(document, doubles())
    document = doc(array_of("double"), array_of("double"), [{"a.sortLT": ["input", {"fcn": "u.lt"}]}],
                   fcns={"lt": LESS})
    agree(document, doubles())
