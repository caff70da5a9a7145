"""``model.reg.linear`` and ``model.reg.linearVariance``.

The array forms make titus's numpy calls on the same arrays (numpy's ``dot`` goes to BLAS, whose order of
summation a Python loop would not reproduce); a call site keeps the last model's coefficient array, so a
model held in a cell is converted once. The map forms are titus's loops over its key sets, in its order.
"""

import json  # noqa: I001  (titus_compat must be imported before titus)
from typing import Any, Callable, Dict, List, Optional

import numpy

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native

_LINEAR = "model.reg.linear"
_VARIANCE = "model.reg.linearVariance"


def _field_json(record_type: Any, name: str) -> Any:
    """A record field's type in the JSON form titus's implementation compares against."""
    return next(field["type"] for field in json.loads(repr(record_type))["fields"] if field["name"] == name)


def _array(items: Any) -> Dict[str, Any]:
    return {"type": "array", "items": items}


def _map(values: Any) -> Dict[str, Any]:
    return {"type": "map", "values": values}


def _linear_vector() -> Callable[[List[float], Dict[str, Any]], float]:
    """``datum . coeff + const`` for one call site, remembering the last model's numpy coefficients."""
    last: List[Any] = [None, None]

    def linear(datum: List[float], model: Dict[str, Any]) -> float:
        if model is last[0]:
            coeff = last[1]
        else:
            coeff = numpy.array(model["coeff"] + [model["const"]])
            last[0], last[1] = model, coeff
        x = numpy.array(datum + [1.0])
        if len(x) != len(coeff):
            raise PFARuntimeException("misaligned coeff", 31000, _LINEAR, None)
        return float(numpy.dot(coeff, x))

    return linear


def _linear_matrix() -> Callable[[List[float], Dict[str, Any]], Any]:
    """``coeff . datum + const`` (one row per output), titus's ``vstack`` and ``dot`` on the same arrays."""
    last: List[Any] = [None, None]

    def linear(datum: List[float], model: Dict[str, Any]) -> Any:
        if len(model["const"]) != len(model["coeff"]):
            raise PFARuntimeException("misaligned const", 31001, _LINEAR, None)
        if any(len(row) != len(datum) for row in model["coeff"]):
            raise PFARuntimeException("misaligned coeff", 31000, _LINEAR, None)
        if len(datum) == 0:
            return model["const"]
        if len(model["const"]) == 0:
            return []
        if model is last[0]:
            coeff_t = last[1]
        else:
            coeff = numpy.array(model["coeff"])
            const = numpy.array(model["const"])
            coeff_t = numpy.vstack((coeff.T, const)).T
            last[0], last[1] = model, coeff_t
        x = numpy.array(datum + [1.0])
        return list(map(float, numpy.dot(coeff_t, x)))

    return linear


def _linear_map(datum: Dict[str, float], model: Dict[str, Any]) -> float:
    coeff = model["coeff"]
    const = model["const"]
    out = 0.0
    for key in set(list(datum.keys()) + list(coeff.keys())):
        out += datum.get(key, 0.0) * coeff.get(key, 0.0)
    return float(out + const)


def _linear_map_matrix(datum: Dict[str, float], model: Dict[str, Any]) -> Dict[str, float]:
    coeff = model["coeff"]
    const = model["const"]
    out_map = {}
    inner_keys = set(list(datum.keys()) + sum([list(x.keys()) for x in list(coeff.values())], []))
    outer_keys = set(list(const.keys()) + list(coeff.keys()))
    for outer_key in outer_keys:
        out = 0.0
        row = coeff.get(outer_key, {})
        for inner_key in inner_keys:
            out += datum.get(inner_key, 0.0) * row.get(inner_key, 0.0)
        out_map[outer_key] = float(out + const.get(outer_key, 0.0))
    return out_map


@native(_LINEAR)
def _emit_linear(site: Site) -> Optional[str]:
    coeff_type = _field_json(site.param_types[1], "coeff")
    if coeff_type == _array("double"):
        return site.call(_linear_vector())
    if coeff_type == _array(_array("double")):
        return site.call(_linear_matrix())
    if coeff_type == _map("double"):
        return site.call(_linear_map)
    return site.call(_linear_map_matrix)  # titus's last case: any other coefficient type


def _variance_vector(datum: List[float], model: Dict[str, Any]) -> float:
    datum = datum + [1.0]
    covar = model["covar"]
    if len(datum) != len(covar) or any(len(datum) != len(x) for x in covar):
        raise PFARuntimeException("misaligned covariance", 31010, _VARIANCE, None)
    x = numpy.matrix([datum])
    c = numpy.matrix(covar)
    return float(x.dot(c.dot(x.T))[0][0])


def _variance_vectors(datum: List[float], model: Dict[str, Any]) -> List[float]:
    datum = datum + [1.0]
    x = numpy.matrix([datum])
    out = []
    for covar in model["covar"]:
        if len(datum) != len(covar) or any(len(datum) != len(row) for row in covar):
            raise PFARuntimeException("misaligned covariance", 31010, _VARIANCE, None)
        c = numpy.matrix(covar)
        out.append(float(x.dot(c.dot(x.T))[0][0]))
    return out


def _variance_map(datum: Dict[str, float], model: Dict[str, Any]) -> float:
    datum = dict(list(datum.items()) + [("", 1.0)])
    covar = model["covar"]
    keys = list(set(list(datum.keys()) + sum([list(x.keys()) for x in list(covar.values())], [])))
    x = numpy.matrix([[datum.get(k, 0.0) for k in keys]])
    c = numpy.matrix([[covar.get(i, {}).get(j, 0.0) for j in keys] for i in keys])
    return float(x.dot(c.dot(x.T))[0][0])


@native(_VARIANCE)
def _emit_linear_variance(site: Site) -> Optional[str]:
    covar_type = _field_json(site.param_types[1], "covar")
    if covar_type == _array(_array("double")):
        return site.call(_variance_vector)
    if covar_type == _array(_array(_array("double"))):
        return site.call(_variance_vectors)
    if covar_type == _map(_map("double")):
        return site.call(_variance_map)
    return None  # the map of maps of maps: left to titus
