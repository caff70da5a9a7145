"""prob.dist.*: the compiled engine against titus."""

import json
import random
from pathlib import Path

import pytest

from chalicelib.compiler.library import lookup
from tests.compiler.differential import assert_agree

ROOT = Path(__file__).resolve().parents[2]
NAN, INF = float("nan"), float("inf")
rng = random.Random(17)
NAMES = ["gaussianLL", "gaussianCDF", "exponentialPDF", "exponentialCDF", "uniformPDF", "uniformCDF"]
SPECIAL = [0.0, -0.0, 1.0, -1.0, NAN, INF, -INF, 1e200, -1e200, 5e-324, 1e-300]


def test_every_name_is_native():
    for name in NAMES:
        assert lookup("prob.dist." + name) is not None, name


def _number():
    return rng.choice(SPECIAL) if rng.random() < 0.3 else rng.uniform(-5, 5)


def _document(name, arity):
    fields = [{"name": f"a{i}", "type": "double"} for i in range(arity)]
    return {"input": {"type": "record", "name": "Input", "fields": fields}, "output": "double",
            "action": {f"prob.dist.{name}": [f"input.a{i}" for i in range(arity)]}}


@pytest.mark.parametrize("name,arity", [("gaussianLL", 3), ("gaussianCDF", 3), ("exponentialPDF", 2),
                                        ("exponentialCDF", 2), ("uniformPDF", 3), ("uniformCDF", 3)])
def test_parameters(name, arity):
    inputs = [{f"a{i}": _number() for i in range(arity)} for _ in range(600)]
    assert_agree(_document(name, arity), inputs)


@pytest.mark.parametrize("name", ["gaussianLL", "gaussianCDF"])
def test_record_parameters(name):
    params = {"type": "record", "name": "P", "fields": [{"name": "mean", "type": "double"},
                                                        {"name": "variance", "type": "double"}]}
    document = {"input": {"type": "record", "name": "Input", "fields": [
        {"name": "x", "type": "double"}, {"name": "p", "type": params}]}, "output": "double",
        "action": {f"prob.dist.{name}": ["input.x", "input.p"]}}
    inputs = [{"x": _number(), "p": {"mean": _number(), "variance": _number()}} for _ in range(600)]
    assert_agree(document, inputs)


def test_gaussian_anomaly_example():
    document = json.loads((ROOT / "tests" / "pfa" / "gaussian_anomaly.pfa.json").read_text())
    assert_agree(document, [_number() for _ in range(300)])


def test_sonar_naive_bayes():
    """The R-exported model: prob.dist.gaussianLL on every feature of every Sonar row."""
    import pandas as pd

    document = json.loads((ROOT / "models" / "sonar_naive_bayes.pfa").read_text())
    frame = pd.read_csv(ROOT / "tests" / "data" / "sonar.csv").drop(columns="Class")
    rows = [{k: float(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    assert assert_agree(document, rows) == len(rows)
