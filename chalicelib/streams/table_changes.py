"""A DynamoDB table's change, as Kinesis Data Streams for DynamoDB writes it, read as a record to score.

Such a stream record is ``{"eventSource": "aws:dynamodb", "eventName": "INSERT" | "MODIFY" | "REMOVE",
"tableName": ..., "dynamodb": {"Keys": {...}, "NewImage": {...}, ...}}`` with attributes in DynamoDB's typed
JSON (``{"N": "0.02"}``, ``{"S": "a"}``, ``{"M": {...}}``, ...). The record scored is the new image without the
table's key attributes, in plain JSON (numbers as integers when whole, else doubles); the key is the result's
id (its value for a one-attribute key, else the key as compact JSON). A removal has no new image: it is
answered with an error, like any record that cannot be scored.
"""

import json
import math
from decimal import Decimal
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from ..errors import InvalidRequest, ServiceError

MAX_ID_CHARS = 256
Change = Tuple[Any, Optional[Union[str, int]], Optional[ServiceError]]

EVENT_SOURCE = "aws:dynamodb"
_SCALARS = {"S": str, "BOOL": bool}


def is_table_change(value: Any) -> bool:
    return type(value) is dict and value.get("eventSource") == EVENT_SOURCE and type(value.get("dynamodb")) is dict


def table_change(value: Mapping[str, Any]) -> Change:
    """(the record to score, the result's id, None), or (None, the id if known, the error) for a change record."""
    change = value["dynamodb"]
    try:
        keys = {name: plain(typed) for name, typed in (change.get("Keys") or {}).items()}
    except InvalidRequest as error:
        return None, None, error
    message_id = _key_id(keys)
    image = change.get("NewImage")
    if type(image) is not dict:
        event = value.get("eventName")
        return None, message_id, InvalidRequest(
            f"the table change {shown_event(event)} has no new image to score (the stream must carry new images: "
            f"StreamViewType NEW_IMAGE or NEW_AND_OLD_IMAGES)", field="dynamodb.NewImage")
    try:
        record = {name: plain(typed) for name, typed in image.items() if name not in keys}
    except InvalidRequest as error:
        return None, message_id, error
    return record, message_id, None


def plain(typed: Any) -> Any:
    """One attribute value of DynamoDB's typed JSON as plain JSON."""
    if type(typed) is not dict or len(typed) != 1:
        raise InvalidRequest(f"expected a DynamoDB attribute value such as {{\"N\": \"1\"}}, got "
                             f"{json.dumps(typed)[:60]}", field="dynamodb.NewImage")
    ((kind, value),) = typed.items()
    if kind in _SCALARS and type(value) is _SCALARS[kind]:
        return value
    if kind == "N" and type(value) is str:
        return _number(value)
    if kind == "NULL":
        return None
    if kind == "M" and type(value) is dict:
        return {name: plain(item) for name, item in value.items()}
    if kind == "L" and type(value) is list:
        return [plain(item) for item in value]
    if kind == "NS" and type(value) is list:
        return [_number(item) for item in value]
    if kind == "SS" and type(value) is list:
        return list(value)
    raise InvalidRequest(f"cannot score a DynamoDB attribute of type {kind!r} (binary and malformed values are not "
                         f"records)", field="dynamodb.NewImage")


def _number(text: Any) -> Union[int, float]:
    try:
        number = Decimal(str(text))
    except ArithmeticError:
        number = Decimal("NaN")
    if number.is_finite() and number == number.to_integral_value() and abs(number) < 2 ** 63:
        return int(number)
    if number.is_finite() and math.isfinite(float(number)):
        return float(number)
    raise InvalidRequest(f"expected a DynamoDB number within a double's range, got {str(text)[:60]!r}",
                         field="dynamodb.NewImage")


def _key_id(keys: Dict[str, Any]) -> Optional[Union[str, int]]:
    if len(keys) == 1:
        (value,) = keys.values()
        if type(value) is int or (type(value) is str and len(value) <= MAX_ID_CHARS):
            return value  # type: ignore[no-any-return]
    if not keys:
        return None
    text = json.dumps(keys, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_ID_CHARS else None


def shown_event(event: Any) -> str:
    return repr(event) if type(event) is str else "record"
