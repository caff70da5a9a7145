"""``metric.*``: distances and similarities.

The metrics with missing values (``euclidean``, ``squaredEuclidean``, ``chebyshev``, ``taxicab``,
``minkowski``) are titus's loop: nulls are skipped and the result scaled by the total weight over the
weight of the pairs present; when the items are a union, titus unwraps each (tagged) value, and so do we.
"""

import math  # noqa: I001  (titus_compat must be imported before titus)
from typing import Any, Callable, Dict, List, Optional, Tuple

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException
from titus.lib.core import powLikeJava
from titus.util import div

from .registry import Site, native
from .types import AvroArray, AvroUnion


def _simple_euclidean(x: List[float], y: List[float]) -> float:
    if len(x) != len(y):
        raise PFARuntimeException("dimensions of vectors do not match", 28000, "metric.simpleEuclidean", None)
    return math.sqrt(sum([(xi - yi)**2 for xi, yi in zip(x, y, strict=False)]))


@native("metric.simpleEuclidean")
def _emit_simple_euclidean(site: Site) -> Optional[str]:
    return site.call(_simple_euclidean)


@native("metric.absDiff")
def _emit_abs_diff(site: Site) -> Optional[str]:
    x, y = site.args
    return f"{site.helper(abs)}({x} - {y})"


def _gaussian_similarity(x: float, y: float, sigma: float) -> float:
    return math.exp(div(-math.log(2) * (x - y)**2, sigma**2))


@native("metric.gaussianSimilarity")
def _emit_gaussian_similarity(site: Site) -> Optional[str]:
    return site.call(_gaussian_similarity)


def _union_items(avro_type: Any) -> bool:
    return isinstance(avro_type, AvroArray) and isinstance(avro_type.items, AvroUnion)


def _square_sum(tally: Any, z: Any) -> Any:
    return tally + z**2


def _plain_sum(tally: Any, z: Any) -> Any:
    return tally + z


def _identity(x: Any) -> Any:
    return x


def _missing_metric(name: str, code: int, increment: Callable[[Any, Any], Any], finalize: Callable[[Any], Any],
                    x_union: bool, y_union: bool) -> Callable[..., Any]:
    """titus's ``MetricWithMissingValues`` for one metric and one pair of item types."""

    def metric(similarity: Callable[[Any, Any], Any], x: List[Any], y: List[Any],
               missing_weight: Optional[List[float]] = None) -> Any:
        length = len(x)
        if missing_weight is None:
            missing_weight = [1.0] * length
        if len(y) != length or len(missing_weight) != length:
            raise PFARuntimeException("dimensions of vectors do not match", code, name, None)
        tally = 0.0
        numer = 0.0
        denom = 0.0
        for i in range(length):
            xi = x[i]
            yi = y[i]
            if xi is not None and yi is not None:
                if x_union:
                    xi, = list(xi.values())
                if y_union:
                    yi, = list(yi.values())
                tally = increment(tally, similarity(xi, yi))
                denom += missing_weight[i]
            numer += missing_weight[i]
        if denom == 0.0:
            return finalize(float("nan"))
        return finalize(tally * numer / denom)

    return metric


_MISSING_METRICS: Dict[str, Tuple[int, Callable[[Any, Any], Any], Callable[[Any], Any]]] = {
    "metric.euclidean": (28030, _square_sum, math.sqrt),
    "metric.squaredEuclidean": (28040, _square_sum, _identity),
    "metric.chebyshev": (28050, max, _identity),
    "metric.taxicab": (28060, _plain_sum, _identity),
}


@native(*_MISSING_METRICS)
def _emit_missing_metric(site: Site) -> Optional[str]:
    code, increment, finalize = _MISSING_METRICS[site.name]
    x_union, y_union = _union_items(site.param_types[1]), _union_items(site.param_types[2])
    return site.call(_missing_metric(site.name, code, increment, finalize, x_union, y_union))


def _minkowski(x_union: bool, y_union: bool) -> Callable[..., Any]:
    def minkowski(similarity: Callable[[Any, Any], Any], x: List[Any], y: List[Any], p: float,
                  missing_weight: Optional[List[float]] = None) -> Any:
        length = len(x)
        if missing_weight is None:
            missing_weight = [1.0] * length
        if len(y) != length or len(missing_weight) != length:
            raise PFARuntimeException("dimensions of vectors do not match", 28070, "metric.minkowski", None)
        if math.isnan(p) or p <= 0:
            raise PFARuntimeException("Minkowski parameter p must be positive", 28071, "metric.minkowski", None)
        infinite = math.isinf(p)
        tally = 0.0
        numer = 0.0
        denom = 0.0
        for i in range(length):
            xi = x[i]
            yi = y[i]
            if xi is not None and yi is not None:
                if x_union:
                    xi, = list(xi.values())
                if y_union:
                    yi, = list(yi.values())
                z = similarity(xi, yi)
                if infinite:
                    if z > tally:
                        tally = z
                else:
                    tally += powLikeJava(z, p)
                denom += missing_weight[i]
            numer += missing_weight[i]
        if denom == 0.0:
            return float("nan")
        if infinite:
            return tally * numer / denom
        return powLikeJava(tally * numer / denom, 1.0 / p)

    return minkowski


@native("metric.minkowski")
def _emit_minkowski(site: Site) -> Optional[str]:
    return site.call(_minkowski(_union_items(site.param_types[1]), _union_items(site.param_types[2])))


def _count_pairs(x: List[bool], y: List[bool], name: str, code: int) -> Any:
    if len(y) != len(x):
        raise PFARuntimeException("dimensions of vectors do not match", code, name, None)
    a00 = a01 = a10 = a11 = 0
    for xi, yi in zip(x, y, strict=False):
        if xi and yi:
            a11 += 1
        if xi and not yi:
            a10 += 1
        if not xi and yi:
            a01 += 1
        if not xi and not yi:
            a00 += 1
    return a00, a01, a10, a11


def _simple_matching(x: List[bool], y: List[bool]) -> float:
    a00, a01, a10, a11 = _count_pairs(x, y, "metric.simpleMatching", 28080)
    return div((a11 + a00), (a11 + a10 + a01 + a00))


def _jaccard(x: List[bool], y: List[bool]) -> float:
    a00, a01, a10, a11 = _count_pairs(x, y, "metric.jaccard", 28090)
    return div(a11, (a11 + a10 + a01))


def _tanimoto(x: List[bool], y: List[bool]) -> float:
    a00, a01, a10, a11 = _count_pairs(x, y, "metric.tanimoto", 28100)
    return div((a11 + a00), (a11 + 2 * (a10 + a01) + a00))


def _binary_similarity(x: List[bool], y: List[bool], c00: float, c01: float, c10: float, c11: float,
                       d00: float, d01: float, d10: float, d11: float) -> float:
    a00, a01, a10, a11 = _count_pairs(x, y, "metric.binarySimilarity", 28110)
    return div((c11 * a11 + c10 * a10 + c01 * a01 + c00 * a00), (d11 * a11 + d10 * a10 + d01 * a01 + d00 * a00))


_BINARY = {"metric.simpleMatching": _simple_matching, "metric.jaccard": _jaccard, "metric.tanimoto": _tanimoto,
           "metric.binarySimilarity": _binary_similarity}


@native(*_BINARY)
def _emit_binary(site: Site) -> Optional[str]:
    return site.call(_BINARY[site.name])
