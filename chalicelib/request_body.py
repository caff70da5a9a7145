"""Reading a request body as strict JSON.

Strict: UTF-8 only; no ``NaN``/``Infinity`` literals; no duplicate keys; bounded
size. Every failure is a caller-facing error. A number too large for a double
(``1e999``) parses as infinity here and is refused by input validation, which
names its field: every number of a record is checked there.
"""

import json
from typing import Any, List, Tuple, Union

from .errors import MalformedJson, PayloadTooLarge


def read_json(raw_body: Union[bytes, str], max_bytes: int, what: str = "one JSON record",
              subject: str = "request body", allow_nan: bool = False) -> Any:
    """The JSON value of ``raw_body``; ``subject`` is how messages name it (a queue message is not a request).

    ``allow_nan`` reads ``NaN`` and ``Infinity`` as floats (what Python's and NumPy's JSON writers send for
    them), for a caller that turns them into what they stand for itself.
    """
    if isinstance(raw_body, str):
        raw_body = raw_body.encode("utf-8")
    if len(raw_body) > max_bytes:
        raise PayloadTooLarge(f"{subject} is {len(raw_body)} bytes, over the limit of {max_bytes} bytes")
    if not raw_body.strip():
        raise MalformedJson(f"{subject} is empty; expected {what}")
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJson(f"{subject} is not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return json.loads(text, parse_constant=float if allow_nan else _reject_constant,
                          object_pairs_hook=_unique_keys)
    except MalformedJson as error:
        raise MalformedJson(error.message.replace("request body", subject, 1)) from None
    except RecursionError:
        raise MalformedJson(f"{subject} is nested too deeply") from None
    except ValueError as error:
        if "integer string conversion" in str(error):  # Python reads at most 4300 digits of an integer
            raise MalformedJson(f"{subject} has an integer of over 4300 digits; no model takes one") from None
        raise MalformedJson(f"{subject} is not valid JSON: {error}") from None


def _reject_constant(name: str) -> Any:
    raise MalformedJson(f"request body is not standard JSON: {name} is not a JSON number")


def _unique_keys(pairs: List[Tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJson(f"request body has a duplicate key {key!r}")
            seen.add(key)
    return result
