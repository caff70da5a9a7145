"""model.naive.*: the compiled engine against titus (exported GaussianNB included)."""

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from sklearn.naive_bayes import GaussianNB

from chalicelib.compiler.library import lookup
from pfactl.export import to_pfa
from tests.compiler.differential import assert_agree

ROOT = Path(__file__).resolve().parents[2]
NAN, INF = float("nan"), float("inf")
rng = random.Random(19)
VEC = {"type": "array", "items": "double"}
MVEC = {"type": "map", "values": "double"}
STATS = {"type": "record", "name": "S", "fields": [{"name": "mean", "type": "double"},
                                                   {"name": "variance", "type": "double"}]}


def test_every_name_is_native():
    for name in ("gaussian", "multinomial", "bernoulli"):
        assert lookup("model.naive." + name) is not None, name


@pytest.mark.parametrize("output", ["label", "proba"])
def test_exported_gaussian_nb(output):
    frame = pd.read_csv(ROOT / "tests" / "data" / "sonar.csv")
    features, target = frame.drop(columns="Class"), frame["Class"]
    document = to_pfa(GaussianNB().fit(features, target), output=output)
    fields = [field["name"] for field in document["input"]["fields"]]
    rows = [dict(zip(fields, map(float, row), strict=True)) for row in features.to_numpy().tolist()]
    assert_agree(document, rows)


def test_naive_bayes_example():
    document = json.loads((ROOT / "tests" / "pfa" / "naive_bayes.pfa.json").read_text())
    inputs = [{"length": rng.uniform(0, 8), "width": rng.uniform(0, 3)} for _ in range(100)] + [{}, {"length": 1.0}]
    assert_agree(document, inputs)


def _number():
    return rng.choice([0.0, -0.0, NAN, INF, 1e200]) if rng.random() < 0.1 else rng.uniform(-3, 3)


def _document(types, action):
    fields = [{"name": f"a{i}", "type": t} for i, t in enumerate(types)]
    return {"input": {"type": "record", "name": "Input", "fields": fields}, "output": "double", "action": action}


def test_gaussian_shapes():
    stats = lambda: {"mean": _number(), "variance": rng.choice([1.0, 0.5, 0.0, -1.0, 2.0, 2.0, 2.0])}  # noqa: E731
    inputs = [{"a0": [_number() for _ in range(rng.choice([2, 3]))],
               "a1": [stats() for _ in range(rng.choice([2, 3]))]} for _ in range(300)]
    action = {"model.naive.gaussian": ["input.a0", "input.a1"]}
    assert_agree(_document([VEC, {"type": "array", "items": STATS}], action), inputs)
    keys = ["a", "b", "c"]
    inputs = [{"a0": {k: _number() for k in rng.sample(keys, rng.choice([2, 3]))},
               "a1": {k: stats() for k in rng.sample(keys, rng.choice([2, 3]))}} for _ in range(300)]
    assert_agree(_document([MVEC, {"type": "map", "values": STATS}], action), inputs)


def test_multinomial_and_bernoulli():
    def positive():
        return rng.choice([0.5, 1.0, 2.0, 3.0, 0.0, -1.0]) if rng.random() < 0.2 else rng.uniform(0.1, 3)
    inputs = [{"a0": [_number() for _ in range(rng.choice([2, 3]))],
               "a1": [positive() for _ in range(rng.choice([0, 2, 3]))]} for _ in range(300)]
    assert_agree(_document([VEC, VEC], {"model.naive.multinomial": ["input.a0", "input.a1"]}), inputs)
    values = {"type": "record", "name": "V", "fields": [{"name": "values", "type": VEC}]}
    assert_agree(_document([VEC, VEC], {"model.naive.multinomial": ["input.a0", {
        "new": {"values": "input.a1"}, "type": values}]}), inputs)
    keys = ["a", "b", "c"]
    inputs = [{"a0": {k: _number() for k in rng.sample(keys, rng.choice([2, 3]))},
               "a1": {k: positive() for k in rng.sample(keys, rng.choice([0, 2, 3]))}} for _ in range(300)]
    assert_agree(_document([MVEC, MVEC], {"model.naive.multinomial": ["input.a0", "input.a1"]}), inputs)
    probabilities = lambda: {k: rng.choice([0.2, 0.5, 0.9, 0.0, 1.0]) for k in rng.sample(keys, rng.randint(0, 3))}  # noqa: E731
    words = lambda: rng.choices(keys + ["z"], k=rng.randint(0, 4))  # noqa: E731
    assert_agree(_document([{"type": "array", "items": "string"}, MVEC], {"model.naive.bernoulli": [
        "input.a0", "input.a1"]}), [{"a0": words(), "a1": probabilities()} for _ in range(300)])
