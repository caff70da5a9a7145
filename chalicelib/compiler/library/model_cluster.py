"""``model.cluster.closest`` and ``closestN``: the nearest cluster centres.

Without a metric the distance is titus's ``sum((d - c)**2 ...)`` over ``zip`` (which stops at the shorter
vector), added by Python's ``sum`` as titus adds it. Ties and NaN go as in titus's ``argLowestN``: a later
distance wins only if strictly less.
"""

from typing import Any, Callable, Dict, List, Optional  # noqa: I001  (titus_compat must be imported before titus)

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native


def arg_lowest_n(distances: List[Any], n: int) -> List[int]:
    """titus's ``argLowestN(distances, n, <)``: indexes of the n lowest, earlier first among equals."""
    out: List[Any] = []
    for i, x in enumerate(distances):
        for index, (_, best) in enumerate(out):
            if x < best:
                out.insert(index, (i, x))
                break
        else:
            out.append((i, x))
        if len(out) > n:
            out.pop()
    return [i for i, _ in out]


def arg_lowest(distances: List[Any]) -> int:
    """``arg_lowest_n(distances, 1)[0]`` for a non-empty list."""
    best_index = 0
    best = distances[0]
    for i in range(1, len(distances)):
        if distances[i] < best:
            best_index, best = i, distances[i]
    return best_index


def squared_distances(datum: List[float], points: List[List[float]]) -> List[Any]:
    return [sum([(di - xi)**2 for di, xi in zip(datum, x, strict=False)]) for x in points]


def _closest(datum: List[float], clusters: List[Dict[str, Any]]) -> Dict[str, Any]:
    if len(clusters) == 0:
        raise PFARuntimeException("no clusters", 29000, "model.cluster.closest", None)
    return clusters[arg_lowest(squared_distances(datum, [x["center"] for x in clusters]))]


def _closest_metric(datum: Any, clusters: List[Dict[str, Any]], metric: Callable[[Any, Any], Any]) -> Dict[str, Any]:
    if len(clusters) == 0:
        raise PFARuntimeException("no clusters", 29000, "model.cluster.closest", None)
    return clusters[arg_lowest([metric(datum, x["center"]) for x in clusters])]


@native("model.cluster.closest")
def _emit_closest(site: Site) -> Optional[str]:
    return site.call(_closest if len(site.args) == 2 else _closest_metric)


def _closest_n(n: int, datum: List[float], clusters: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    if n < 0:
        raise PFARuntimeException("n must be nonnegative", 29010, "model.cluster.closestN", None)
    distances = squared_distances(datum, [x["center"] for x in clusters])
    return [clusters[i] for i in arg_lowest_n(distances, n)]


def _closest_n_metric(n: int, datum: Any, clusters: List[Dict[str, Any]],
                      metric: Callable[[Any, Any], Any]) -> List[Dict[str, Any]]:
    if n < 0:
        raise PFARuntimeException("n must be nonnegative", 29010, "model.cluster.closestN", None)
    distances = [metric(datum, x["center"]) for x in clusters]
    return [clusters[i] for i in arg_lowest_n(distances, n)]


@native("model.cluster.closestN")
def _emit_closest_n(site: Site) -> Optional[str]:
    return site.call(_closest_n if len(site.args) == 3 else _closest_n_metric)
