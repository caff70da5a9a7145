"""PFA's ``m.link.*`` functions (titus's ``lib/link.py``).

Each formula is titus's, operation for operation (``1/(1 + exp(-x))`` for the logit, ``log(1 + exp(x))``
for softplus, ...), so results are bit-identical and an overflow in ``math.exp`` raises Python's
OverflowError as in titus. Arrays and maps give new containers; maps keep their key order.
"""

import math  # noqa: I001  (titus is imported after titus_compat, which applies its shims)
from typing import Any, Callable, Dict, List, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native
from .types import AvroArray, AvroMap

_exp = math.exp
_atan = math.atan
_erf = math.erf
_log = math.log
_tanh = math.tanh
_isnan = math.isnan
_NAN = float("nan")
_SQRT2 = math.sqrt(2.)
_INV_PI = 1. / math.pi


def _softmax_array(x: List[float]) -> List[float]:
    if len(x) == 0:
        raise PFARuntimeException("empty input", 25000, "m.link.softmax", None)
    tmp = list(map(abs, x))
    if x[tmp.index(max(tmp))] >= 0:
        m = max(x)
    else:
        m = min(x)
    denom = sum([_exp(v - m) for v in x])
    return [float(_exp(v - m) / denom) for v in x]


def _softmax_map(x: Dict[str, float]) -> Dict[str, float]:
    if len(x) == 0:
        raise PFARuntimeException("empty input", 25000, "m.link.softmax", None)
    values = list(x.values())
    tmp = list(map(abs, values))
    if values[tmp.index(max(tmp))] >= 0:
        m = max(values)
    else:
        m = min(values)
    denom = sum([_exp(v - m) for v in values])
    return {k: float(_exp(v - m) / denom) for k, v in x.items()}


@native("m.link.softmax")
def _emit_softmax(site: Site) -> Optional[str]:
    return site.call(_softmax_map if isinstance(site.param_types[0], AvroMap) else _softmax_array)


def _logit(y: Any) -> float:
    return 1. / (1. + _exp(-y))


def _probit(y: Any) -> float:
    return (_erf(y / _SQRT2) + 1.) / 2.


def _cloglog(y: Any) -> float:
    return 1. - _exp(-_exp(y))


def _loglog(y: Any) -> float:
    return _exp(-_exp(y))


def _cauchit(y: Any) -> float:
    return 0.5 + _INV_PI * _atan(y)


def _softplus(y: Any) -> float:
    return _log(1.0 + _exp(y))


def _relu(y: Any) -> float:
    return _NAN if _isnan(y) else float(max(0, y))


def _tanh1(y: Any) -> float:
    return float(_tanh(y))


def _logit_array(x: List[Any]) -> List[float]:
    return [1. / (1. + _exp(-y)) for y in x]


def _logit_map(x: Dict[str, Any]) -> Dict[str, float]:
    return {k: 1. / (1. + _exp(-y)) for k, y in x.items()}


def _on_array(f: Callable[[Any], float]) -> Callable[[List[Any]], List[float]]:
    def apply(x: List[Any]) -> List[float]:
        return [f(y) for y in x]
    return apply


def _on_map(f: Callable[[Any], float]) -> Callable[[Dict[str, Any]], Dict[str, float]]:
    def apply(x: Dict[str, Any]) -> Dict[str, float]:
        return {k: f(y) for k, y in x.items()}
    return apply


_SCALAR: Dict[str, Callable[[Any], float]] = {
    "m.link.logit": _logit, "m.link.probit": _probit, "m.link.cloglog": _cloglog,
    "m.link.loglog": _loglog, "m.link.cauchit": _cauchit, "m.link.softplus": _softplus,
    "m.link.relu": _relu, "m.link.tanh": _tanh1,
}
_ARRAY: Dict[str, Callable[[List[Any]], List[float]]] = {
    name: _on_array(f) for name, f in _SCALAR.items()}
_MAP: Dict[str, Callable[[Dict[str, Any]], Dict[str, float]]] = {
    name: _on_map(f) for name, f in _SCALAR.items()}
_ARRAY["m.link.logit"] = _logit_array
_MAP["m.link.logit"] = _logit_map


@native(*_SCALAR)
def _emit_link(site: Site) -> Optional[str]:
    avro_type = site.param_types[0]
    if isinstance(avro_type, AvroArray):
        return site.call(_ARRAY[site.name])
    if isinstance(avro_type, AvroMap):
        return site.call(_MAP[site.name])
    if site.name == "m.link.logit":
        return f"(1. / (1. + {site.helper(_exp)}(-({site.args[0]}))))"
    return site.call(_SCALAR[site.name])
