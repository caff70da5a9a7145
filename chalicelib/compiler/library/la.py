"""``la.*``: linear algebra on arrays of arrays and maps of maps.

The signature (vector or matrix, array or map) is known from the types, so each is its own helper.
Map forms build their row and column key sets exactly as titus does (``set(x.keys())`` and unions of
them), so they iterate, and so add up, in titus's order. ``la.dot`` makes titus's numpy calls (the same
BLAS routines on the same arrays, so the same bits). ``la.inverse``, ``la.det`` and ``la.eigenBasis`` are
left to titus.
"""

import math  # noqa: I001  (titus_compat must be imported before titus)
from functools import reduce
from typing import Any, Callable, Dict, List, Optional, Set

import numpy

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native
from .types import AvroArray, AvroMap

Matrix = List[List[float]]
MapMatrix = Dict[str, Dict[str, float]]


def _is_matrix(avro_type: Any) -> bool:
    """array<array<...>> or map<map<...>> (the matrix signatures), as opposed to a vector."""
    if isinstance(avro_type, AvroArray):
        return isinstance(avro_type.items, AvroArray)
    return isinstance(avro_type, AvroMap) and isinstance(avro_type.values, AvroMap)


def _error(message: str, code: int, name: str) -> PFARuntimeException:
    return PFARuntimeException(message, code, name, None)


def _row_keys(x: Dict[str, Any]) -> Set[str]:
    return set(x.keys())


def _col_keys(x: MapMatrix) -> Set[str]:
    if len(x) == 0:
        return set()
    return reduce(lambda a, b: a.union(b), [set(xi.keys()) for xi in list(x.values())])


# ---------------------------------------------------------------- la.map, la.scale, la.zipmap


def _map_arrays(x: Matrix, fcn: Callable[[Any], Any]) -> Matrix:
    return [[fcn(xj) for xj in xi] for xi in x]


def _map_maps(x: MapMatrix, fcn: Callable[[Any], Any]) -> MapMatrix:
    return {i: {j: fcn(xj) for j, xj in xi.items()} for i, xi in x.items()}


@native("la.map")
def _emit_map(site: Site) -> Optional[str]:
    return site.call(_map_arrays if isinstance(site.param_types[0], AvroArray) else _map_maps)


def _scale_vector(x: List[float], alpha: float) -> List[float]:
    return [xi * alpha for xi in x]


def _scale_matrix(x: Matrix, alpha: float) -> Matrix:
    return [[xj * alpha for xj in xi] for xi in x]


def _scale_map(x: Dict[str, float], alpha: float) -> Dict[str, float]:
    return {i: xi * alpha for i, xi in x.items()}


def _scale_map_matrix(x: MapMatrix, alpha: float) -> MapMatrix:
    return {i: {j: xj * alpha for j, xj in xi.items()} for i, xi in x.items()}


@native("la.scale")
def _emit_scale(site: Site) -> Optional[str]:
    x_type = site.param_types[0]
    if isinstance(x_type, AvroArray):
        return site.call(_scale_matrix if _is_matrix(x_type) else _scale_vector)
    return site.call(_scale_map_matrix if _is_matrix(x_type) else _scale_map)


def _zipmap_arrays(x: Matrix, y: Matrix, fcn: Callable[[Any, Any], Any]) -> Matrix:
    if len(x) != len(y) or any(len(xi) != len(yi) for xi, yi in zip(x, y, strict=False)):
        raise _error("misaligned matrices", 24020, "la.zipmap")
    return [[fcn(xj, yj) for xj, yj in zip(xi, yi, strict=False)] for xi, yi in zip(x, y, strict=False)]


def _zipmap_maps(x: MapMatrix, y: MapMatrix, fcn: Callable[[Any, Any], Any]) -> MapMatrix:
    rows = _row_keys(x).union(_row_keys(y))
    cols = _col_keys(x).union(_col_keys(y))
    return {i: {j: fcn(x.get(i, {}).get(j, 0.0), y.get(i, {}).get(j, 0.0)) for j in cols} for i in rows}


