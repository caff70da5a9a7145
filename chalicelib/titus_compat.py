"""The one place that knows titus2 1.2.0 predates Python 3.11 and NumPy 1.24.

titus2 calls ``inspect.getargspec`` (removed in Python 3.11) and ``numpy.int``
(removed in NumPy 1.24, used by ``model.reg.gaussianProcess``). The shims are
applied before titus is first imported; every other module imports titus
through here.
"""

import inspect

import numpy

if not hasattr(inspect, "getargspec"):
    inspect.getargspec = inspect.getfullargspec  # type: ignore[attr-defined]
if "int" not in numpy.__dict__:
    numpy.int = int  # type: ignore[attr-defined]

from titus import errors as titus_errors  # noqa: E402
from titus.genpy import PFAEngine  # noqa: E402

__all__ = ["PFAEngine", "titus_errors"]
