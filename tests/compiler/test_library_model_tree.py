"""model.tree.*: the compiled engine against titus, on exported forests and on hand-made trees."""

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.tree import DecisionTreeRegressor

from chalicelib.compiler.library import lookup
from pfactl.export import to_pfa
from tests.compiler.differential import assert_agree, outcomes

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["simpleTest", "simpleWalk", "simpleTree", "missingTest", "missingWalk", "compoundTest", "surrogateTest"]
rng = random.Random(7)
NAN, INF = float("nan"), float("inf")


def test_every_name_is_native():
    for name in NAMES:
        assert lookup("model.tree." + name) is not None, name


def _sonar():
    frame = pd.read_csv(ROOT / "tests" / "data" / "sonar.csv")
    return frame.drop(columns="Class"), frame["Class"]


def _records(document, rows):
    fields = [field["name"] for field in document["input"]["fields"]]
    return [dict(zip(fields, map(float, row), strict=True)) for row in rows]


@pytest.mark.parametrize("output", ["label", "proba"])
def test_exported_random_forest(output):
    features, target = _sonar()
    forest = RandomForestClassifier(n_estimators=20, random_state=0).fit(features, target)
    document = to_pfa(forest, output=output)
    rows = features.to_numpy().tolist()
    edge = [[NAN] * 60, [INF] * 60, [-INF] * 60, [-0.0] * 60, [1e308] * 60]
    assert assert_agree(document, _records(document, rows + edge)) == len(rows) + len(edge)


def test_exported_regression_trees():
    features, target = _sonar()
    y = (target == "M").astype(float) + features["V1"]
    rows = features.to_numpy().tolist()
    estimators = (DecisionTreeRegressor(random_state=0), GradientBoostingRegressor(n_estimators=10, random_state=0))
    for estimator in estimators:
        document = to_pfa(estimator.fit(features, y))
        assert_agree(document, _records(document, rows))


def test_iris_simple_test_walk():
    document = json.loads((ROOT / "models" / "iris_decision_tree.pfa").read_text())
    fields = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    inputs = [{f: rng.uniform(0, 8) for f in fields} for _ in range(300)]
    inputs += [{f: v for f in fields} for v in (NAN, INF, -INF, 0.0, -0.0, 0.8, 1.75)]
    assert_agree(document, inputs)


DATUM = {"type": "record", "name": "Datum", "fields": [
    {"name": "x", "type": "double"}, {"name": "n", "type": "int"}, {"name": "s", "type": "string"},
    {"name": "m", "type": ["null", "double"]}]}
FIELD = {"type": "enum", "name": "Field", "symbols": ["x", "n", "s", "m"]}
OPERATORS = ["<=", "<", ">=", ">", "==", "!=", "in", "notIn", "alwaysTrue", "alwaysFalse", "isMissing",
             "notMissing", "~=", ""]


def _test_document(function, value_type, output):
    return {
        "input": {"type": "record", "name": "Input", "fields": [
            {"name": "d", "type": DATUM},
            {"name": "c", "type": {"type": "record", "name": "Comparison", "fields": [
                {"name": "field", "type": FIELD}, {"name": "operator", "type": "string"},
                {"name": "value", "type": value_type}]}}]},
        "output": output,
        "action": {function: ["input.d", "input.c"]},
    }


def _datum():
    return {"x": rng.choice([0.5, -1.0, 2.0, NAN, INF, -0.0, 3.0]), "n": rng.choice([0, 1, 3, -2147483648]),
            "s": rng.choice(["a", "b", "é", ""]), "m": rng.choice([None, 1.0, 3.0])}


@pytest.mark.parametrize("value_type,values", [
    ("double", [0.5, 3.0, -0.0, NAN, INF]),
    ("int", [0, 3, -1]),
    ("string", ["a", "b", "é"]),
    ({"type": "array", "items": "double"}, [[0.5, 3.0], [], [NAN]]),
    ({"type": "array", "items": "string"}, [["a"], []]),
    (["double", "string"], [0.5, "a", 3.0]),
])
@pytest.mark.parametrize("function,output", [("model.tree.simpleTest", "boolean"),
                                             ("model.tree.missingTest", ["null", "boolean"])])