@native("la.zipmap")
def _emit_zipmap(site: Site) -> Optional[str]:
    return site.call(_zipmap_arrays if isinstance(site.param_types[0], AvroArray) else _zipmap_maps)


# ---------------------------------------------------------------- la.add, la.sub


def _add_vectors(x: List[float], y: List[float]) -> List[float]:
    if len(x) != len(y):
        raise _error("misaligned matrices", 24030, "la.add")
    return [xi + yi for xi, yi in zip(x, y, strict=False)]


def _add_matrices(x: Matrix, y: Matrix) -> Matrix:
    if len(x) != len(y) or any(len(xi) != len(yi) for xi, yi in zip(x, y, strict=False)):
        raise _error("misaligned matrices", 24030, "la.add")
    return [[xj + yj for xj, yj in zip(xi, yi, strict=False)] for xi, yi in zip(x, y, strict=False)]


def _add_maps(x: Dict[str, float], y: Dict[str, float]) -> Dict[str, float]:
    rows = _row_keys(x).union(_row_keys(y))
    return {i: x.get(i, 0.0) + y.get(i, 0.0) for i in rows}


def _add_map_matrices(x: MapMatrix, y: MapMatrix) -> MapMatrix:
    rows = _row_keys(x).union(_row_keys(y))
    cols = _col_keys(x).union(_col_keys(y))
    return {i: {j: x.get(i, {}).get(j, 0.0) + y.get(i, {}).get(j, 0.0) for j in cols} for i in rows}


def _sub_vectors(x: List[float], y: List[float]) -> List[float]:
    if len(x) != len(y):
        raise _error("misaligned matrices", 24040, "la.sub")
    return [xi - yi for xi, yi in zip(x, y, strict=False)]


def _sub_matrices(x: Matrix, y: Matrix) -> Matrix:
    if len(x) != len(y) or any(len(xi) != len(yi) for xi, yi in zip(x, y, strict=False)):
        raise _error("misaligned matrices", 24040, "la.sub")
    return [[xj - yj for xj, yj in zip(xi, yi, strict=False)] for xi, yi in zip(x, y, strict=False)]


def _sub_maps(x: Dict[str, float], y: Dict[str, float]) -> Dict[str, float]:
    rows = _row_keys(x).union(_row_keys(y))
    return {i: x.get(i, 0.0) - y.get(i, 0.0) for i in rows}


def _sub_map_matrices(x: MapMatrix, y: MapMatrix) -> MapMatrix:
    rows = _row_keys(x).union(_row_keys(y))
    cols = _col_keys(x).union(_col_keys(y))
    return {i: {j: x.get(i, {}).get(j, 0.0) - y.get(i, {}).get(j, 0.0) for j in cols} for i in rows}


@native("la.add")
def _emit_add(site: Site) -> Optional[str]:
    x_type = site.param_types[0]
    if isinstance(x_type, AvroArray):
        return site.call(_add_matrices if _is_matrix(x_type) else _add_vectors)
    return site.call(_add_map_matrices if _is_matrix(x_type) else _add_maps)


@native("la.sub")
def _emit_sub(site: Site) -> Optional[str]:
    x_type = site.param_types[0]
    if isinstance(x_type, AvroArray):
        return site.call(_sub_matrices if _is_matrix(x_type) else _sub_vectors)
    return site.call(_sub_map_matrices if _is_matrix(x_type) else _sub_maps)


# ---------------------------------------------------------------- la.dot (numpy, as titus)


def _non_finite(z: float) -> bool:
    return math.isnan(z) or math.isinf(z)


def _empty(*matrices: Any) -> bool:
    return any(m.shape[0] == 0 or m.shape[1] == 0 for m in matrices)


