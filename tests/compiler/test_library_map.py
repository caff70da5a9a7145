"""map.* (titus's lib/map.py): documents scored by titus and by the compiled engine must agree.

Compared as in test_library_array: strictly, with map keys in order (titus's order is the insertion
order of the dicts it builds from).
"""

import random

import pytest

from chalicelib.compiler.library import lookup
from tests.compiler.test_library_array import (
    DOUBLE_POOL,
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    NAN,
    STRING_POOL,
    agree,
    array_of,
    doc,
    native_everywhere,
    record,
)

rng = random.Random(8675309)
KEYS = ["a", "b", "c", "ab", "", "é", "日本", "10", "9", "B"]


def map_of(value_type):
    return {"type": "map", "values": value_type}


def random_map(value, max_len=6):
    keys = rng.sample(KEYS, rng.randint(0, max_len))
    return {k: value() for k in keys}


def double_value():
    return rng.choice(DOUBLE_POOL) if rng.random() < 0.6 else float(rng.randint(-3, 3))


def int_value():
    return rng.choice([0, 1, -1, 2, 2, INT_MAX, INT_MIN])


def double_maps(n=150):
    return [{}, {"a": NAN}, {"b": 1.0, "a": 1.0}, {"a": 1.0, "b": 1.0}, {"b": NAN, "a": NAN, "c": 1.0},
            {"a": -0.0, "b": 0.0}, {"b": 0.0, "a": -0.0}] + [random_map(double_value) for _ in range(n)]


def int_maps(n=100):
    return [{}, {"b": 2, "a": 2}] + [random_map(int_value) for _ in range(n)]


def string_maps(n=100):
    return [{}] + [random_map(lambda: rng.choice(STRING_POOL)) for _ in range(n)]


# ------------------------------------------------------------------ basic access and manipulation


def test_access():
    for name, out in (("map.len", "int"), ("map.keys", array_of("string")), ("map.values", array_of("double")),
                      ("map.fromset", array_of("double")), ("map.split", array_of(map_of("double")))):
        document = doc(map_of("double"), out, [{name: ["input"]}])
        native_everywhere(document, name)
        agree(document, double_maps())


def test_contains():
    for name, x_type, xs in (("map.containsKey", "string", KEYS[:5] + ["zz"]),
                             ("map.containsValue", "double", [1.0, 0.0, -0.0, NAN, 2.5])):
        document = doc(record(m=map_of("double"), x=x_type), "boolean", [{name: ["input.m", "input.x"]}])
        native_everywhere(document, name)
        agree(document, [{"m": m, "x": x} for m in double_maps(40) for x in xs])
    key_fcn = {"params": [{"k": "string"}], "ret": "boolean", "do": {"==": [{"s.len": "k"}, 2]}}
    value_fcn = {"params": [{"v": "double"}], "ret": "boolean", "do": {">": ["v", 1]}}
    for name, fcn in (("map.containsKey", key_fcn), ("map.containsValue", value_fcn)):
        document = doc(map_of("double"), "boolean", [{name: ["input", fcn]}])
        native_everywhere(document, name)
        agree(document, double_maps())


def test_add_remove_only_except():
    in_type = record(m=map_of("int"), k="string", v="int", ks=array_of("string"))
    data = [{"m": m, "k": rng.choice(KEYS), "v": rng.randint(-5, 5), "ks": rng.sample(KEYS, rng.randint(0, 4))}
            for m in int_maps(150)]
    for name, args in (("map.add", ["input.m", "input.k", "input.v"]), ("map.remove", ["input.m", "input.k"]),
                       ("map.only", ["input.m", "input.ks"]), ("map.except", ["input.m", "input.ks"])):
        document = doc(in_type, map_of("int"), [{name: args}])
        native_everywhere(document, name)
        agree(document, data)


@pytest.mark.parametrize("name", ["map.update", "map.union", "map.intersection", "map.diff", "map.symdiff",
                                  "map.subset", "map.disjoint"])
def test_two_maps(name):
    out = "boolean" if name in ("map.subset", "map.disjoint") else map_of("int")
    document = doc(record(a=map_of("int"), b=map_of("int")), out, [{name: ["input.a", "input.b"]}])
    native_everywhere(document, name)
    maps = int_maps(30)
    agree(document, [{"a": a, "b": b} for a in maps for b in maps[::2]])


def test_join():
    document = doc(array_of(map_of("int")), map_of("int"), [{"map.join": ["input"]}])
    native_everywhere(document, "map.join")
    agree(document, [[rng.choice(int_maps(10)) for _ in range(rng.randint(0, 4))] for _ in range(80)])


# ------------------------------------------------------------------ sets keyed by the Avro encoding


