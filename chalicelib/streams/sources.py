"""Lambda's SQS and Kinesis events, read into deliveries: what to score, where it came from, how to name it.

Each delivery has the identifier Lambda's ``batchItemFailures`` names (an SQS message id, a Kinesis sequence
number), the message body as bytes, and the ``source`` every result of it carries.
"""

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping


@dataclass(frozen=True)
class Delivery:
    item_id: str
    body: bytes
    source: Dict[str, Any]
    # Why the body could not even be taken out of the event (an undecodable Kinesis record), else "".
    unreadable: str = ""


def _arn_name(arn: str) -> str:
    """The queue's or stream's name from its ARN (``arn:aws:sqs:region:account:NAME``, ``...:stream/NAME``)."""
    return arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


def sqs_deliveries(event: Mapping[str, Any]) -> List[Delivery]:
    deliveries = []
    for record in event.get("Records") or []:
        body = record.get("body") or ""
        deliveries.append(Delivery(
            item_id=str(record.get("messageId", "")),
            body=body.encode("utf-8", "surrogatepass") if isinstance(body, str) else bytes(body),
            source={"type": "sqs", "queue": _arn_name(str(record.get("eventSourceARN", ""))),
                    "message_id": record.get("messageId")}))
    return deliveries


def kinesis_deliveries(event: Mapping[str, Any]) -> List[Delivery]:
    deliveries = []
    for record in event.get("Records") or []:
        kinesis = record.get("kinesis") or {}
        event_id = str(record.get("eventID", ""))
        source = {"type": "kinesis", "stream": _arn_name(str(record.get("eventSourceARN", ""))),
                  "shard": event_id.split(":", 1)[0] if ":" in event_id else None,
                  "sequence_number": kinesis.get("sequenceNumber"), "partition_key": kinesis.get("partitionKey")}
        try:
            body, unreadable = base64.b64decode(kinesis.get("data") or "", validate=True), ""
        except (binascii.Error, ValueError, TypeError):
            body, unreadable = b"", "the record's data is not base64"
        deliveries.append(Delivery(item_id=str(kinesis.get("sequenceNumber", "")), body=body, source=source,
                                   unreadable=unreadable))
    return deliveries
