"""``model.naive.*``: naive Bayes log-likelihoods (titus's sums, term by term in its order)."""

import math  # noqa: I001  (titus_compat must be imported before titus)
from typing import Any, Dict, List, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native
from .types import AvroArray, AvroRecord

_TINY = 2.2250738585072014e-308
_GAUSSIAN = "model.naive.gaussian"
_MULTINOMIAL = "model.naive.multinomial"


def _gaussian_array(datum: List[float], class_model: List[Dict[str, float]]) -> float:
    if len(datum) != len(class_model):
        raise PFARuntimeException("datum and classModel misaligned", 10000, _GAUSSIAN, None)
    log = math.log
    two_pi = 2. * math.pi
    ll = 0.0
    for x, feature in zip(datum, class_model, strict=False):
        mu = feature["mean"]
        vari = feature["variance"]
        if vari <= 0.0:
            raise PFARuntimeException("variance less than or equal to zero", 10001, _GAUSSIAN, None)
        ll += -0.5 * log(two_pi * vari)
        ll += -0.5 * ((x - mu)**2 / vari)
    return ll


def _gaussian_map(datum: Dict[str, float], class_model: Dict[str, Dict[str, float]]) -> float:
    datum_keys = list(datum.keys())
    if set(datum_keys) != set(class_model.keys()):
        raise PFARuntimeException("datum and classModel misaligned", 10000, _GAUSSIAN, None)
    ll = 0.0
    for feature in datum_keys:
        x = datum[feature]
        mu = class_model[feature]["mean"]
        vari = class_model[feature]["variance"]
        if vari <= 0.0:
            raise PFARuntimeException("variance less than or equal to zero", 10001, _GAUSSIAN, None)
        ll += -0.5 * math.log(2. * math.pi * vari)
        ll += -0.5 * ((x - mu)**2 / vari)
    return ll


@native(_GAUSSIAN)
def _emit_gaussian(site: Site) -> Optional[str]:
    return site.call(_gaussian_array if isinstance(site.param_types[0], AvroArray) else _gaussian_map)


def _multinomial_array(datum: List[float], class_model: List[float]) -> float:
    ll = 0.0
    normalizing = sum(class_model)
    if len(class_model) == 0 or not all(x > 0.0 for x in class_model):
        raise PFARuntimeException("classModel must be non-empty and strictly positive", 10011, _MULTINOMIAL, None)
    if len(datum) != len(class_model):
        raise PFARuntimeException("datum and classModel misaligned", 10010, _MULTINOMIAL, None)
    for d, p in zip(datum, class_model, strict=False):
        p = p / normalizing + _TINY
        ll += d * math.log(p)
    return ll


def _multinomial_map(datum: Dict[str, float], class_model: Dict[str, float]) -> float:
    """titus's map form takes the log of the unnormalised value (a quirk kept as it is)."""
    ll = 0.0
    datum_keys = list(datum.keys())
    if len(class_model) == 0 or not all(x > 0.0 for x in list(class_model.values())):
        raise PFARuntimeException("classModel must be non-empty and strictly positive", 10011, _MULTINOMIAL, None)
    if set(datum_keys) != set(class_model.keys()):
        raise PFARuntimeException("datum and classModel misaligned", 10010, _MULTINOMIAL, None)
    for d in datum_keys:
        ll += datum[d] * math.log(class_model[d])
    return ll


def _multinomial_array_record(datum: List[float], class_model: Dict[str, Any]) -> float:
    return _multinomial_array(datum, class_model["values"])


def _multinomial_map_record(datum: Dict[str, float], class_model: Dict[str, Any]) -> float:
    return _multinomial_map(datum, class_model["values"])


@native(_MULTINOMIAL)
def _emit_multinomial(site: Site) -> Optional[str]:
    record = isinstance(site.param_types[1], AvroRecord)
    if isinstance(site.param_types[0], AvroArray):
        return site.call(_multinomial_array_record if record else _multinomial_array)
    return site.call(_multinomial_map_record if record else _multinomial_map)


def _bernoulli(datum: List[str], class_model: Dict[str, float]) -> float:
    ll = 0.0
    for v in list(class_model.values()):
        if (v <= 0.0) or (v >= 1.0):
            raise PFARuntimeException("probability in classModel cannot be less than 0 or greater than 1", 10020,
                                      "model.naive.bernoulli", None)
        ll += math.log(1.0 - v)
    for item in datum:
        p = class_model.get(item, None)
        if p is not None:
            ll += math.log(p) - math.log(1.0 - p)
    return ll


def _bernoulli_record(datum: List[str], class_model: Dict[str, Any]) -> float:
    return _bernoulli(datum, class_model["values"])


@native("model.naive.bernoulli")
def _emit_bernoulli(site: Site) -> Optional[str]:
    return site.call(_bernoulli_record if isinstance(site.param_types[1], AvroRecord) else _bernoulli)
