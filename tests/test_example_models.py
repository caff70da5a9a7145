"""The example models in models/, compiled and scored exactly as the service does."""

import csv
import json
from pathlib import Path

from chalicelib.served_model import compile_served

ROOT = Path(__file__).parent.parent
MODELS, DATA = ROOT / "models", ROOT / "tests" / "data"
IRIS_FIELDS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width",
               "Petal.Length": "petal_length", "Petal.Width": "petal_width"}


def scorer(name):
    served = compile_served((MODELS / name).read_bytes(), name)
    return lambda body: served.predict(json.loads(body))


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_toy_adds_100():
    score = scorer("toy_add100.pfa")
    assert score("3.14") == 103.14
    assert score("-100") == 0.0


def test_iris_tree_matches_scikit_learn():
    score = scorer("iris_decision_tree.pfa")
    data = rows(DATA / "iris.csv")
    expected = [r["pred"] for r in rows(MODELS / "iris_decision_tree.sklearn_predictions.csv")]
    assert len(data) == len(expected) == 150
    got = [score(json.dumps({f: float(row[c]) for c, f in IRIS_FIELDS.items()})) for row in data]
    assert got == expected
    assert sum(g == row["Species"] for g, row in zip(got, data, strict=True)) >= 145


def test_sonar_naive_bayes_matches_r():
    score = scorer("sonar_naive_bayes.pfa")
    data, expected = rows(DATA / "sonar.csv"), [r["pred"] for r in rows(MODELS / "sonar_naive_bayes.r_predictions.csv")]
    assert len(data) == len(expected) == 208
    got = [score(json.dumps({k: float(v) for k, v in row.items() if k != "Class"})) for row in data]
    assert got[0] == "R"
    assert got == expected