def test_comparisons(function, output, value_type, values):
    document = _test_document(function, value_type, output)
    inputs = [{"d": _datum(), "c": {"field": field, "operator": op, "value": value}}
              for field in FIELD["symbols"] for op in OPERATORS for value in values]
    for titus_outcome, compiled_outcome in outcomes(document, inputs):
        if titus_outcome[0] == "python":  # titus fails on a mixed-type comparison: only its kind is compared
            assert compiled_outcome[0] == "python"
            continue
        assert titus_outcome == compiled_outcome or _same_nan(titus_outcome, compiled_outcome)


def _same_nan(a, b):
    return a[0] == b[0] == "value" and json.dumps(a[1]) == json.dumps(b[1])


NODE = {"type": "record", "name": "Node", "fields": [
    {"name": "field", "type": FIELD}, {"name": "operator", "type": "string"}, {"name": "value", "type": "double"},
    {"name": "pass", "type": ["Node", "string"]}, {"name": "fail", "type": ["Node", "string"]},
    {"name": "missing", "type": ["Node", "string"]}]}


def _leaf(depth):
    if depth == 0 or rng.random() < 0.2:
        return {"string": f"leaf{rng.randint(0, 9)}"}
    return {"Node": _node(depth - 1)}


def _node(depth):
    return {"field": rng.choice(["x", "n", "m"]), "operator": rng.choice(["<=", "<", ">", "==", "notMissing"]),
            "value": rng.choice([0.0, 1.0, 2.5]), "pass": _leaf(depth), "fail": _leaf(depth), "missing": _leaf(depth)}


def _walk_document(action):
    return {"input": DATUM, "output": "string", "cells": {"tree": {"type": NODE, "init": _node(6)}},
            "action": action}


def _datums(count=200):
    return [_datum() for _ in range(count)]


def test_simple_walk_with_inline_test():
    document = _walk_document({"model.tree.simpleWalk": ["input", {"cell": "tree"}, {
        "params": [{"d": "Datum"}, {"t": "Node"}], "ret": "boolean", "do": {"model.tree.simpleTest": ["d", "t"]}}]})
    assert_agree(document, _datums())


def test_simple_tree():
    assert_agree(_walk_document({"model.tree.simpleTree": ["input", {"cell": "tree"}]}), _datums())


def test_missing_walk():
    document = _walk_document({"model.tree.missingWalk": ["input", {"cell": "tree"}, {
        "params": [{"d": "Datum"}, {"t": "Node"}], "ret": ["null", "boolean"],
        "do": {"model.tree.missingTest": ["d", "t"]}}]})
    assert_agree(document, _datums())


def _combination_document(action, output="boolean"):
    comparison = {"type": "record", "name": "C", "fields": [
        {"name": "field", "type": FIELD}, {"name": "operator", "type": "string"}, {"name": "value", "type": "double"}]}
    return {"input": {"type": "record", "name": "Input", "fields": [
        {"name": "d", "type": DATUM}, {"name": "op", "type": "string"},
        {"name": "cs", "type": {"type": "array", "items": comparison}}]}, "output": output, "action": action}


def _combination_inputs():
    out = []
    for _ in range(150):
        cs = [{"field": rng.choice(["x", "n", "m"]), "operator": rng.choice(["<=", ">", "isMissing", "=="]),
               "value": rng.choice([0.0, 1.0, 2.0])} for _ in range(rng.randint(0, 4))]
        out.append({"d": _datum(), "op": rng.choice(["and", "or", "xor", "nand"]), "cs": cs})
    return out


def test_compound_test():
    document = _combination_document({"model.tree.compoundTest": ["input.d", "input.op", "input.cs", {
        "params": [{"d": "Datum"}, {"c": "C"}], "ret": "boolean", "do": {"model.tree.simpleTest": ["d", "c"]}}]})
    assert_agree(document, _combination_inputs())


def test_surrogate_test():
    document = _combination_document({"model.tree.surrogateTest": ["input.d", "input.cs", {
        "params": [{"d": "Datum"}, {"c": "C"}], "ret": ["null", "boolean"],
        "do": {"model.tree.missingTest": ["d", "c"]}}]})
    assert_agree(document, _combination_inputs())
