"""``model.neighbor.*``: nearest neighbours in a codebook, and the mean of points."""

import math  # noqa: I001  (titus_compat must be imported before titus)
from typing import Any, Callable, List, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .model_cluster import arg_lowest_n, squared_distances
from .registry import Site, native


def _mean(points: List[List[float]]) -> List[float]:
    if len(points) == 0:
        raise PFARuntimeException("not enough points", 30000, "model.neighbor.mean", None)
    dimensions = len(points[0])
    numer = [0.0] * dimensions
    denom = [0.0] * dimensions
    for point in points:
        if len(point) != dimensions:
            raise PFARuntimeException("inconsistent dimensionality", 30001, "model.neighbor.mean", None)
        for i in range(dimensions):
            numer[i] += 1.0 * point[i]
            denom[i] += 1.0
    for i in range(dimensions):
        numer[i] /= denom[i]
    return numer


def _mean_weighted(points: List[List[float]], weight: Callable[[Any], Any]) -> List[float]:
    if len(points) == 0:
        raise PFARuntimeException("not enough points", 30000, "model.neighbor.mean", None)
    dimensions = len(points[0])
    numer = [0.0] * dimensions
    denom = [0.0] * dimensions
    for point in points:
        if len(point) != dimensions:
            raise PFARuntimeException("inconsistent dimensionality", 30001, "model.neighbor.mean", None)
        w = weight(point)
        for i in range(dimensions):
            numer[i] += w * point[i]
            denom[i] += w
    for i in range(dimensions):
        numer[i] /= denom[i]
    return numer


@native("model.neighbor.mean")
def _emit_mean(site: Site) -> Optional[str]:
    return site.call(_mean if len(site.args) == 1 else _mean_weighted)


def _nearest_k(k: int, datum: List[float], codebook: List[List[float]]) -> List[List[float]]:
    if k < 0:
        raise PFARuntimeException("k must be nonnegative", 30010, "model.neighbor.nearestK", None)
    if len(codebook) == 0:
        return []
    dimensions = len(datum)
    for x in codebook:
        if len(x) != dimensions:
            raise PFARuntimeException("inconsistent dimensionality", 30011, "model.neighbor.nearestK", None)
    return [codebook[i] for i in arg_lowest_n(squared_distances(datum, codebook), k)]


def _nearest_k_metric(k: int, datum: Any, codebook: List[Any], metric: Callable[[Any, Any], Any]) -> List[Any]:
    if k < 0:
        raise PFARuntimeException("k must be nonnegative", 30010, "model.neighbor.nearestK", None)
    distances = [metric(datum, x) for x in codebook]
    return [codebook[i] for i in arg_lowest_n(distances, k)]


@native("model.neighbor.nearestK")
def _emit_nearest_k(site: Site) -> Optional[str]:
    return site.call(_nearest_k if len(site.args) == 3 else _nearest_k_metric)


def _ball_r(r: float, datum: List[float], codebook: List[List[float]]) -> List[List[float]]:
    distances = [math.sqrt(d) for d in squared_distances(datum, codebook)]
    return [x for x, d in zip(codebook, distances, strict=False) if d < r]


def _ball_r_metric(r: float, datum: Any, codebook: List[Any], metric: Callable[[Any, Any], Any]) -> List[Any]:
    distances = [metric(datum, x) for x in codebook]
    return [x for x, d in zip(codebook, distances, strict=False) if d < r]


@native("model.neighbor.ballR")
def _emit_ball_r(site: Site) -> Optional[str]:
    return site.call(_ball_r if len(site.args) == 3 else _ball_r_metric)
