"""``m.kernel.*``: kernels of two vectors, ported from titus ``lib/kernel.py`` with its exact semantics.

The same Python operations in the same order as titus (``sum`` of a list, ``abs(d)**2``), so the
results are bit for bit titus's, and so are its Python errors (``OverflowError`` of ``**`` and
``math.exp`` on huge values).
"""

import math  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
from typing import Any, List

from .registry import Site, native
from . import types  # noqa: F401  (the titus shims)

from titus.errors import PFARuntimeException
from titus.lib.core import powLikeJava


def _dot(x: List[Any], y: List[Any], code: int, name: str) -> Any:
    if len(x) != len(y):
        raise PFARuntimeException("arrays must have same length", code, name, None)
    return sum([i * j for i, j in zip(x, y)])  # noqa: B905  (lengths checked)


def _linear(x: List[Any], y: List[Any]) -> Any:
    return _dot(x, y, 23000, "m.kernel.linear")


def _rbf(x: List[Any], y: List[Any], gamma: Any) -> float:
    if len(x) != len(y):
        raise PFARuntimeException("arrays must have same length", 23010, "m.kernel.rbf", None)
    diff = [abs(i - j) ** 2 for i, j in zip(x, y)]  # noqa: B905  (lengths checked)
    return math.exp(-gamma * sum(diff))


def _poly(x: List[Any], y: List[Any], gamma: Any, intercept: Any, degree: Any) -> Any:
    return powLikeJava(gamma * _dot(x, y, 23020, "m.kernel.poly") + intercept, degree)


def _sigmoid(x: List[Any], y: List[Any], gamma: Any, intercept: Any) -> float:
    return math.tanh(gamma * _dot(x, y, 23030, "m.kernel.sigmoid") + intercept)


_KERNELS = {"m.kernel.linear": _linear, "m.kernel.rbf": _rbf, "m.kernel.poly": _poly, "m.kernel.sigmoid": _sigmoid}


@native(*_KERNELS)
def _emit_kernel(site: Site) -> str:
    return site.call(_KERNELS[site.name])
