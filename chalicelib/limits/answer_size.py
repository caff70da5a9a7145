"""How large an answer may be: Lambda returns at most 6 MB of JSON for a whole proxy response."""

import json
from typing import Any

from ..settings import LAMBDA_PAYLOAD_LIMIT

# Room in Lambda's payload limit for the proxy response around the body: status, headers.
RESPONSE_LIMIT = LAMBDA_PAYLOAD_LIMIT - 64 * 1024


def returned_size(text: str) -> int:
    """The bytes a JSON body ``text`` takes in Lambda's response, where the body is one JSON string:
    its quotes and backslashes are escaped again there."""
    return len(text) + text.count('"') + text.count("\\")


def value_size(value: Any) -> int:
    """What one plain JSON value adds to an answer."""
    return returned_size(json.dumps(value, separators=(",", ":")))
