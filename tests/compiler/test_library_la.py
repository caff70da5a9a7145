"""la.*: the compiled engine against titus on vectors, matrices and their map forms."""

import random

import pytest

from chalicelib.compiler.library import lookup
from tests.compiler.differential import assert_agree

NAMES = ["map", "scale", "zipmap", "add", "sub", "dot", "transpose", "truncate", "trace", "symmetric"]
NAN, INF = float("nan"), float("inf")
rng = random.Random(11)
VEC = {"type": "array", "items": "double"}
MAT = {"type": "array", "items": VEC}
MVEC = {"type": "map", "values": "double"}
MMAT = {"type": "map", "values": MVEC}
SPECIAL = [0.0, -0.0, 1.0, -2.5, 1e308, -1e308, 5e-324, NAN, INF, -INF]


def test_every_name_is_native():
    for name in NAMES:
        assert lookup("la." + name) is not None, name


def _number():
    return rng.choice(SPECIAL) if rng.random() < 0.15 else rng.uniform(-10, 10)


def _vector(n=None):
    return [_number() for _ in range(rng.randint(0, 4) if n is None else n)]


def _matrix(rows=None, cols=None, ragged=False):
    rows = rng.randint(0, 3) if rows is None else rows
    cols = rng.randint(0, 3) if cols is None else cols
    return [_vector(rng.randint(0, 3) if ragged else cols) for _ in range(rows)]


def _map_vector():
    return {rng.choice("abcdé"): _number() for _ in range(rng.randint(0, 4))}


def _map_matrix():
    return {rng.choice("xyzab"): _map_vector() for _ in range(rng.randint(0, 3))}


def _document(types, output, action):
    fields = [{"name": f"a{i}", "type": t} for i, t in enumerate(types)]
    return {"input": {"type": "record", "name": "Input", "fields": fields}, "output": output, "action": action}


def _inputs(*makers, count=250):
    return [{f"a{i}": make() for i, make in enumerate(makers)} for _ in range(count)]


def _square_or_ragged():
    choice = rng.random()
    if choice < 0.2:
        return _matrix(ragged=True)
    n = rng.randint(0, 3)
    if choice < 0.7:
        m = _matrix(n, n)
        return [[m[j][i] if j < i and rng.random() < 0.7 else m[i][j] for j in range(n)] for i in range(n)]
    return _matrix()


@pytest.mark.parametrize("name", ["add", "sub"])
def test_add_sub(name):
    same_shape = lambda make: (lambda: make())  # noqa: E731
    assert_agree(_document([VEC, VEC], VEC, {f"la.{name}": ["input.a0", "input.a1"]}),
                 _inputs(same_shape(lambda: _vector(rng.choice([2, 3]))), lambda: _vector(rng.choice([2, 3]))))
    assert_agree(_document([MAT, MAT], MAT, {f"la.{name}": ["input.a0", "input.a1"]}),
                 _inputs(lambda: _matrix(2, rng.choice([1, 2])), lambda: _matrix(rng.choice([1, 2]), 2)))
    assert_agree(_document([MVEC, MVEC], MVEC, {f"la.{name}": ["input.a0", "input.a1"]}),
                 _inputs(_map_vector, _map_vector))
    assert_agree(_document([MMAT, MMAT], MMAT, {f"la.{name}": ["input.a0", "input.a1"]}),
                 _inputs(_map_matrix, _map_matrix))


def test_scale_and_map():
    for x_type, make in ((VEC, _vector), (MAT, _matrix), (MVEC, _map_vector), (MMAT, _map_matrix)):
        assert_agree(_document([x_type, "double"], x_type, {"la.scale": ["input.a0", "input.a1"]}),
                     _inputs(make, _number))
    square = {"params": [{"v": "double"}], "ret": "double", "do": {"*": ["v", "v"]}}
    for x_type, make in ((MAT, _matrix), (MMAT, _map_matrix)):
        assert_agree(_document([x_type], x_type, {"la.map": ["input.a0", square]}), _inputs(make))


def test_zipmap():
    minus = {"params": [{"a": "double"}, {"b": "double"}], "ret": "double", "do": {"-": ["a", "b"]}}
    assert_agree(_document([MAT, MAT], MAT, {"la.zipmap": ["input.a0", "input.a1", minus]}),
                 _inputs(lambda: _matrix(2, rng.choice([1, 2])), lambda: _matrix(rng.choice([1, 2]), 2)))
    assert_agree(_document([MMAT, MMAT], MMAT, {"la.zipmap": ["input.a0", "input.a1", minus]}),
                 _inputs(_map_matrix, _map_matrix))


def test_dot():
    def finite_matrix(rows, cols):
        return lambda: [[rng.uniform(-5, 5) for _ in range(cols)] for _ in range(rows)]
    assert_agree(_document([MAT, VEC], VEC, {"la.dot": ["input.a0", "input.a1"]}),
                 _inputs(lambda: _matrix(rng.randint(0, 3), 3), lambda: _vector(rng.choice([0, 2, 3]))))
    assert_agree(_document([MAT, VEC], VEC, {"la.dot": ["input.a0", "input.a1"]}),
                 _inputs(finite_matrix(4, 40), lambda: [rng.uniform(-5, 5) for _ in range(40)]))
    assert_agree(_document([MAT, MAT], MAT, {"la.dot": ["input.a0", "input.a1"]}),
                 _inputs(lambda: _matrix(2, rng.choice([2, 3])), lambda: _matrix(rng.choice([0, 2, 3]), 2)))
    assert_agree(_document([MAT, MAT], MAT, {"la.dot": ["input.a0", "input.a1"]}),
                 _inputs(finite_matrix(5, 30), finite_matrix(30, 6)))
    assert_agree(_document([MMAT, MVEC], MVEC, {"la.dot": ["input.a0", "input.a1"]}), _inputs(_map_matrix, _map_vector))
    assert_agree(_document([MMAT, MMAT], MMAT, {"la.dot": ["input.a0", "input.a1"]}), _inputs(_map_matrix, _map_matrix))


def test_shapes():
    for x_type, make in ((MAT, lambda: _matrix(ragged=rng.random() < 0.3)), (MMAT, _map_matrix)):
        assert_agree(_document([x_type], x_type, {"la.transpose": ["input.a0"]}), _inputs(make))
        assert_agree(_document([x_type], "double", {"la.trace": ["input.a0"]}), _inputs(make))
    assert_agree(_document([MAT, "int"], MAT, {"la.truncate": ["input.a0", "input.a1"]}),
                 _inputs(lambda: _matrix(ragged=rng.random() < 0.3), lambda: rng.randint(-2, 4)))
    strings = {"type": "array", "items": "string"}
    assert_agree(_document([MMAT, strings], MMAT, {"la.truncate": ["input.a0", "input.a1"]}),
                 _inputs(_map_matrix, lambda: rng.sample(list("xyzab"), rng.randint(0, 3))))
    assert_agree(_document([MAT, "double"], "boolean", {"la.symmetric": ["input.a0", "input.a1"]}),
                 _inputs(_square_or_ragged, lambda: rng.choice([0.0, 1e-9, 1.0, NAN])))
    assert_agree(_document([MMAT, "double"], "boolean", {"la.symmetric": ["input.a0", "input.a1"]}),
                 _inputs(_map_matrix, lambda: rng.choice([0.0, 1.0, 100.0])))