def _dot_matrix_vector(x: Matrix, y: List[float]) -> List[float]:
    bad = any(any(_non_finite(z) for z in row) for row in x) or any(_non_finite(z) for z in y)
    xmat = numpy.matrix(x, dtype=numpy.double)
    ymat = numpy.matrix(y, dtype=numpy.double).T
    if _empty(xmat, ymat):
        raise _error("too few rows/cols", 24051, "la.dot")
    try:
        if bad:
            raise _error("contains non-finite value", 24052, "la.dot")
        return numpy.dot(xmat, ymat).T.tolist()[0]
    except ValueError:
        raise _error("misaligned matrices", 24050, "la.dot") from None


def _dot_matrices(x: Matrix, y: Matrix) -> Matrix:
    bad = any(any(_non_finite(z) for z in row) for row in x) or any(any(_non_finite(z) for z in row) for row in y)
    xmat = numpy.matrix(x, dtype=numpy.double)
    ymat = numpy.matrix(y, dtype=numpy.double)
    if _empty(xmat, ymat):
        raise _error("too few rows/cols", 24051, "la.dot")
    try:
        if bad:
            raise _error("contains non-finite value", 24052, "la.dot")
        return numpy.dot(xmat, ymat).tolist()
    except ValueError:
        raise _error("misaligned matrices", 24050, "la.dot") from None


def _maps_to_matrix(x: MapMatrix, rows: List[str], cols: List[str]) -> Any:
    return numpy.matrix([[x.get(i, {}).get(j, 0.0) for j in cols] for i in rows], dtype=numpy.double)


def _dot_map_matrix_vector(x: MapMatrix, y: Dict[str, float]) -> Dict[str, float]:
    bad = any(any(_non_finite(z) for z in list(row.values())) for row in list(x.values())) or \
        any(_non_finite(z) for z in list(y.values()))
    rows = list(_row_keys(x))
    cols = list(_col_keys(x).union(_row_keys(y)))
    xmat = _maps_to_matrix(x, rows, cols)
    ymat = numpy.matrix([y.get(k, 0.0) for k in cols], dtype=numpy.double).T
    if _empty(xmat, ymat):
        raise _error("too few rows/cols", 24051, "la.dot")
    if bad:
        raise _error("contains non-finite value", 24052, "la.dot")
    return dict(zip(rows, numpy.dot(xmat, ymat).T.tolist()[0], strict=False))


def _dot_map_matrices(x: MapMatrix, y: MapMatrix) -> MapMatrix:
    bad = any(any(_non_finite(z) for z in list(row.values())) for row in list(x.values())) or \
        any(any(_non_finite(z) for z in list(row.values())) for row in list(y.values()))
    rows = list(_row_keys(x))
    inter = list(_col_keys(x).union(_row_keys(y)))
    cols = list(_col_keys(y))
    xmat = _maps_to_matrix(x, rows, inter)
    ymat = _maps_to_matrix(y, inter, cols)
    if _empty(xmat, ymat):
        raise _error("too few rows/cols", 24051, "la.dot")
    if bad:
        raise _error("contains non-finite value", 24052, "la.dot")
    product = numpy.dot(xmat, ymat).tolist()
    return {row: dict(zip(cols, xi, strict=False)) for row, xi in zip(rows, product, strict=False)}


@native("la.dot")
def _emit_dot(site: Site) -> Optional[str]:
    y_type = site.param_types[1]
    if isinstance(y_type, AvroArray):
        return site.call(_dot_matrices if _is_matrix(y_type) else _dot_matrix_vector)
    return site.call(_dot_map_matrices if _is_matrix(y_type) else _dot_map_matrix_vector)


# ---------------------------------------------------------------- shape: transpose, truncate, trace, symmetric


def _ragged(x: Matrix) -> bool:
    lengths = list(map(len, x))
    return max(lengths) != min(lengths)


