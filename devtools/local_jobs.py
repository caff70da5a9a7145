"""A stage's jobs resources on the local servers (the S3 of devtools/local_s3.py, the AWS of devtools/local_aws.py),
and `.local/jobs.json` naming them.

Contract: `create_stage_jobs(s3, aws, names, origins=...)` creates, as devtools/jobs_template.py deploys them:

- on the local S3, the jobs bucket (not versioned) with a CORS rule that lets a page on one of `origins` (the
  service's: `local_origins(port)`) POST the upload and GET the results (methods POST, GET, HEAD; any request
  header; ETag, Content-Length and Content-Range exposed). The bucket's notification (`jobs_notification`: objects
  created under `jobs/` ending with `/input` invoke `start_job`) is not set there, since SeaweedFS has none:
  devtools/s3_notifications.py stands in for it;
- on the local AWS, the jobs table (hash key `job_id` (S), on demand, TTL on `expires_at`; moto never deletes
  expired items) and the chunk queue with its dead-letter queue `<queue>-dlq` (RedrivePolicy maxReceiveCount 5)
  and the given VisibilityTimeout.

It is idempotent: what exists is kept, the CORS rule, the table's TTL and the queue's attributes set to the ones
asked for (a table whose key is not `job_id` raises). `JobsNames.from_environment` takes the names from a
stage's environment (JOBS_BUCKET, JOBS_TABLE, JOBS_QUEUE; devtools/chalice_stage.py reads it from
.chalice/config.json); a missing one raises LocalJobsError naming it. `publish_local_jobs` writes
`.local/jobs.json` (what `StageJobs.to_json` says, plus the writer's `pid`) and `withdraw_local_jobs` removes it
unless a later run has replaced it, as streams.json.

The visibility timeout: AWS refuses an SQS mapping whose queue hides a message for less than the function's
timeout, and the deployed queue uses six times it (1800 s for score_chunk's 300 s). `make run` uses exactly the
function's timeout, the shortest that stays faithful: a chunk whose invocation fails comes back after 300 s
instead of 1800 s, and never while an invocation of it may still be running. A shorter one is a mapping AWS
refuses (its several pollers would deliver a slow chunk again while it runs; the one local poller would hide
that). Tests that need failed chunks back within seconds create their own queue with a short one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from chalicelib.jobs.layout import INPUT_SUFFIX, PREFIX
from chalicelib.jobs.settings import JOBS_BUCKET, JOBS_QUEUE, JOBS_TABLE
from devtools.local_aws import HOST, LocalAws
from devtools.local_s3 import LocalS3, create_bucket
from devtools.local_state import publish_state_file, withdraw_state_file
from devtools.local_streams import (
    DEAD_LETTER_SUFFIX,
    DEFAULT_VISIBILITY_TIMEOUT,
    MAX_RECEIVE_COUNT,
    QueueInfo,
    ensure_queue,
)
from devtools.s3_notifications import S3Notification

LOCAL_JOBS_FILE = Path(".local") / "jobs.json"
START_FUNCTION = "start_job"
HASH_KEY = "job_id"
TTL_ATTRIBUTE = "expires_at"
CORS_METHODS = ("POST", "GET", "HEAD")
CORS_EXPOSED_HEADERS = ("ETag", "Content-Length", "Content-Range")
CORS_MAX_AGE_SECONDS = 3000


class LocalJobsError(RuntimeError):
    """A stage's jobs names are missing, or its jobs resources could not be created."""


@dataclass(frozen=True)
class JobsNames:
    """The names of a stage's jobs bucket, table and chunk queue."""

    bucket: str
    table: str
    queue: str

    @property
    def dead_letter_queue(self) -> str:
        return self.queue + DEAD_LETTER_SUFFIX

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> JobsNames:
        missing = [name for name in (JOBS_BUCKET, JOBS_TABLE, JOBS_QUEUE) if not env.get(name, "").strip()]
        if missing:
            raise LocalJobsError(f"the stage's environment lacks {', '.join(missing)} "
                                 f"(.chalice/config.json environment_variables)")
        return cls(bucket=env[JOBS_BUCKET].strip(), table=env[JOBS_TABLE].strip(), queue=env[JOBS_QUEUE].strip())


def local_origins(port: int) -> tuple[str, ...]:
    """The origins of the page `chalice local` serves on `port`: a browser may name the loopback either way."""
    return f"http://{HOST}:{port}", f"http://localhost:{port}"


def cors_rules(origins: Sequence[str]) -> list[dict[str, Any]]:
    """The jobs bucket's CORS rules (PutBucketCors), as the deployed bucket's but for `origins`."""
    return [{"AllowedOrigins": list(origins), "AllowedMethods": list(CORS_METHODS), "AllowedHeaders": ["*"],
             "ExposeHeaders": list(CORS_EXPOSED_HEADERS), "MaxAgeSeconds": CORS_MAX_AGE_SECONDS}]


