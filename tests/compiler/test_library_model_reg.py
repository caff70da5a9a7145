"""model.reg.linear and linearVariance: the compiled engine against titus, on exported and hand-made models."""

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from chalicelib.compiler.library import lookup
from pfactl.export import to_pfa
from tests.compiler.differential import assert_agree

ROOT = Path(__file__).resolve().parents[2]
NAN, INF = float("nan"), float("inf")
rng = random.Random(3)
VEC = {"type": "array", "items": "double"}
MVEC = {"type": "map", "values": "double"}


def test_every_name_is_native():
    assert lookup("model.reg.linear") is not None
    assert lookup("model.reg.linearVariance") is not None


def _sonar():
    frame = pd.read_csv(ROOT / "tests" / "data" / "sonar.csv")
    return frame.drop(columns="Class"), frame["Class"]


def _records(document, rows):
    fields = [field["name"] for field in document["input"]["fields"]]
    return [dict(zip(fields, map(float, row), strict=True)) for row in rows]


@pytest.mark.parametrize("output", ["label", "proba"])
def test_exported_logistic_regression(output):
    features, target = _sonar()
    document = to_pfa(LogisticRegression(max_iter=2000).fit(features, target), output=output)
    assert_agree(document, _records(document, features.to_numpy().tolist()))


def test_exported_linear_regression():
    features, target = _sonar()
    document = to_pfa(LinearRegression().fit(features, features["V60"] * 3 + (target == "M")))
    assert_agree(document, _records(document, features.to_numpy().tolist()))


def test_example_documents():
    for name in ("logistic_regression", "softmax_regression"):
        document = json.loads((ROOT / "tests" / "pfa" / f"{name}.pfa.json").read_text())
        if document["input"] == MVEC:
            inputs = [{k: rng.uniform(-3, 3) for k in rng.sample(["tenure_years", "support_calls", "x"], 2)}
                      for _ in range(100)] + [{}]
        else:
            inputs = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(100)] + [[1.0], []]
        assert_agree(document, inputs)


def _model_document(coeff_type, const_type, datum_type, output, init, function="model.reg.linear", field="coeff"):
    fields = [{"name": field, "type": coeff_type}] + ([{"name": "const", "type": const_type}] if const_type else [])
    return {"input": datum_type, "output": output,
            "cells": {"model": {"type": {"type": "record", "name": "M", "fields": fields}, "init": init}},
            "action": {function: ["input", {"cell": "model"}]}}


def _vector(n):
    return [rng.choice([NAN, INF, -0.0, 1e308]) if rng.random() < 0.05 else rng.uniform(-5, 5) for _ in range(n)]


def test_linear_shapes():
    assert_agree(_model_document(VEC, "double", VEC, "double", {"coeff": _vector(5), "const": 0.5}),
                 [_vector(rng.choice([4, 5, 6])) for _ in range(100)] + [[]])
    assert_agree(_model_document({"type": "array", "items": VEC}, VEC, VEC, VEC,
                                 {"coeff": [_vector(4) for _ in range(3)], "const": _vector(3)}),
                 [_vector(rng.choice([3, 4])) for _ in range(100)] + [[]])
    matrix = {"type": "array", "items": VEC}
    assert_agree(_model_document(matrix, VEC, VEC, VEC, {"coeff": [[], []], "const": [1.0, 2.0]}), [[], [1.0]])
    assert_agree(_model_document({"type": "array", "items": VEC}, VEC, VEC, VEC, {"coeff": [[1.0]], "const": []}),
                 [[1.0]])
    keys = list("abcdefé")
    assert_agree(_model_document(MVEC, "double", MVEC, "double",
                                 {"coeff": {k: rng.uniform(-2, 2) for k in keys[:5]}, "const": -1.0}),
                 [{k: rng.uniform(-9, 9) for k in rng.sample(keys, rng.randint(0, 7))} for _ in range(150)])
    assert_agree(_model_document({"type": "map", "values": MVEC}, MVEC, MVEC, MVEC,
                                 {"coeff": {o: {k: rng.uniform(-2, 2) for k in rng.sample(keys, 4)} for o in "xyz"},
                                  "const": {"x": 1.0, "w": 2.0}}),
                 [{k: rng.uniform(-9, 9) for k in rng.sample(keys, rng.randint(0, 7))} for _ in range(150)])


def test_linear_variance():
    covar = [[rng.uniform(0, 1) for _ in range(4)] for _ in range(4)]
    assert_agree(_model_document({"type": "array", "items": VEC}, None, VEC, "double", {"covar": covar},
                                 "model.reg.linearVariance", "covar"),
                 [_vector(rng.choice([2, 3])) for _ in range(100)])
    assert_agree(_model_document({"type": "array", "items": {"type": "array", "items": VEC}}, None, VEC, VEC,
                                 {"covar": [covar, covar]}, "model.reg.linearVariance", "covar"),
                 [_vector(rng.choice([2, 3])) for _ in range(100)])
    keys = ["a", "b", ""]
    assert_agree(_model_document({"type": "map", "values": MVEC}, None, MVEC, "double",
                                 {"covar": {i: {j: rng.uniform(0, 1) for j in keys} for i in keys}},
                                 "model.reg.linearVariance", "covar"),
                 [{k: rng.uniform(-9, 9) for k in rng.sample(keys[:2], rng.randint(0, 2))} for _ in range(100)])