def _check_arrays(x: Matrix, code: int, name: str) -> None:
    """titus's checks before most matrix functions: some rows, some columns, no ragged rows."""
    if len(x) < 1 or len(x[0]) < 1:
        raise _error("too few rows/cols", code, name)
    if _ragged(x):
        raise _error("ragged columns", code + 1, name)


def _transpose_arrays(x: Matrix) -> Matrix:
    _check_arrays(x, 24060, "la.transpose")
    rows, cols = len(x), len(x[0])
    return [[x[r][c] for r in range(rows)] for c in range(cols)]


def _transpose_maps(x: MapMatrix) -> MapMatrix:
    rows = _row_keys(x)
    cols = _col_keys(x)
    if len(rows) < 1 or len(cols) < 1:
        raise _error("too few rows/cols", 24060, "la.transpose")
    if len(set(len(xi) for xi in list(x.values()))) != 1:
        raise _error("ragged columns", 24061, "la.transpose")
    return {c: {r: x[r][c] for r in rows} for c in cols}


@native("la.transpose")
def _emit_transpose(site: Site) -> Optional[str]:
    return site.call(_transpose_arrays if isinstance(site.param_types[0], AvroArray) else _transpose_maps)


def _truncate_arrays(x: Matrix, keep: int) -> Matrix:
    if keep < 0:
        keep = 0
    _check_arrays(x, 24120, "la.truncate")
    return x[:keep]


def _truncate_maps(x: MapMatrix, keep: List[str]) -> MapMatrix:
    rows = _row_keys(x)
    cols = _col_keys(x)
    if len(rows) < 1 or len(cols) < 1:
        raise _error("too few rows/cols", 24120, "la.truncate")
    return {k: x[k] for k in rows if k in keep}


@native("la.truncate")
def _emit_truncate(site: Site) -> Optional[str]:
    return site.call(_truncate_arrays if isinstance(site.param_types[0], AvroArray) else _truncate_maps)


def _trace_arrays(x: Matrix) -> Any:
    rows = len(x)
    if rows == 0:
        return 0.0
    cols = len(x[0])
    if _ragged(x):
        raise _error("ragged columns", 24080, "la.trace")
    return sum(x[i][i] for i in range(min(rows, cols)))


def _trace_maps(x: MapMatrix) -> Any:
    keys = _row_keys(x).intersection(_col_keys(x))
    return sum(x[i][i] for i in keys)


@native("la.trace")
def _emit_trace(site: Site) -> Optional[str]:
    return site.call(_trace_arrays if isinstance(site.param_types[0], AvroArray) else _trace_maps)


def _same(x: float, y: float, tol: float) -> bool:
    if math.isinf(x) and math.isinf(y) and ((x > 0.0 and y > 0.0) or (x < 0.0 and y < 0.0)):
        return True
    if math.isnan(x) and math.isnan(y):
        return True
    if not math.isinf(x) and not math.isnan(x) and not math.isinf(y) and not math.isnan(y):
        return abs(x - y) < tol
    return False


def _symmetric_arrays(x: Matrix, tol: float) -> bool:
    _check_arrays(x, 24100, "la.symmetric")
    rows, cols = len(x), len(x[0])
    if rows != cols:
        raise _error("non-square matrix", 24102, "la.symmetric")
    return all(all(_same(x[i][j], x[j][i], tol) for j in range(cols)) for i in range(rows))


def _symmetric_maps(x: MapMatrix, tol: float) -> bool:
    keys = list(_row_keys(x).union(_col_keys(x)))
    if len(keys) < 1 or all(len(row) == 0 for row in list(x.values())):
        raise _error("too few rows/cols", 24100, "la.symmetric")
    return all(all(_same(x.get(i, {}).get(j, 0.0), x.get(j, {}).get(i, 0.0), tol) for j in keys) for i in keys)


@native("la.symmetric")
def _emit_symmetric(site: Site) -> Optional[str]:
    return site.call(_symmetric_arrays if isinstance(site.param_types[0], AvroArray) else _symmetric_maps)
