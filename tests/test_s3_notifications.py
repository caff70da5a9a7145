"""devtools/s3_notifications.py against the real local S3 (SeaweedFS, the `s3` fixture): each upload of a job's input
is one event of S3's shape (tests/data/s3_object_created_event.json is the one AWS documents), nothing else is, and
a failing handler is retried as Lambda's asynchronous invocation does, then dropped.

The handlers are small stand-ins defined here. Waits are for a condition with a generous timeout; no test asserts
that anything was fast.
"""

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from browser_requests import form_post

from devtools import jobs_template
from devtools.event_delivery import EventDeliveryError, FunctionInfo
from devtools.local_jobs import jobs_notification
from devtools.s3_notifications import (
    LOCAL_RETRY_DELAYS_SECONDS,
    S3Notification,
    S3NotificationDelivery,
    created_event_name,
    event_key,
)

SAMPLE = json.loads((Path(__file__).parent / "data" / "s3_object_created_event.json").read_text())
FUNCTION = FunctionInfo(name="pfa-serving-test-start_job", timeout_seconds=300, memory_mb=512, region="us-east-1")
WAIT = 60


def job_id() -> str:
    return uuid.uuid4().hex


def shape(value):
    """The keys of a JSON value, nested, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return None


class StandIn:
    """A handler that records every event, context and call time; `answer(event, call)` returns or raises."""

    def __init__(self, answer=None):
        self.events, self.contexts, self.times = [], [], []
        self._answer = answer
        self._lock = threading.Lock()

    def __call__(self, event, context):
        with self._lock:
            self.events.append(event)
            self.contexts.append(context)
            self.times.append(time.monotonic())
            call = len(self.events)
        return self._answer(event, call) if self._answer else None

    @property
    def records(self):
        return [record for event in self.events for record in event["Records"]]


def notifier(s3, bucket, handler, notification=None, function=FUNCTION, **options):
    return S3NotificationDelivery(handler, s3.client(), notification or jobs_notification(bucket), function,
                                  poll_seconds=0.1, **options)


def settled(delivery):
    assert delivery.wait_until_idle(WAIT), "the delivery did not settle"


def test_a_post_upload_and_a_put_are_one_event_each_of_s3s_shape(s3, jobs_resources):
    client, bucket = s3.client(), jobs_resources.bucket.name
    posted, put = job_id(), job_id()
    handler = StandIn()
    before = datetime.now(UTC) - timedelta(seconds=1)
    with notifier(s3, bucket, handler) as delivery:
        upload = client.generate_presigned_post(bucket, f"jobs/{posted}/input")
        status, _, _ = form_post(upload["url"], upload["fields"], b"V1,V2\n0.1,0.2\n",
                                 origin="http://127.0.0.1:8000")
        assert status == 204
        client.put_object(Bucket=bucket, Key=f"jobs/{put}/input", Body=b'{"V1": 0.1}\n')
        settled(delivery)
        settled(delivery)  # listed again: still one event each
    assert [len(event["Records"]) for event in handler.events] == [1, 1]
    by_key = {record["s3"]["object"]["key"]: record for record in handler.records}
    assert set(by_key) == {f"jobs/{posted}/input", f"jobs/{put}/input"}
    expected_shape = shape(SAMPLE["Records"][0])
    del expected_shape["s3"]["object"]["versionId"]  # the jobs bucket keeps no versions: S3 then sends none
    for job, body, name in [(posted, b"V1,V2\n0.1,0.2\n", "ObjectCreated:Post"),
                            (put, b'{"V1": 0.1}\n', "ObjectCreated:Put")]:
        record = by_key[f"jobs/{job}/input"]
        assert shape(record) == expected_shape
        assert record["eventVersion"] == "2.1" and record["eventSource"] == "aws:s3"
        assert record["eventName"] == name
        assert record["awsRegion"] == FUNCTION.region
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"])
        assert datetime.fromisoformat(record["eventTime"]) >= before
        assert record["s3"]["s3SchemaVersion"] == "1.0"
        assert record["s3"]["bucket"]["name"] == bucket and record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
        assert record["s3"]["object"]["size"] == len(body)
        assert record["s3"]["object"]["eTag"] == hashlib.md5(body).hexdigest()
        assert re.fullmatch(r"[0-9A-F]{18}", record["s3"]["object"]["sequencer"])
    for context in handler.contexts:
        assert context.function_name == FUNCTION.name and context.memory_limit_in_mb == "512"
        assert 290_000 < context.get_remaining_time_in_millis() <= 300_000
    assert len({context.aws_request_id for context in handler.contexts}) == 2
    counters = delivery.counters
    assert (counters.events, counters.invocations, counters.failures, counters.dropped) == (2, 2, 0, 0)


def test_other_keys_and_what_was_there_before_make_no_event(s3, jobs_resources):
    client, bucket = s3.client(), jobs_resources.bucket.name
    job = job_id()
    client.put_object(Bucket=bucket, Key=f"jobs/{job_id()}/input", Body=b"before the notification was set")
    handler = StandIn()
    with notifier(s3, bucket, handler) as delivery:
        for key in [f"jobs/{job}/results.jsonl", f"jobs/{job}/errors.jsonl", f"jobs/{job}/parts/00000.jsonl",
                    f"jobs/{job}/input.csv", f"jobs/{job}/inputs", f"uploads/{job}/input", f"jobs-{job}/input"]:
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
        settled(delivery)
    assert handler.events == [] and delivery.counters.events == 0


def test_with_since_what_was_written_after_the_notification_was_set_is_notified_even_before_start(
        s3, jobs_resources):
    client, bucket = s3.client(), jobs_resources.bucket.name
    before, after = f"jobs/{job_id()}/input", f"jobs/{job_id()}/input"
    client.put_object(Bucket=bucket, Key=before, Body=b"before")
    written = client.head_object(Bucket=bucket, Key=before)["LastModified"]
    since = written.replace(microsecond=0) + timedelta(seconds=1)  # LastModified has whole seconds
    while datetime.now(UTC) < since:
        time.sleep(0.05)
    client.put_object(Bucket=bucket, Key=after, Body=b"after, before the watch began")
    handler = StandIn()
    with notifier(s3, bucket, handler, since=since) as delivery:
        settled(delivery)
    assert [record["s3"]["object"]["key"] for record in handler.records] == [after]


def test_an_upload_of_the_key_again_with_new_content_is_another_event(s3, jobs_resources):
    client, bucket = s3.client(), jobs_resources.bucket.name
    key = f"jobs/{job_id()}/input"
    handler = StandIn()
    with notifier(s3, bucket, handler) as delivery:
        client.put_object(Bucket=bucket, Key=key, Body=b"first")
        settled(delivery)
        client.put_object(Bucket=bucket, Key=key, Body=b"second, longer")
        settled(delivery)
    first, second = handler.records
    assert [first["s3"]["object"]["eTag"], second["s3"]["object"]["eTag"]] == [
        hashlib.md5(b"first").hexdigest(), hashlib.md5(b"second, longer").hexdigest()]
    assert second["s3"]["object"]["size"] == len(b"second, longer")
    assert int(second["s3"]["object"]["sequencer"], 16) > int(first["s3"]["object"]["sequencer"], 16)


def test_a_failing_handler_is_tried_three_times_with_the_same_event_and_request_id_then_dropped(
        s3, jobs_resources, caplog):
    def fail(event, call):
        raise RuntimeError(f"transient failure {call}\nsecond line")

    client, bucket = s3.client(), jobs_resources.bucket.name
    key = f"jobs/{job_id()}/input"
    handler = StandIn(fail)
    with caplog.at_level(logging.INFO, logger="devtools"):
        with notifier(s3, bucket, handler, retry_delays=(0.3, 0.6)) as delivery:
            client.put_object(Bucket=bucket, Key=key, Body=b"x")
            settled(delivery)
    assert len(handler.events) == 3 and all(event == handler.events[0] for event in handler.events)
    assert len({context.aws_request_id for context in handler.contexts}) == 1
    assert handler.times[1] - handler.times[0] >= 0.3 and handler.times[2] - handler.times[1] >= 0.6
    counters = delivery.counters
    assert (counters.events, counters.invocations, counters.failures, counters.retries, counters.dropped) == (
        1, 3, 3, 2, 1)
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    request = handler.contexts[0].aws_request_id
    assert errors == [
        f"{FUNCTION.name} (request {request}) raised RuntimeError: transient failure 1; attempt 1 of 3 for "
        f"s3://{bucket}/{key}, again in 0.3 s (AWS: 60 s)",
        f"{FUNCTION.name} (request {request}) raised RuntimeError: transient failure 2; attempt 2 of 3 for "
        f"s3://{bucket}/{key}, again in 0.6 s (AWS: 120 s)",
        f"{FUNCTION.name} (request {request}) raised RuntimeError: transient failure 3; the event for "
        f"s3://{bucket}/{key} failed 3 attempts: dropped"]
    assert any(f"ObjectCreated:Put s3://{bucket}/{key} (1 bytes)" in record.getMessage()
               for record in caplog.records if record.levelno == logging.INFO)


def test_a_retry_that_succeeds_ends_it_and_other_events_do_not_wait_for_it(s3, jobs_resources):
    first_key, second_key = f"jobs/{job_id()}/input", f"jobs/{job_id()}/input"
    failed = []

    def fail_first_once(event, call):
        if event["Records"][0]["s3"]["object"]["key"] == first_key and not failed:
            failed.append(call)
            raise ValueError("once")

    client, bucket = s3.client(), jobs_resources.bucket.name
    handler = StandIn(fail_first_once)
    with notifier(s3, bucket, handler, retry_delays=(2.0, 2.0)) as delivery:
        client.put_object(Bucket=bucket, Key=first_key, Body=b"x")
        client.put_object(Bucket=bucket, Key=second_key, Body=b"y")
        settled(delivery)
    keys = [record["s3"]["object"]["key"] for record in handler.records]
    assert sorted(keys) == sorted([first_key, first_key, second_key])
    # The second upload is delivered while the first waits for its retry.
    assert keys[-1] == first_key and keys.index(second_key) < 2
    counters = delivery.counters
    assert (counters.invocations, counters.failures, counters.retries, counters.dropped) == (3, 1, 1, 0)


def test_a_timeout_and_a_response_that_is_not_json_fail_the_invocation(s3, jobs_resources):
    def slow_then_unserialisable(event, call):
        if call == 1:
            time.sleep(0.5)
        elif call == 2:
            return {"not": object()}
        return {"ok": True}

    client, bucket = s3.client(), jobs_resources.bucket.name
    quick = FunctionInfo(name="pfa-serving-test-start_job", timeout_seconds=0.3, memory_mb=512, region="us-east-1")
    handler = StandIn(slow_then_unserialisable)
    with notifier(s3, bucket, handler, function=quick, retry_delays=(0.1, 0.1)) as delivery:
        client.put_object(Bucket=bucket, Key=f"jobs/{job_id()}/input", Body=b"x")
        settled(delivery)
    counters = delivery.counters
    assert (counters.invocations, counters.failures, counters.dropped) == (3, 2, 0)


def test_keys_are_url_encoded_as_s3_does(s3, jobs_resources):
    client, bucket = s3.client(), jobs_resources.bucket.name
    key = "jobs/my job+1 (copy)=é/input"
    handler = StandIn()
    with notifier(s3, bucket, handler) as delivery:
        client.put_object(Bucket=bucket, Key=key, Body=b"x")
        settled(delivery)
    [record] = handler.records
    assert record["s3"]["object"]["key"] == "jobs/my+job%2B1+%28copy%29%3D%C3%A9/input"
    assert unquote_plus(record["s3"]["object"]["key"]) == key
    assert event_key("red flower.jpg") == "red+flower.jpg"  # AWS's own example


def test_a_versioned_bucket_gives_the_version_and_a_multipart_upload_its_event(s3, scratch_bucket):
    client = s3.client()
    notification = S3Notification(bucket=scratch_bucket, function="start_job", prefix="jobs/", suffix="/input")
    handler = StandIn()
    with notifier(s3, scratch_bucket, handler, notification=notification) as delivery:
        version = client.put_object(Bucket=scratch_bucket, Key="jobs/a/input", Body=b"x")["VersionId"]
        upload = client.create_multipart_upload(Bucket=scratch_bucket, Key="jobs/b/input")["UploadId"]
        part = client.upload_part(Bucket=scratch_bucket, Key="jobs/b/input", UploadId=upload, PartNumber=1,
                                  Body=b"one small part")
        client.complete_multipart_upload(Bucket=scratch_bucket, Key="jobs/b/input", UploadId=upload,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        settled(delivery)
    by_key = {record["s3"]["object"]["key"]: record for record in handler.records}
    assert shape(by_key["jobs/a/input"]) == shape(SAMPLE["Records"][0])
    assert by_key["jobs/a/input"]["s3"]["object"]["versionId"] == version
    assert by_key["jobs/b/input"]["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert by_key["jobs/b/input"]["s3"]["object"]["eTag"].endswith("-1")


def test_a_bucket_that_is_not_there_is_refused_at_start(s3):
    delivery = notifier(s3, f"nowhere-{uuid.uuid4().hex[:12]}", StandIn())
    with pytest.raises(EventDeliveryError, match=r"^start_job: there is no bucket nowhere-\w+ at http://127\.0\.0\.1"):
        delivery.start()


def test_the_event_names_and_the_retries_are_lambdas():
    assert created_event_name("d41d8cd98f00b204e9800998ecf8427e", has_checksum=False) == "ObjectCreated:Post"
    assert created_event_name("d41d8cd98f00b204e9800998ecf8427e", has_checksum=True) == "ObjectCreated:Put"
    assert created_event_name("d41d8cd98f00b204e9800998ecf8427e-3", has_checksum=True) == (
        "ObjectCreated:CompleteMultipartUpload")
    assert len(LOCAL_RETRY_DELAYS_SECONDS) == jobs_template.ASYNC_RETRIES == 2
