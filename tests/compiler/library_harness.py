"""Checks one native library emitter against titus's own implementation of the function.

The emitter gets a :class:`Site` built as the compiler builds it (titus's signature matching gives the
resolved parameter and return types); its expression is evaluated on each input and compared with
titus's ``provides[name](state, scope, pos, paramTypes, *args)``: equal values (doubles bit for bit,
NaN equal to NaN, the sign of zero and int-versus-float kept), or errors with the same PFA code and
message (or, for Python errors titus lets through, the same exception class).
"""

import json  # noqa: I001  (titus is imported after titus_compat)
import math
from typing import Any, Callable, List, Optional, Sequence, Tuple

from chalicelib import titus_compat  # noqa: F401

from titus.errors import PFARuntimeException
from titus.lib import cast, core, impute, link, pfamath, pfastring
from titus.signature import PFAVersion

from chalicelib.compiler.library import Namespace, Site, lookup

PROVIDES = {**core.provides, **pfamath.provides, **link.provides, **cast.provides, **impute.provides,
            **pfastring.provides}
VERSION = PFAVersion(0, 8, 1)

NAN = float("nan")
INF = float("inf")
INT_MIN, INT_MAX = -2147483648, 2147483647
LONG_MIN, LONG_MAX = -9223372036854775808, 9223372036854775807
DOUBLES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.0, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 710.0,
           -710.0, 1.7976931348623157e308, 2147483647.5, -2147483648.5, 9.3e18, -9.3e18, math.pi, -math.e,
           123.456, NAN, INF, -INF]
INTS = [0, 1, -1, 2, -2, 3, 7, -7, 10, 31, 46341, -46341, 65536, INT_MAX, INT_MIN, INT_MAX - 1, INT_MIN + 1]
LONGS = INTS + [LONG_MAX, LONG_MIN, LONG_MAX - 1, LONG_MIN + 1, 2**32, -(2**32), 3037000500, -3037000500, 2**53 + 1]


def outcome(thunk: Callable[[], Any]) -> Tuple[str, Any]:
    try:
        return "value", thunk()
    except PFARuntimeException as err:
        return "pfa", (err.code, str(err))
    except Exception as err:  # noqa: BLE001  (titus lets some Python errors through)
        return "python", type(err).__name__


def same(x: Any, y: Any) -> bool:
    if type(x) is not type(y):
        return False
    if isinstance(x, float):
        if math.isnan(x):
            return math.isnan(y)
        return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
    if isinstance(x, list):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, dict):
        return list(x) == list(y) and all(same(x[k], y[k]) for k in x)
    return bool(x == y)


def emit(name: str, arg_types: Sequence[Any]) -> Tuple[Optional[Callable[..., Any]], List[Any], Any, str]:
    """The compiled function of one call site, its resolved types and the emitted code."""
    accepted = PROVIDES[name].sig.accepts(list(arg_types), VERSION)
    assert accepted is not None, f"{name} does not accept {arg_types}"
    _, param_types, ret_type = accepted
    namespace = Namespace()
    params = [f"a{i}" for i in range(len(arg_types))]
    emitter = lookup(name)
    assert emitter is not None, f"{name} is not native"
    code = emitter(Site(name, list(param_types), ret_type, params, None, namespace))
    if code is None:
        return None, list(param_types), ret_type, ""
    function = eval(f"lambda {', '.join(params)}: {code}", dict(namespace.values))  # noqa: S307
    return function, list(param_types), ret_type, code


def check(name: str, arg_types: Sequence[Any], inputs: Sequence[Sequence[Any]], lazy: Sequence[int] = (),
          untag: bool = False) -> int:
    """Compare the emitter and titus on every input; returns how many inputs were compared."""
    function, param_types, ret_type, code = emit(name, arg_types)
    assert function is not None, f"{name} on {arg_types} is not native"
    type_json = [json.loads(repr(t)) for t in [*param_types, ret_type]]
    fcn = PROVIDES[name]
    for args in inputs:
        titus_args = [(lambda v=v: v) if i in lazy else v for i, v in enumerate(args)]
        expected = outcome(lambda a=titus_args: fcn(None, None, None, type_json, *a))
        if untag and expected[0] == "value" and isinstance(expected[1], dict):
            expected = ("value", next(iter(expected[1].values())))
        actual = outcome(lambda a=args: function(*a))
        assert expected[0] == actual[0] and (same(expected[1], actual[1]) if expected[0] == "value"
                                             else expected[1] == actual[1]), \
            f"{name}{tuple(args)} on {arg_types}: titus {expected}, native {actual} (code {code})"
    return len(inputs)


def _differential() -> Any:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("differential", Path(__file__).with_name("differential.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def agree(name: str, arg_types: Sequence[Any], ret_type: Any, inputs: Sequence[Sequence[Any]]) -> int:
    """Both engines on a document whose action is ``name`` applied to the input record's fields."""
    fields = [{"name": f"a{i}", "type": t} for i, t in enumerate(arg_types)]
    document = {"input": {"type": "record", "name": "Args", "fields": fields}, "output": ret_type,
                "action": [{name: [f"input.a{i}" for i in range(len(arg_types))]}]}
    data = [{f"a{i}": v for i, v in enumerate(args)} for args in inputs]
    return int(_differential().assert_agree(document, data))
