"""A stage's queues and stream on a running local AWS (devtools/local_aws.py), and `.local/streams.json` naming them.

Contract: `create_stage_streams(aws, names)` creates, on a running LocalAws, the records queue with its
dead-letter queue `<records>-dlq` (RedrivePolicy maxReceiveCount 5, as deployed) and the given
VisibilityTimeout, the results queue, and the records stream (`shard_count` shards), waits until the
stream is ACTIVE, and returns a StageStreams naming them (URLs and ARNs). It is idempotent: what exists is
kept, the records queue's attributes set to the ones asked for. `StreamNames.from_environment` takes the
names from a stage's environment (`RECORDS_QUEUE`, `RESULTS_QUEUE`, `RECORDS_STREAM`; devtools/chalice_stage.py
reads it from .chalice/config.json); a missing one raises LocalStreamsError naming it.
`publish_local_streams` writes `.local/streams.json` (the shape of the shared spec, plus the writer's `pid`)
and `withdraw_local_streams` removes it unless a later run has replaced it, as dev_s3.py does with s3.json.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from devtools.local_aws import LocalAws
from devtools.local_state import publish_state_file, withdraw_state_file

LOCAL_STREAMS_FILE = Path(".local") / "streams.json"
RECORDS_QUEUE = "RECORDS_QUEUE"
RESULTS_QUEUE = "RESULTS_QUEUE"
RECORDS_STREAM = "RECORDS_STREAM"
DEAD_LETTER_SUFFIX = "-dlq"
MAX_RECEIVE_COUNT = 5
# Locally short, so that a failed message comes back within seconds (deployed: the template's value).
DEFAULT_VISIBILITY_TIMEOUT = 10


class LocalStreamsError(RuntimeError):
    """A stage's queue or stream names are missing, or the resources could not be created."""


@dataclass(frozen=True)
class StreamNames:
    """The names of a stage's records queue, results queue and records stream."""

    records_queue: str
    results_queue: str
    stream: str

    @property
    def dead_letter_queue(self) -> str:
        return self.records_queue + DEAD_LETTER_SUFFIX

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> StreamNames:
        """The names in a stage's environment; RESULTS_QUEUE may be a queue URL (its last part is the name)."""
        missing = [name for name in (RECORDS_QUEUE, RESULTS_QUEUE, RECORDS_STREAM) if not env.get(name)]
        if missing:
            raise LocalStreamsError(f"the stage's environment lacks {', '.join(missing)} "
                                    f"(.chalice/config.json environment_variables)")
        return cls(records_queue=env[RECORDS_QUEUE], results_queue=env[RESULTS_QUEUE].rstrip("/").split("/")[-1],
                   stream=env[RECORDS_STREAM])


@dataclass(frozen=True)
class QueueInfo:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class StreamInfo:
    name: str
    arn: str
    shard_ids: tuple[str, ...]


@dataclass(frozen=True)
class StageStreams:
    """A stage's queues and stream on one local AWS endpoint."""

    endpoint_url: str
    region: str
    records_queue: QueueInfo
    results_queue: QueueInfo
    dead_letter_queue: QueueInfo
    stream: StreamInfo
    visibility_timeout: int

    def to_json(self) -> dict[str, Any]:
        """What `.local/streams.json` holds (without the writer's pid)."""
        def queue(info: QueueInfo) -> dict[str, str]:
            return {"name": info.name, "url": info.url, "arn": info.arn}
        return {"endpoint_url": self.endpoint_url, "region": self.region,
                "records_queue": queue(self.records_queue), "results_queue": queue(self.results_queue),
                "dead_letter_queue": queue(self.dead_letter_queue),
                "stream": {"name": self.stream.name, "arn": self.stream.arn}}


def create_stage_streams(aws: LocalAws, names: StreamNames, *, visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
                         shard_count: int = 1, timeout: float = 30) -> StageStreams:
    """Create (or keep) the stage's queues and stream on `aws`; see the module's contract."""
    sqs = aws.client("sqs")
    kinesis = aws.client("kinesis")
    try:
        dead_letter = ensure_queue(sqs, names.dead_letter_queue, {})
        redrive = json.dumps({"deadLetterTargetArn": dead_letter.arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
        records = ensure_queue(sqs, names.records_queue,
                         {"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive})
        results = ensure_queue(sqs, names.results_queue, {})
        stream = _stream(kinesis, names.stream, shard_count, timeout)
    except ClientError as error:
        raise LocalStreamsError(f"cannot create the stage's queues and stream on {aws.endpoint_url}: {error}") from None
    return StageStreams(endpoint_url=aws.endpoint_url, region=aws.region, records_queue=records,
                        results_queue=results, dead_letter_queue=dead_letter, stream=stream,
                        visibility_timeout=visibility_timeout)


def ensure_queue(sqs: BaseClient, name: str, attributes: dict[str, str]) -> QueueInfo:
    """Create queue `name` with `attributes`, or give an existing one those attributes; its URL and ARN."""
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        # There with other attributes (an earlier run's): make them the ones asked for.
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueInfo(name=name, url=url, arn=arn)


def _stream(kinesis: BaseClient, name: str, shard_count: int, timeout: float) -> StreamInfo:
    try:
        kinesis.create_stream(StreamName=name, ShardCount=shard_count)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    # boto3's stream_exists waiter polls every 10 s; a local stream is ACTIVE within moments.
    deadline = time.monotonic() + timeout
    while True:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            break
        if time.monotonic() > deadline:
            raise LocalStreamsError(f"stream {name} is {summary['StreamStatus']}, not ACTIVE, after {timeout}s")
        time.sleep(0.1)
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    return StreamInfo(name=name, arn=summary["StreamARN"], shard_ids=tuple(shard["ShardId"] for shard in shards))


def publish_local_streams(streams: StageStreams, path: Path) -> None:
    """Write `path` (`.local/streams.json`) atomically, naming this process as its writer."""
    publish_state_file(path, streams.to_json())


def withdraw_local_streams(path: Path) -> None:
    """Remove `path` if this process wrote it (a later run may have replaced it)."""
    withdraw_state_file(path)
