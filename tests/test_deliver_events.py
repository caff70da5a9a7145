"""`python -m devtools.deliver_events`: says what it delivers from, delivers the chunk queue and the jobs bucket's
uploads, stops on SIGTERM, and fails in one line when the stage's queue is not there; delivers only the handlers
named, and with `--timings` writes each invocation's times and AWS requests. Against a local AWS of its own, so
that the dev stage's queue names are this test's alone (the jobs bucket is the dev stage's, in the session's S3)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

from devtools import jobs_template, stream_template
from devtools.chalice_stage import function_settings, stage_environment
from devtools.deliver_events import REPORTS_BATCH_ITEM_FAILURES
from devtools.local_aws import LocalAws
from devtools.local_jobs import JobsNames, create_stage_jobs, local_origins
from devtools.local_streams import StreamNames, create_stage_streams


@pytest.fixture
def private_aws(s3, tmp_path):
    server = LocalAws(log_path=tmp_path / "moto.log", region=s3.region, access_key=s3.access_key,
                      secret_key=s3.secret_key)
    server.start()
    yield server
    server.stop()


def deliver_events(project_dir, aws, output):
    env = {**os.environ, **aws.client_environment()}
    with open(output, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "devtools.deliver_events", "--stage", "dev"], cwd=project_dir,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_without_the_queue_it_says_so_in_one_line(project_dir, private_aws, tmp_path):
    output = tmp_path / "out"
    process = deliver_events(project_dir, private_aws, output)
    assert process.wait(timeout=120) == 1
    lines = output.read_text().splitlines()
    assert lines == [f"deliver_events: score_queue: there is no queue pfa-serving-dev-records at "
                     f"{private_aws.endpoint_url}"]


def wait_for_text(output, process, pattern, timeout=120):
    deadline = time.monotonic() + timeout
    while not re.search(pattern, output.read_text()):
        assert process.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
        time.sleep(0.1)


def test_it_names_what_it_delivers_from_delivers_and_stops_on_sigterm(project_dir, s3, private_aws, tmp_path):
    create_stage_streams(private_aws, StreamNames.from_environment(stage_environment("dev")), visibility_timeout=10)
    chunk_timeout = function_settings("dev", "score_chunk").timeout_seconds
    jobs = create_stage_jobs(s3, private_aws, JobsNames.from_environment(stage_environment("dev")),
                             origins=local_origins(8000), visibility_timeout=chunk_timeout)
    output = tmp_path / "out"
    process = deliver_events(project_dir, private_aws, output)
    try:
        wait_for_text(output, process, r"(deliver_events: delivering to .*\n){4}")
        # An upload of a job's input is sent to start_job; a chunk message is taken by score_chunk's mapping.
        key = f"jobs/{uuid.uuid4().hex}/input"
        s3.client().put_object(Bucket=jobs.bucket.name, Key=key, Body=b"V1\n0.5\n")
        wait_for_text(output, process, re.escape(f"ObjectCreated:Put s3://{jobs.bucket.name}/{key} (7 bytes)"))
        sqs = private_aws.client("sqs")
        sqs.send_message(QueueUrl=jobs.queue.url, MessageBody='{"job_id": "not a job"}')
        deadline = time.monotonic() + 60
        while int(sqs.get_queue_attributes(QueueUrl=jobs.queue.url, AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"]["ApproximateNumberOfMessages"]):
            assert time.monotonic() < deadline, output.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, output.read_text()
    text = output.read_text()
    # The functions' own timeouts in .chalice/config.json, as deployed.
    queue_timeout = function_settings("dev", "score_queue").timeout_seconds
    stream_timeout = function_settings("dev", "score_stream").timeout_seconds
    start_timeout = function_settings("dev", "start_job").timeout_seconds
    assert (f"score_queue from SQS queue {private_aws.endpoint_url}/123456789012/pfa-serving-dev-records (batch size "
            f"10, window 0 s, reporting batch item failures, function timeout {queue_timeout} s, visibility timeout "
            f"10 s)") in text
    assert ("score_stream from Kinesis stream pfa-serving-dev-records from TRIM_HORIZON (batch size 100, window 0 s, "
            f"reporting batch item failures, function timeout {stream_timeout} s)") in text
    assert (f"score_chunk from SQS queue {private_aws.endpoint_url}/123456789012/pfa-serving-dev-chunks (batch size "
            f"1, window 0 s, not reporting batch item failures, function timeout {chunk_timeout} s, visibility "
            f"timeout {chunk_timeout} s)") in text
    assert ("start_job from the notifications of S3 bucket pfa-jobs-dev (s3:ObjectCreated:* under jobs/ ending in "
            "/input, listed every 0.5 s; invoked asynchronously, 2 retries after 1 s and 2 s (AWS: 1 min and 2 min), "
            f"function timeout {start_timeout} s)") in text


def test_batch_item_failures_are_reported_where_the_packaged_mappings_report_them():
    resources = {**stream_template.merge_template("dev")["Resources"],
                 **jobs_template.merge_template("dev")["Resources"]}
    for name, reports in REPORTS_BATCH_ITEM_FAILURES.items():
        logical_id = "".join(part.title() for part in name.split("_"))  # Chalice's: score_chunk -> ScoreChunk
        assert logical_id in resources, name
        events = resources[logical_id].get("Properties", {}).get("Events", {})
        types = [kind for event in events.values() for kind in event.get("Properties", {}).get("FunctionResponseTypes",
                                                                                              [])]
        assert ("ReportBatchItemFailures" in types) is reports, name


def test_it_delivers_only_the_handlers_named_and_times_each_invocation(project_dir, s3, private_aws, tmp_path):
    chunk_timeout = function_settings("dev", "score_chunk").timeout_seconds
    jobs = create_stage_jobs(s3, private_aws, JobsNames.from_environment(stage_environment("dev")),
                             origins=local_origins(8000), visibility_timeout=chunk_timeout)
    output, timings = tmp_path / "out", tmp_path / "timings.jsonl"
    env = {**os.environ, **private_aws.client_environment()}
    with open(output, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "devtools.deliver_events", "--stage", "dev", "--timings",
                                    str(timings), "score_chunk"], cwd=project_dir, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_text(output, process, r"deliver_events: delivering to score_chunk ")
        # A chunk of a job the table does not have: the handler reads the job (one GetItem) and answers.
        sqs = private_aws.client("sqs")
        message = {"job": uuid.uuid4().hex, "chunk": 0, "first_row": 1, "rows": 1, "start": 0, "end": 10}
        sqs.send_message(QueueUrl=jobs.queue.url, MessageBody=json.dumps(message))
        deadline = time.monotonic() + 60
        while not (timings.exists() and timings.read_text().strip()):
            assert process.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, output.read_text()
    # No queue, stream or bucket of the other handlers was needed, and none was named.
    assert re.findall(r"delivering to (\w+)", output.read_text()) == ["score_chunk"]
    [line] = [json.loads(text) for text in timings.read_text().splitlines()]
    assert (line["function"], line["first"], line["raised"], line["records"]) == ("score_chunk", True, None, 1)
    assert line["calls"] == {"dynamodb.GetItem": 1}
    assert line["wall_ms"] > 0 and line["cpu_ms"] > 0 and line["process_cpu_ms"] >= line["cpu_ms"] - 1
    assert isinstance(line["request_id"], str) and isinstance(line["other_calls"], dict)
