"""What the queue and stream handler tests share besides their fixtures (tests/conftest.py): Sonar rows, and
Lambda's SQS and Kinesis events."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

from chalice.test import Client

PROJECT = Path(__file__).resolve().parent.parent
MODELS = PROJECT / "models"
JSON = {"Content-Type": "application/json"}
DEFAULT_KEY = "models/sonar_naive_bayes.pfa"
BROKEN = b'{"input": "double", "output": "double", "action": [{"no.such.function": ["input"]}]}'


def sonar_rows(count: int) -> list[dict]:
    with open(PROJECT / "tests" / "data" / "sonar.csv", newline="") as handle:
        rows = [{name: float(value) for name, value in row.items() if name != "Class"}
                for row in csv.DictReader(handle)]
    return rows[:count]


def sqs_event(client: Client, bodies: list) -> dict:
    event = client.events.generate_sqs_event(
        message_bodies=[body if isinstance(body, str) else json.dumps(body) for body in bodies],
        queue_name="pfa-serving-dev-records")
    for number, record in enumerate(event["Records"]):
        record["messageId"] = f"message-{number}"
    return event


def kinesis_event(bodies: list) -> dict:
    records = []
    for number, body in enumerate(bodies):
        data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        sequence = str(49590338271490256608559692538361571095921575989136588898 + number)
        records.append({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": f"key-{number}", "sequenceNumber": sequence,
                        "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": 1545084650.987},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"shardId-000000000006:{sequence}",
            "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda-role",
            "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/pfa-serving-dev-records"})
    return {"Records": records}
