"""Reading a request body as strict JSON.

Strict: UTF-8 only; no ``NaN``/``Infinity`` and no number too large for a
double; no duplicate keys; bounded size. Every failure is a caller-facing error.
"""

import json
import math
import re
from typing import Any, List, Tuple, Union

from .errors import MalformedJson, PayloadTooLarge

_MAYBE_HUGE = re.compile(r"[eE][+]?0*[1-9][0-9]{2}|[0-9]{300}")


def read_json(raw_body: Union[bytes, str], max_bytes: int, what: str = "one JSON record") -> Any:
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    if len(raw_body) > max_bytes:
        raise PayloadTooLarge(f"request body is {len(raw_body)} bytes, over the limit of {max_bytes} bytes")
    if not raw_body.strip():
        raise MalformedJson(f"request body is empty; expected {what}")
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJson(f"request body is not UTF-8 ({error.reason} at byte {error.start})") from None
    # Only a number with a 3-digit exponent or hundreds of digits can overflow a double; checking each
    # number in Python costs more than the parse itself, so that check runs only when one is there.
    parse_float = _finite_float if _MAYBE_HUGE.search(text) else float
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=parse_float,
                          object_pairs_hook=_unique_keys)
    except MalformedJson:
        raise
    except RecursionError:
        raise MalformedJson("request body is nested too deeply") from None
    except ValueError as error:
        raise MalformedJson(f"request body is not valid JSON: {error}") from None


def _reject_constant(name: str) -> Any:
    raise MalformedJson(f"request body is not standard JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise MalformedJson(f"request body has a number out of the range of a double: {text[:40]}")
    return value


def _unique_keys(pairs: List[Tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJson(f"request body has a duplicate key {key!r}")
            seen.add(key)
    return result
