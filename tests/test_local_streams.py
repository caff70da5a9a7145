"""devtools/local_streams.py on the real local SQS/Kinesis (the `aws` fixture): a stage's queues and stream, created
idempotently as deployed (dead-letter queue, redrive policy, visibility timeout), and `.local/streams.json`."""

import json
import os
import uuid

import pytest

from devtools.chalice_stage import stage_environment
from devtools.local_streams import (
    MAX_RECEIVE_COUNT,
    LocalStreamsError,
    StreamNames,
    create_stage_streams,
    publish_local_streams,
    withdraw_local_streams,
)


def unique_names() -> StreamNames:
    tag = uuid.uuid4().hex[:12]
    return StreamNames(records_queue=f"records-{tag}", results_queue=f"results-{tag}", stream=f"stream-{tag}")


def test_the_names_are_the_stages():
    assert StreamNames.from_environment(stage_environment("dev")) == StreamNames(
        records_queue="pfa-serving-dev-records", results_queue="pfa-serving-dev-results",
        stream="pfa-serving-dev-records")
    assert StreamNames.from_environment(stage_environment("prod")).dead_letter_queue == "pfa-serving-prod-records-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/elsewhere-results"
    names = StreamNames.from_environment({"RECORDS_QUEUE": "r", "RESULTS_QUEUE": url, "RECORDS_STREAM": "s"})
    assert names.results_queue == "elsewhere-results"
    with pytest.raises(LocalStreamsError, match="RESULTS_QUEUE, RECORDS_STREAM"):
        StreamNames.from_environment({"RECORDS_QUEUE": "r"})


def test_the_queues_and_stream_are_created_as_deployed_and_again_without_harm(aws):
    names = unique_names()
    created = create_stage_streams(aws, names, visibility_timeout=2, shard_count=2)
    sqs, kinesis = aws.client("sqs"), aws.client("kinesis")
    attributes = sqs.get_queue_attributes(QueueUrl=created.records_queue.url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "2"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": created.dead_letter_queue.arn,
                                                       "maxReceiveCount": MAX_RECEIVE_COUNT}
    assert created.dead_letter_queue.name == names.records_queue + "-dlq"
    for queue in (created.records_queue, created.results_queue, created.dead_letter_queue):
        assert sqs.get_queue_url(QueueName=queue.name)["QueueUrl"] == queue.url
        assert queue.arn == f"arn:aws:sqs:{aws.region}:123456789012:{queue.name}"
    summary = kinesis.describe_stream_summary(StreamName=names.stream)["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE" and summary["StreamARN"] == created.stream.arn
    assert len(created.stream.shard_ids) == 2
    # Again: the same resources; a new visibility timeout replaces the old one.
    assert create_stage_streams(aws, names, visibility_timeout=2, shard_count=2) == created
    again = create_stage_streams(aws, names, visibility_timeout=5, shard_count=2)
    assert again.records_queue == created.records_queue and again.stream == created.stream
    assert sqs.get_queue_attributes(QueueUrl=created.records_queue.url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"]["VisibilityTimeout"] == "5"


def test_streams_json_is_written_and_withdrawn_only_by_its_writer(aws, tmp_path):
    created = create_stage_streams(aws, unique_names(), visibility_timeout=1)
    path = tmp_path / ".local" / "streams.json"
    publish_local_streams(created, path)
    written = json.loads(path.read_text())
    assert written == {**created.to_json(), "pid": os.getpid()}
    assert set(written) == {"endpoint_url", "region", "records_queue", "results_queue", "dead_letter_queue", "stream",
                            "pid"}
    assert written["endpoint_url"] == aws.endpoint_url and written["stream"] == {"name": created.stream.name,
                                                                                 "arn": created.stream.arn}
    assert set(written["records_queue"]) == {"name", "url", "arn"}
    withdraw_local_streams(path)
    assert not path.exists()
    # A file another run wrote (another pid) stays.
    path.write_text(json.dumps({**created.to_json(), "pid": os.getpid() + 1}))
    withdraw_local_streams(path)
    assert path.exists()