@pytest.mark.parametrize("item_type,value", [
    ("string", lambda: rng.choice(STRING_POOL)),
    ("int", lambda: rng.choice([0, 1, -1, 63, 64, -64, -65, INT_MAX, INT_MIN])),
    ("long", lambda: rng.choice([0, 300, -300, LONG_MAX, LONG_MIN, 2**40])), ("double", double_value),
    ("boolean", lambda: rng.random() < 0.5), ("float", lambda: rng.choice([0.0, 1.5, -2.25, NAN])),
    ({"type": "record", "name": "P", "fields": [{"name": "x", "type": "int"}, {"name": "s", "type": "string"}]},
     lambda: {"x": rng.randint(-2, 2), "s": rng.choice(["a", "é"])}),
    (array_of("double"), lambda: [double_value() for _ in range(rng.randint(0, 2))])])
def test_sets_of_items(item_type, value):
    item_name = item_type if isinstance(item_type, str) else ("P" if item_type.get("type") == "record" else item_type)
    data = [{"a": [value() for _ in range(rng.randint(0, 5))], "x": value()} for _ in range(100)]
    document = doc(record(a=array_of(item_type), x=item_name), map_of(item_name), [{"map.toset": ["input.a"]}])
    native_everywhere(document, "map.toset")
    agree(document, data)
    document = doc(record(a=array_of(item_type), x=item_name), "boolean",
                   [{"map.in": [{"map.toset": ["input.a"]}, "input.x"]}])
    native_everywhere(document, "map.in")
    agree(document, data)
    document = doc(record(a=array_of(item_type), x=item_name), map_of(item_name),
                   [{"map.add": [{"map.toset": ["input.a"]}, "input.x"]}])
    native_everywhere(document, "map.add")
    agree(document, data)


# ------------------------------------------------------------------ min/max


@pytest.mark.parametrize("name", ["map.argmax", "map.argmin", "map.argmaxN", "map.argminN"])
@pytest.mark.parametrize("value_type,data", [("double", double_maps()), ("float", double_maps()), ("int", int_maps()),
                                             ("string", string_maps())])
def test_arg_extremes(name, value_type, data):
    if name.endswith("N"):
        document = doc(record(m=map_of(value_type), n="int"), array_of("string"), [{name: ["input.m", "input.n"]}])
        inputs = [{"m": m, "n": n} for m in data for n in (-1, 0, 1, 2, 4, 20)]
    else:
        document = doc(map_of(value_type), "string", [{name: ["input"]}])
        inputs = data
    native_everywhere(document, name)
    agree(document, inputs)


def counting_lt(value_type="double"):
    return {"params": [{"x": value_type}, {"y": value_type}], "ret": "boolean",
            "do": [{"cell": "calls", "to": {"params": [{"c": "int"}], "ret": "int", "do": {"+": ["c", 1]}}},
                   {"<": ["x", "y"]}]}


@pytest.mark.parametrize("name", ["map.argmaxLT", "map.argminLT", "map.argmaxNLT", "map.argminNLT"])
def test_arg_extremes_by_less_than(name):
    with_n = "NLT" in name
    result = array_of("string") if with_n else "string"
    out = {"type": "record", "name": "Out", "fields": [{"name": "r", "type": result}, {"name": "calls", "type": "int"}]}
    args = ["input.m", "input.n", counting_lt()] if with_n else ["input.m", counting_lt()]
    document = doc(record(m=map_of("double"), n="int"), out,
                   [{"let": {"r": {name: args}}}, {"new": {"r": "r", "calls": {"cell": "calls"}}, "type": "Out"}],
                   cells={"calls": {"type": "int", "init": 0}})
    native_everywhere(document, name)
    agree(document, [{"m": m, "n": n} for m in double_maps(60) for n in (-1, 0, 1, 3)])


def test_arg_extremes_of_records():
    value = {"type": "record", "name": "V", "fields": [{"name": "x", "type": "double"},
                                                       {"name": "s", "type": "string", "order": "descending"}]}
    data = [random_map(lambda: {"x": rng.choice([1.0, NAN, -0.0, 0.0]), "s": rng.choice("ab")}) for _ in range(80)]
    for name in ("map.argmax", "map.argmin"):
        agree(doc(map_of(value), "string", [{name: ["input"]}]), data)
    for name in ("map.argmaxN", "map.argminN"):
        agree(doc(map_of(value), array_of("string"), [{name: ["input", 2]}]), data)


# ------------------------------------------------------------------ functional programming


