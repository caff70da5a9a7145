"""What one queue message or stream record asks for: which model, which id, which records.

A message is UTF-8 JSON. An object with a ``record`` or ``records`` key is an *envelope*:
``{"id"?: str | int, "model"?: name, "record": <record>}`` or ``{..., "records": [<record>, ...]}``.
A DynamoDB table's change record (as Kinesis Data Streams for DynamoDB writes it) is its new image, keyed
by the table's key (:mod:`.table_changes`). Anything else is one bare record for the default model.

A message that cannot be read as any of these is answered with one error (``MalformedJson``,
``PayloadTooLarge``, ``InvalidRequest``, ``InvalidModelName``), never retried: sending it again would not
change it.
"""

from dataclasses import dataclass, field
from typing import Any, List, Optional, Union

from ..errors import InvalidModelName, InvalidRequest, PayloadTooLarge, ServiceError
from ..model_names import check_model_name
from ..request_body import read_json
from ..validation import shown
from .table_changes import MAX_ID_CHARS, is_table_change, table_change

RECORD = "record"
RECORDS = "records"
ID = "id"
MODEL = "model"
ENVELOPE_KEYS = (ID, MODEL, RECORD, RECORDS)
_WHAT = 'one JSON record, or an envelope {"id", "model", "record" | "records"}'

MessageId = Union[str, int, None]


@dataclass
class Message:
    """A readable message: records to score with ``model`` (None: the default model), or ``error``."""

    records: List[Any] = field(default_factory=list)
    id: MessageId = None
    model: Optional[str] = None
    error: Optional[ServiceError] = None


def read_message(body: bytes, max_bytes: int, max_records: int) -> Message:
    """The message in ``body``; a message that cannot be read carries its ``error`` instead of records."""
    try:
        value = read_json(body, max_bytes, what=_WHAT, subject="message body")
    except ServiceError as error:
        return Message(error=error)
    if is_table_change(value):
        record, message_id, refused = table_change(value)
        if refused is not None:
            return Message(id=message_id, error=refused)
        return Message(records=[record], id=message_id)
    if type(value) is not dict or (RECORD not in value and RECORDS not in value):
        return Message(records=[value])
    try:
        return _envelope(value, max_records)
    except ServiceError as error:
        return Message(id=_id_or_none(value.get(ID)), error=error)


def _envelope(value: dict, max_records: int) -> Message:
    unknown = sorted(key for key in value if key not in ENVELOPE_KEYS)
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0][:60]!r} in the envelope; expected fields: "
                             f"{', '.join(ENVELOPE_KEYS)}", field=unknown[0][:60])
    if RECORD in value and RECORDS in value:
        raise InvalidRequest(f"an envelope has either {RECORD!r} (one record) or {RECORDS!r} (a list), "
                             f"got both", field=RECORDS)
    message_id = _checked_id(value.get(ID))
    model = value.get(MODEL)
    if model is not None:
        if type(model) is not str:
            raise InvalidRequest(f"expected a model name (string), got {shown(model)}", field=MODEL)
        try:
            check_model_name(model)
        except InvalidModelName as error:
            error.field = MODEL
            raise
    if RECORD in value:
        return Message(records=[value[RECORD]], id=message_id, model=model)
    records = value[RECORDS]
    if type(records) is not list:
        raise InvalidRequest(f"expected an array of records, got {shown(records)}", field=RECORDS)
    if not records:
        raise InvalidRequest("expected at least one record, got an empty array", field=RECORDS)
    if len(records) > max_records:
        raise PayloadTooLarge(f"expected at most {max_records} records (MAX_BATCH_RECORDS), got {len(records)}",
                              field=RECORDS)
    return Message(records=records, id=message_id, model=model)


def _checked_id(value: Any) -> MessageId:
    if value is None:
        return None
    if type(value) is int or (type(value) is str and len(value) <= MAX_ID_CHARS):
        return value  # type: ignore[no-any-return]
    raise InvalidRequest(f"expected an id (a string of at most {MAX_ID_CHARS} characters, or an integer), "
                         f"got {shown(value)}", field=ID)


def _id_or_none(value: Any) -> MessageId:
    try:
        return _checked_id(value)
    except InvalidRequest:
        return None