def jobs_notification(bucket: str) -> S3Notification:
    """The jobs bucket's notification: every upload of a job's input invokes start_job."""
    return S3Notification(bucket=bucket, function=START_FUNCTION, prefix=PREFIX, suffix=INPUT_SUFFIX)


@dataclass(frozen=True)
class BucketInfo:
    name: str
    arn: str
    cors_origins: tuple[str, ...]


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str


@dataclass(frozen=True)
class StageJobs:
    """A stage's jobs resources: the bucket on one local S3, the table and queues on one local AWS."""

    s3_endpoint_url: str
    aws_endpoint_url: str
    region: str
    bucket: BucketInfo
    table: TableInfo
    queue: QueueInfo
    dead_letter_queue: QueueInfo
    visibility_timeout: int

    @property
    def notification(self) -> S3Notification:
        return jobs_notification(self.bucket.name)

    def environment(self) -> dict[str, str]:
        """The app's variables naming these resources (the stage's own, for `make run`)."""
        return {JOBS_BUCKET: self.bucket.name, JOBS_TABLE: self.table.name, JOBS_QUEUE: self.queue.name}

    def to_json(self) -> dict[str, Any]:
        """What `.local/jobs.json` holds (without the writer's pid)."""
        def queue(info: QueueInfo) -> dict[str, str]:
            return {"name": info.name, "url": info.url, "arn": info.arn}
        notification = self.notification
        return {
            "region": self.region, "s3_endpoint_url": self.s3_endpoint_url, "endpoint_url": self.aws_endpoint_url,
            "bucket": {"name": self.bucket.name, "arn": self.bucket.arn, "cors_origins": list(self.bucket.cors_origins),
                       "notification": {"function": notification.function, "events": list(notification.events),
                                        "prefix": notification.prefix, "suffix": notification.suffix}},
            "table": {"name": self.table.name, "arn": self.table.arn, "hash_key": HASH_KEY,
                      "ttl_attribute": TTL_ATTRIBUTE},
            "queue": {**queue(self.queue), "visibility_timeout": self.visibility_timeout,
                      "max_receive_count": MAX_RECEIVE_COUNT},
            "dead_letter_queue": queue(self.dead_letter_queue),
        }


def create_stage_jobs(s3: LocalS3, aws: LocalAws, names: JobsNames, *, origins: Sequence[str],
                      visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT, timeout: float = 30) -> StageJobs:
    """Create (or keep) the stage's jobs bucket, table and queues; see the module's contract."""
    try:
        client = s3.client()
        create_bucket(client, names.bucket, versioned=False)
        client.put_bucket_cors(Bucket=names.bucket, CORSConfiguration={"CORSRules": cors_rules(origins)})
    except ClientError as error:
        raise LocalJobsError(f"cannot create the jobs bucket {names.bucket} on {s3.endpoint_url}: {error}") from None
    try:
        table = _table(aws.client("dynamodb"), names.table, timeout)
        sqs = aws.client("sqs")
        dead_letter = ensure_queue(sqs, names.dead_letter_queue, {})
        redrive = json.dumps({"deadLetterTargetArn": dead_letter.arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
        queue = ensure_queue(sqs, names.queue, {"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive})
    except ClientError as error:
        raise LocalJobsError(f"cannot create the jobs table and queues on {aws.endpoint_url}: {error}") from None
    return StageJobs(s3_endpoint_url=s3.endpoint_url, aws_endpoint_url=aws.endpoint_url, region=aws.region,
                     bucket=BucketInfo(name=names.bucket, arn=f"arn:aws:s3:::{names.bucket}",
                                       cors_origins=tuple(origins)),
                     table=table, queue=queue, dead_letter_queue=dead_letter, visibility_timeout=visibility_timeout)


def _table(dynamodb: BaseClient, name: str, timeout: float) -> TableInfo:
    try:
        dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    deadline = time.monotonic() + timeout
    while True:
        table = dynamodb.describe_table(TableName=name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            break
        if time.monotonic() > deadline:
            raise LocalJobsError(f"table {name} is {table['TableStatus']}, not ACTIVE, after {timeout}s")
        time.sleep(0.1)
    if table["KeySchema"] != [{"AttributeName": HASH_KEY, "KeyType": "HASH"}]:
        raise LocalJobsError(f"table {name} exists with the key {table['KeySchema']}, not {HASH_KEY} alone: "
                             f"delete it (or restart the local AWS)")
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") != "ENABLED" or ttl.get("AttributeName") != TTL_ATTRIBUTE:
        if ttl.get("TimeToLiveStatus") == "ENABLED":  # on another attribute: DynamoDB wants it disabled first
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": False})
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
            "AttributeName": TTL_ATTRIBUTE, "Enabled": True})
    return TableInfo(name=name, arn=str(table["TableArn"]))


def publish_local_jobs(jobs: StageJobs, path: Path) -> None:
    """Write `path` (`.local/jobs.json`) atomically, naming this process as its writer."""
    publish_state_file(path, jobs.to_json())


def withdraw_local_jobs(path: Path) -> None:
    """Remove `path` if this process wrote it (a later run may have replaced it)."""
    withdraw_state_file(path)