def test_map_filter_and_friends():
    double = {"params": [{"v": "double"}], "ret": "double", "do": {"*": ["v", 2]}}
    with_key = {"params": [{"k": "string"}, {"v": "double"}], "ret": "double", "do": {"+": [{"s.len": "k"}, "v"]}}
    positive = {"params": [{"v": "double"}], "ret": "boolean", "do": {">": ["v", 0]}}
    key_positive = {"params": [{"k": "string"}, {"v": "double"}], "ret": "boolean",
                    "do": {"&&": [{">": ["v", 0]}, {"<": [{"s.len": "k"}, 2]}]}}
    spread = {"params": [{"v": "double"}], "ret": map_of("double"),
              "do": {"new": {"x": "v", "y": {"u-": "v"}}, "type": map_of("double")}}
    spread_key = {"params": [{"k": "string"}, {"v": "double"}], "ret": map_of("double"),
                  "do": {"map.add": [{"new": {"x": "v"}, "type": map_of("double")}, "k", 1.0]}}
    maybe = {"params": [{"v": "double"}], "ret": ["null", "double"],
             "do": {"if": {">": ["v", 0]}, "then": {"+": ["v", 1]}, "else": None}}
    maybe_key = {"params": [{"k": "string"}, {"v": "double"}], "ret": ["string", "null"],
                 "do": {"if": {">": ["v", 0]}, "then": "k", "else": None}}
    cases = [("map.map", double, map_of("double")), ("map.mapWithKey", with_key, map_of("double")),
             ("map.filter", positive, map_of("double")), ("map.filterWithKey", key_positive, map_of("double")),
             ("map.flatMap", spread, map_of("double")), ("map.flatMapWithKey", spread_key, map_of("double")),
             ("map.filterMap", maybe, map_of("double")), ("map.filterMapWithKey", maybe_key, map_of("string"))]
    for name, fcn, out in cases:
        document = doc(map_of("double"), out, [{name: ["input", fcn]}])
        native_everywhere(document, name)
        agree(document, double_maps())


def test_zipmap_and_corresponds():
    add2 = {"params": [{"x": "double"}, {"y": "int"}], "ret": "double", "do": {"+": ["x", "y"]}}
    add3 = {"params": [{"x": "double"}, {"y": "int"}, {"z": "double"}], "ret": "double",
            "do": {"+": [{"+": ["x", "y"]}, "z"]}}
    add4 = {"params": [{"x": "double"}, {"y": "int"}, {"z": "double"}, {"w": "int"}], "ret": "double",
            "do": {"-": [{"+": [{"+": ["x", "y"]}, "z"]}, "w"]}}
    add2k = {"params": [{"k": "string"}, {"x": "double"}, {"y": "int"}], "ret": "string",
             "do": {"s.concat": ["k", {"s.int": "y"}]}}
    add3k = {"params": [{"k": "string"}, {"x": "double"}, {"y": "int"}, {"z": "double"}], "ret": "double",
             "do": {"+": [{"s.len": "k"}, "z"]}}
    close = {"params": [{"x": "double"}, {"y": "int"}], "ret": "boolean", "do": {"<=": ["x", "y"]}}
    close_k = {"params": [{"k": "string"}, {"x": "double"}, {"y": "int"}], "ret": "boolean",
               "do": {"<=": [{"-": ["x", {"s.len": "k"}]}, "y"]}}
    in_type = record(a=map_of("double"), b=map_of("int"), c=map_of("double"), d=map_of("int"))
    cases = [("map.zipmap", ["input.a", "input.b", add2], map_of("double")),
             ("map.zipmap", ["input.a", "input.b", "input.c", add3], map_of("double")),
             ("map.zipmap", ["input.a", "input.b", "input.c", "input.d", add4], map_of("double")),
             ("map.zipmapWithKey", ["input.a", "input.b", add2k], map_of("string")),
             ("map.zipmapWithKey", ["input.a", "input.b", "input.c", add3k], map_of("double")),
             ("map.corresponds", ["input.a", "input.b", close], "boolean"),
             ("map.correspondsWithKey", ["input.a", "input.b", close_k], "boolean")]
    data = []
    for _ in range(200):
        keys = rng.sample(KEYS[:4], rng.randint(0, 3))
        others = []
        for _ in range(3):
            choice = rng.random()
            if choice < 0.5:
                others.append(list(keys))  # the same keys in the same order
            elif choice < 0.75:
                others.append(rng.sample(keys, len(keys)))  # the same keys, maybe reordered: titus says misaligned
            else:
                others.append(rng.sample(KEYS[:4], rng.randint(0, 3)))
        data.append({"a": {k: double_value() for k in keys}, "b": {k: rng.randint(-3, 3) for k in others[0]},
                     "c": {k: double_value() for k in others[1]}, "d": {k: rng.randint(-3, 3) for k in others[2]}})
    for name, args, out in cases:
        document = doc(in_type, out, [{name: args}])
        native_everywhere(document, name)
        agree(document, data)


def test_every_name_is_native():
    from titus.lib import map as titus_map

    for name in titus_map.provides:
        assert lookup(name) is not None, name
