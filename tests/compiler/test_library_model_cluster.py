"""model.cluster.closest and closestN: the compiled engine against titus (exported k-means and kNN included)."""

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.neighbors import KNeighborsClassifier

from chalicelib.compiler.library import lookup
from pfactl.export import to_pfa
from tests.compiler.differential import assert_agree

ROOT = Path(__file__).resolve().parents[2]
NAN, INF = float("nan"), float("inf")
rng = random.Random(5)
VEC = {"type": "array", "items": "double"}
CLUSTER = {"type": "record", "name": "Cluster",
           "fields": [{"name": "id", "type": "int"}, {"name": "center", "type": VEC}]}


def test_every_name_is_native():
    assert lookup("model.cluster.closest") is not None
    assert lookup("model.cluster.closestN") is not None


def _sonar():
    frame = pd.read_csv(ROOT / "tests" / "data" / "sonar.csv")
    return frame.drop(columns="Class"), frame["Class"]


def _records(document, rows):
    fields = [field["name"] for field in document["input"]["fields"]]
    return [dict(zip(fields, map(float, row), strict=True)) for row in rows]


def test_exported_kmeans():
    features, _ = _sonar()
    document = to_pfa(KMeans(n_clusters=5, n_init=3, random_state=0).fit(features))
    assert_agree(document, _records(document, features.to_numpy().tolist()))


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_exported_k_neighbors(weights):
    features, target = _sonar()
    document = to_pfa(KNeighborsClassifier(n_neighbors=5, weights=weights).fit(features, target), output="proba")
    assert_agree(document, _records(document, features.to_numpy().tolist()[::3]))


def test_kmeans_example_with_metric():
    document = json.loads((ROOT / "tests" / "pfa" / "kmeans.pfa.json").read_text())
    inputs = [[rng.uniform(-5, 15), rng.uniform(-5, 15)] for _ in range(200)] + [[5.0, 0.0], [0.0, 5.0], [NAN, 0.0]]
    assert_agree(document, inputs)


def _point(n):
    return [rng.choice([0.0, 1.0, NAN, INF]) if rng.random() < 0.1 else float(rng.randint(-3, 3)) for _ in range(n)]


def _clusters():
    return [{"id": i, "center": _point(rng.choice([2, 2, 2, 3]))} for i in range(rng.randint(0, 6))]


def _document(action, output):
    return {"input": {"type": "record", "name": "Input", "fields": [
        {"name": "n", "type": "int"}, {"name": "x", "type": VEC},
        {"name": "cs", "type": {"type": "array", "items": CLUSTER}}]},
        "output": output, "action": action}


def _inputs():
    return [{"n": rng.randint(-1, 5), "x": _point(2), "cs": _clusters()} for _ in range(300)]


def test_closest_and_closest_n():
    ids = {"type": "array", "items": "int"}
    assert_agree(_document({"attr": {"model.cluster.closest": ["input.x", "input.cs"]}, "path": [["id"]]}, "int"),
                 _inputs())
    closest_n = {"model.cluster.closestN": ["input.n", "input.x", "input.cs"]}
    to_id = {"params": [{"c": "Cluster"}], "ret": "int", "do": "c.id"}
    assert_agree(_document({"a.map": [closest_n, to_id]}, ids), _inputs())
    metric = {"params": [{"a": VEC}, {"b": VEC}], "ret": "double", "do": {"metric.taxicab": [
        {"fcn": "metric.absDiff"}, "a", "b"]}}
    assert_agree(_document({"attr": {"model.cluster.closest": ["input.x", "input.cs", metric]}, "path": [["id"]]},
                           "int"), _inputs())
    assert_agree(_document({"a.map": [{"model.cluster.closestN": ["input.n", "input.x", "input.cs", metric]}, to_id]},
                           ids), _inputs())
