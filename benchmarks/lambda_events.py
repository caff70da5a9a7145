"""Lambda invocations without Lambda: the events API Gateway (REST, proxy integration), an SQS event source mapping
and a Kinesis one send, a context object, and one invocation as the Lambda runtime runs it in Python (decode the
event, call the app or the handler, encode its answer)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import app as app_module

LAMBDA_MEMORY_MB = 512  # only for the fake Lambda context; cost.py reads .chalice/config.json
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
# .chalice/config.json gives score_queue and score_stream 60 s.
EVENT_HANDLER_TIMEOUT_S = 60
# SQS's receipt handles run to a few hundred characters; one of that length keeps an event's size what Lambda sends.
_RECEIPT_HANDLE_CHARS = 240
# The first sequence number of a shard, as Kinesis writes them (56 digits).
_FIRST_SEQUENCE = 49590338271490256608559692538361571095921575989136588898


class LambdaContext:
    """The attributes of Lambda's context object that the app may read."""

    function_name = "pfa-serving-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = LAMBDA_MEMORY_MB
    aws_request_id = "0b5e1c2d-bench-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CONTEXT = LambdaContext()


class EventContext(LambdaContext):
    """The context of one invocation of a queue or stream handler, whose time runs down from the function's
    timeout as on Lambda (the handlers keep back time for their last results)."""

    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{LambdaContext.function_name}"

    def __init__(self, timeout_s: float = EVENT_HANDLER_TIMEOUT_S) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def api_event(path: str, resource: str, body: str, path_parameters: Optional[Dict[str, str]] = None) -> str:
    """A REST API proxy event for ``POST path``, as JSON text (what the Lambda runtime receives)."""
    headers = {
        "Accept": "*/*", "Content-Type": "application/json", "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "python-requests/2.32", "X-Amzn-Trace-Id": "Root=1-6740c3a1-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
    }
    event = {
        "resource": resource, "path": path, "httpMethod": "POST", "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": "POST", "path": f"/api{path}", "stage": "api",
            "requestId": str(uuid.uuid4()), "accountId": "123456789012", "apiId": "abcdef1234",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": headers["User-Agent"]},
            "protocol": "HTTP/1.1", "requestTimeEpoch": 1732240000000,
        },
        "body": body, "isBase64Encoded": False,
    }
    return json.dumps(event)


def message_id(batch: int, position: int) -> str:
    """The SQS message id of record ``position`` in event ``batch``: unique, and shaped like SQS's."""
    return str(uuid.UUID(int=(batch << 64) | position))


def sequence_number(batch: int, position: int) -> str:
    """The Kinesis sequence number of record ``position`` in event ``batch``: unique and increasing."""
    return str(_FIRST_SEQUENCE + batch * 100_000 + position)


def sqs_record(body: str, batch: int, position: int, queue: str) -> Dict[str, Any]:
    """One message of an SQS event source mapping's event, as Lambda sends it."""
    handle = hashlib.sha256(f"{batch}:{position}".encode()).hexdigest()
    return {
        "messageId": message_id(batch, position),
        "receiptHandle": ("AQEB" + handle * 4)[:_RECEIPT_HANDLE_CHARS],
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1732240000000",
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1732240000012"},
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode("utf-8")).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}",
        "awsRegion": REGION,
    }


def kinesis_record(body: str, batch: int, position: int, stream: str) -> Dict[str, Any]:
    """One record of a Kinesis event source mapping's event, as Lambda sends it."""
    sequence = sequence_number(batch, position)
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": f"key-{position}", "sequenceNumber": sequence,
                    "data": base64.b64encode(body.encode("utf-8")).decode("ascii"),
                    "approximateArrivalTimestamp": 1732240000.012},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000000:{sequence}",
        "eventName": "aws:kinesis:record", "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-role",
        "awsRegion": REGION, "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{stream}",
    }


RECORD_BUILDERS: Dict[str, Callable[[str, int, int, str], Dict[str, Any]]] = {
    "sqs": sqs_record, "kinesis": kinesis_record}


def records_event(source: str, bodies: Sequence[str], batch: int, name: str) -> str:
    """The event of an ``source`` ("sqs" or "kinesis") mapping delivering ``bodies`` from queue or stream ``name``,
    as JSON text; ``batch`` numbers the event, so that its ids differ from every other event's."""
    build = RECORD_BUILDERS[source]
    records: List[Dict[str, Any]] = [build(body, batch, position, name) for position, body in enumerate(bodies)]
    return json.dumps({"Records": records})


def invoke_handler(handler: Callable[[Any, Any], Any], event_text: str) -> str:
    """One invocation of an event source handler as the Lambda runtime runs it: decode, call, encode."""
    return json.dumps(handler(json.loads(event_text), EventContext()))


def invoke(event_text: str) -> str:
    """What one Lambda invocation runs in Python: decode the event, call the app, encode its answer."""
    return json.dumps(app_module.app(json.loads(event_text), CONTEXT))


def answer_of(response_text: str) -> Tuple[int, Any]:
    response = json.loads(response_text)
    return response["statusCode"], json.loads(response["body"])
