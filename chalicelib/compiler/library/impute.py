"""PFA's ``impute.*`` functions (titus's ``lib/impute.py``).

``errorOnNull`` and ``defaultOnNull`` are native when the non-null type is neither a record nor a map:
for those titus takes a non-null dict value to be a tagged union and returns its first value, which
is left to titus's own implementation.
"""

import math  # noqa: I001  (titus is imported after titus_compat, which applies its shims)
from typing import Any, Callable, Dict, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native
from .types import AvroMap, AvroRecord, AvroUnion

_isnan = math.isnan
_isinf = math.isinf


def _error_on_null(x: Any) -> Any:
    if x is None:
        raise PFARuntimeException("encountered null", 21000, "impute.errorOnNull", None)
    return x


def _default_on_null(x: Any, default: Any) -> Any:
    return default if x is None else x


def _untags_dicts(avro_type: Any) -> bool:
    """Whether titus would take a dict value of this (result) type for a tagged union."""
    return not isinstance(avro_type, AvroUnion) and isinstance(avro_type, (AvroRecord, AvroMap))


@native("impute.errorOnNull")
def _emit_error_on_null(site: Site) -> Optional[str]:
    if _untags_dicts(site.ret_type):
        return None
    return site.call(_error_on_null)


@native("impute.defaultOnNull")
def _emit_default_on_null(site: Site) -> Optional[str]:
    if _untags_dicts(site.ret_type):
        return None
    return site.call(_default_on_null)


def _is_num(x: float) -> bool:
    return not _isnan(x) and not _isinf(x)


def _error_on_non_num(x: float) -> float:
    if _isnan(x):
        raise PFARuntimeException("encountered nan", 21050, "impute.errorOnNonNum", None)
    if _isinf(x):
        if x > 0.0:
            raise PFARuntimeException("encountered +inf", 21051, "impute.errorOnNonNum", None)
        raise PFARuntimeException("encountered -inf", 21052, "impute.errorOnNonNum", None)
    return x


def _default_on_non_num(x: float, default: float) -> float:
    return default if (_isnan(x) or _isinf(x)) else x


_SIMPLE: Dict[str, Callable[..., Any]] = {
    "impute.isnan": _isnan, "impute.isinf": _isinf, "impute.isnum": _is_num,
    "impute.errorOnNonNum": _error_on_non_num, "impute.defaultOnNonNum": _default_on_non_num,
}


@native(*_SIMPLE)
def _emit_simple(site: Site) -> Optional[str]:
    return site.call(_SIMPLE[site.name])
