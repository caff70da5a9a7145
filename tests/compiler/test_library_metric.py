"""metric.*: the compiled engine against titus."""

import random

import pytest

from chalicelib.compiler.library import lookup
from tests.compiler.differential import assert_agree

NAN, INF = float("nan"), float("inf")
rng = random.Random(13)
VEC = {"type": "array", "items": "double"}
OPTIONAL = {"type": "array", "items": ["null", "double"]}
BOOLS = {"type": "array", "items": "boolean"}
MISSING = ["euclidean", "squaredEuclidean", "chebyshev", "taxicab"]
BINARY = ["simpleMatching", "jaccard", "tanimoto"]
SPECIAL = [0.0, -0.0, NAN, INF, -INF, 1e200, 5e-324]


def test_every_name_is_native():
    for name in ["simpleEuclidean", "absDiff", "gaussianSimilarity", "minkowski", "binarySimilarity",
                 *MISSING, *BINARY]:
        assert lookup("metric." + name) is not None, name


def _number():
    return rng.choice(SPECIAL) if rng.random() < 0.1 else rng.uniform(-5, 5)


def _vector(n=None, optional=False):
    n = rng.choice([2, 3]) if n is None else n
    return [None if optional and rng.random() < 0.3 else _number() for _ in range(n)]


def _document(types, action):
    fields = [{"name": f"a{i}", "type": t} for i, t in enumerate(types)]
    return {"input": {"type": "record", "name": "Input", "fields": fields}, "output": "double", "action": action}


def _inputs(*makers, count=300):
    return [{f"a{i}": make() for i, make in enumerate(makers)} for _ in range(count)]


def test_simple_ones():
    assert_agree(_document([VEC, VEC], {"metric.simpleEuclidean": ["input.a0", "input.a1"]}), _inputs(_vector, _vector))
    assert_agree(_document(["double", "double"], {"metric.absDiff": ["input.a0", "input.a1"]}),
                 _inputs(_number, _number))
    assert_agree(_document(["double", "double", "double"], {"metric.gaussianSimilarity": [
        "input.a0", "input.a1", "input.a2"]}), _inputs(_number, _number, lambda: rng.choice([0.0, 1.0, 2.0, NAN])))


@pytest.mark.parametrize("name", MISSING)
def test_metrics_with_missing_values(name):
    absdiff = {"fcn": "metric.absDiff"}
    assert_agree(_document([VEC, VEC], {f"metric.{name}": [absdiff, "input.a0", "input.a1"]}),
                 _inputs(_vector, _vector))
    gaussian = {"params": [{"x": "double"}, {"y": "double"}], "ret": "double",
                "do": {"metric.gaussianSimilarity": ["x", "y", 1.5]}}
    assert_agree(_document([VEC, VEC, VEC], {f"metric.{name}": [gaussian, "input.a0", "input.a1", "input.a2"]}),
                 _inputs(_vector, _vector, lambda: [rng.choice([0.0, 0.5, 1.0]) for _ in range(rng.choice([2, 3]))]))


@pytest.mark.parametrize("name", MISSING)
def test_metrics_over_a_cell_with_nulls(name):
    """Union items as titus holds them in a cell (tagged), which it unwraps before calling the similarity."""
    document = _document([VEC], {f"metric.{name}": [{"fcn": "metric.absDiff"}, {"cell": "ref"}, {"cell": "ref"}]})
    document["cells"] = {"ref": {"type": OPTIONAL, "init": [{"double": 1.5}, None, {"double": -2.0}]}}
    assert_agree(document, [[]])


def test_minkowski():
    absdiff = {"fcn": "metric.absDiff"}
    p = lambda: rng.choice([1.0, 2.0, 0.5, 3.0, INF, 0.0, -1.0, NAN])  # noqa: E731
    assert_agree(_document([VEC, VEC, "double"], {"metric.minkowski": [absdiff, "input.a0", "input.a1", "input.a2"]}),
                 _inputs(_vector, _vector, p))


def test_binary():
    bools = lambda: [rng.random() < 0.5 for _ in range(rng.choice([0, 3, 3, 4]))]  # noqa: E731
    for name in BINARY:
        assert_agree(_document([BOOLS, BOOLS], {f"metric.{name}": ["input.a0", "input.a1"]}), _inputs(bools, bools))
    weights = [rng.choice([0.0, 1.0, 2.0]) for _ in range(8)]
    assert_agree(_document([BOOLS, BOOLS], {"metric.binarySimilarity": ["input.a0", "input.a1", *weights]}),
                 _inputs(bools, bools))
