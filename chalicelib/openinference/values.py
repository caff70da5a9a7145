"""A tensor's values checked in the caller's terms before they meet the model's validation: of the datatype
the tensor declares, within what the model's type holds, and NaN as a missing value."""

from typing import Any, List, Optional, Tuple

from ..errors import InvalidInput
from ..validation import shown
from .tensors import Tensor

# The largest integers a double (and a float) holds exactly, and the largest float.
_EXACT = {"double": 2 ** 53, "float": 2 ** 24}
_FLOAT_MAX = 3.4028234663852886e38
_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_INTEGER_RANGES = {"INT32": (-(2 ** 31), 2 ** 31 - 1), "INT64": (-(2 ** 63), 2 ** 63 - 1)}


def typed(values: List[Any], datatype: str, width: int, tensor: Tensor) -> List[Any]:
    """JSON values checked against the datatype the caller declared (a null passes: validation decides). BYTES
    strings are UTF-8 text, as the protocol's clients write them: for a bytes or fixed input, their UTF-8
    bytes. The strings "NaN", "Infinity" and "-Infinity" in a float tensor are those numbers (as answers
    write them)."""
    if datatype in ("FP64", "FP32"):
        accepted: Tuple[type, ...] = (float, int)
    elif datatype in _INTEGER_RANGES:
        accepted = (int,)
    elif datatype == "BOOL":
        accepted = (bool,)
    else:
        accepted = (str,)
    low, high = _INTEGER_RANGES.get(datatype, (None, None))
    converted: Optional[List[Any]] = None
    for index, value in enumerate(values):
        kind = type(value)
        if value is None or (kind in accepted and (low is None or low <= value <= high)):
            continue
        if accepted[0] is float and kind is str and value in _NON_FINITE:
            converted = converted if converted is not None else list(values)
            converted[index] = _NON_FINITE[value]
            continue
        what = " (out of its range)" if kind is int and low is not None else ""
        raise InvalidInput(f"row {index // width} of {len(values) // width}, input {tensor.name!r}: expected "
                           f"{datatype}, got {got(value)}{what}", field=tensor.name)
    values = converted if converted is not None else values
    if datatype == "BYTES" and tensor.kind in ("bytes", "fixed"):
        return [None if value is None else value.encode("utf-8").decode("latin-1") for value in values]
    return values


def fits(values: List[Any], datatype: str, width: int, tensor: Tensor) -> None:
    """A value another datatype brings to a double or float input must be one it holds: an integer it holds
    exactly, a number within a float's range (never rounded without a word)."""
    exact = _EXACT.get(tensor.kind)
    if exact is None or datatype == tensor.datatype:
        return
    for index, value in enumerate(values):
        if type(value) is int and not -exact <= value <= exact:
            problem = f"the integer {brief(value)} has no exact {tensor.kind} (beyond 2^{exact.bit_length() - 1})"
        elif type(value) is float and tensor.kind == "float" and _FLOAT_MAX < abs(value) < float("inf"):
            problem = f"{value!r} is beyond a float's range"
        else:
            continue
        raise InvalidInput(f"row {index // width} of {len(values) // width}, input {tensor.name!r}: {problem}; "
                           f"send it as {tensor.datatype}", field=tensor.name)


def missing(values: List[Any], width: int, tensor: Tensor) -> List[Any]:
    """NaN is a missing value: null in a nullable input, refused in any other."""
    if tensor.datatype not in ("FP64", "FP32"):
        return values
    if tensor.nullable:
        return [None if value != value else value for value in values]  # only NaN is not equal to itself
    for index, value in enumerate(values):
        if value != value:
            raise InvalidInput(f"row {index // width} of {len(values) // width}, input {tensor.name!r}: got NaN "
                               f"(a missing value), but the input is not nullable", field=tensor.name)
    return values


def got(value: Any) -> str:
    return "nothing" if value is None else shown(value)


def brief(value: Any) -> str:
    """A caller's shape or value, cut short (never its whole text)."""
    text = shown(value)
    return text.split(" ", 1)[1] if text.startswith(("array ", "integer ")) else text
