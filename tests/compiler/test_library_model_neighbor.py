"""model.neighbor.*: the compiled engine against titus."""

import json
import random
from pathlib import Path

from chalicelib.compiler.library import lookup
from tests.compiler.differential import assert_agree

ROOT = Path(__file__).resolve().parents[2]
NAN, INF = float("nan"), float("inf")
rng = random.Random(9)
VEC = {"type": "array", "items": "double"}
MAT = {"type": "array", "items": VEC}


def test_every_name_is_native():
    for name in ("mean", "nearestK", "ballR"):
        assert lookup("model.neighbor." + name) is not None, name


def test_knn_example():
    document = json.loads((ROOT / "tests" / "pfa" / "knn.pfa.json").read_text())
    inputs = [[rng.uniform(-2, 8), rng.uniform(-2, 8)] for _ in range(200)] + [[0.5, 0.0], [NAN, 1.0], [INF, 0.0]]
    assert_agree(document, inputs)


def _point(n):
    return [rng.choice([0.0, -0.0, NAN, INF]) if rng.random() < 0.1 else float(rng.randint(-3, 3)) for _ in range(n)]


def _codebook():
    return [_point(rng.choice([2, 2, 2, 3])) for _ in range(rng.randint(0, 6))]


def _document(types, output, action):
    fields = [{"name": f"a{i}", "type": t} for i, t in enumerate(types)]
    return {"input": {"type": "record", "name": "Input", "fields": fields}, "output": output, "action": action}


def test_nearest_k_and_ball_r():
    inputs = [{"a0": rng.randint(-1, 4), "a1": _point(2), "a2": _codebook()} for _ in range(300)]
    assert_agree(_document(["int", VEC, MAT], MAT, {"model.neighbor.nearestK": ["input.a0", "input.a1", "input.a2"]}),
                 inputs)
    metric = {"params": [{"a": VEC}, {"b": VEC}], "ret": "double", "do": {"metric.simpleEuclidean": ["a", "b"]}}
    assert_agree(_document(["int", VEC, MAT], MAT, {"model.neighbor.nearestK": [
        "input.a0", "input.a1", "input.a2", metric]}), inputs)
    radius = [{"a0": rng.choice([0.0, 1.0, 2.5, INF, NAN]), "a1": _point(2), "a2": _codebook()} for _ in range(300)]
    assert_agree(_document(["double", VEC, MAT], MAT, {"model.neighbor.ballR": ["input.a0", "input.a1", "input.a2"]}),
                 radius)
    assert_agree(_document(["double", VEC, MAT], MAT, {"model.neighbor.ballR": [
        "input.a0", "input.a1", "input.a2", metric]}), radius)


def test_mean():
    points = [{"a0": [_point(rng.choice([2, 2, 3])) for _ in range(rng.randint(0, 4))]} for _ in range(300)]
    assert_agree(_document([MAT], VEC, {"model.neighbor.mean": ["input.a0"]}), points)
    weight = {"params": [{"p": VEC}], "ret": "double", "do": {"a.sum": ["p"]}}
    assert_agree(_document([MAT], VEC, {"model.neighbor.mean": ["input.a0", weight]}), points)
