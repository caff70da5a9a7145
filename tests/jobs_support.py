"""Helpers for the jobs tests: a stage's jobs resources on the local servers, uploads, S3 events, chunk delivery."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any, Callable

import boto3
import requests

from devtools.event_delivery import FunctionInfo

PROJECT_DIR = Path(__file__).resolve().parent.parent
SONAR_CSV = PROJECT_DIR / "tests" / "data" / "sonar.csv"
# The jobs' functions as deployed (their time limits are what the handlers plan with).
START_JOB_FUNCTION = FunctionInfo(name="pfa-serving-dev-start_job", timeout_seconds=300, memory_mb=512,
                                  region="us-east-1")
SCORE_CHUNK_FUNCTION = FunctionInfo(name="pfa-serving-dev-score_chunk", timeout_seconds=300, memory_mb=512,
                                    region="us-east-1")


def create_jobs_resources(s3_client: Any, bucket: str, visibility_timeout: int = 2) -> dict[str, str]:
    """A jobs table and chunk queue of unique names in moto; the settings that point a runtime at them."""
    suffix = uuid.uuid4().hex[:10]
    db = boto3.client("dynamodb")
    table = f"jobs-{suffix}"
    db.create_table(TableName=table, KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
                    BillingMode="PAY_PER_REQUEST")
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName=f"chunks-{suffix}",
                             Attributes={"VisibilityTimeout": str(visibility_timeout)})["QueueUrl"]
    return {"JOBS_BUCKET": bucket, "JOBS_TABLE": table, "JOBS_QUEUE": queue}


def sonar_rows() -> tuple[list[str], list[list[str]]]:
    with SONAR_CSV.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def csv_bytes(header: list[str], rows: list[list[str] | str]) -> bytes:
    """Rows given as lists are written as CSV; a row given as a string is written as that line, as is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, str):
            out.write(row + "\n")
        else:
            writer.writerow(row)
    return out.getvalue().encode()


def post_upload(upload: dict[str, Any], data: bytes, filename: str = "records.csv") -> requests.Response:
    return requests.post(upload["url"], data=upload["fields"],
                         files={upload["file_field"]: (filename, data)}, timeout=30)


def s3_event(s3_client: Any, bucket: str, key: str) -> dict[str, Any]:
    """The S3 notification S3 would send for the object now at ``key`` (ObjectCreated:Post)."""
    head = s3_client.head_object(Bucket=bucket, Key=key)
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": s3_client.meta.region_name,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "eventName": "ObjectCreated:Post",
        "userIdentity": {"principalId": "AWS:EXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16], "x-amz-id-2": uuid.uuid4().hex},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "start-job",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": head["ContentLength"],
                          "eTag": head["ETag"].strip('"'), "sequencer": f"{time.time_ns():X}"}}}]}


def wait_for(check: Callable[[], Any], timeout: float = 120, interval: float = 0.2) -> Any:
    ends = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > ends:
            raise AssertionError(f"not done within {timeout} s")
        time.sleep(interval)


def read_lines(s3_client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]
