"""The app's `score_queue` and `score_stream`, driven by the local event delivery (devtools/event_delivery.py) as
Lambda's mappings would drive them, on the real local SQS/Kinesis and S3: 1,000 Sonar records, 5% of them invalid,
give exactly 1,000 results on the results queue, each what `POST /predict` answers for the same record, none
missing and none twice.

The records are sent as bare records and as envelopes with an `id`, alternately. Results are matched to records by
where they came from (message id, or shard and sequence number) and their index; a duplicate fails the test, it is
not merged.
"""

import csv
import json
import os
import threading
import time
import uuid

import pytest

import app as app_module
from chalicelib.wiring import build_runtime
from devtools.chalice_stage import stage_environment
from devtools.event_delivery import delivery_for
from devtools.local_streams import StreamNames, create_stage_streams

RECORDS = 1000
INVALID_EVERY = 20  # 5%
WAIT = 300


def sonar_records(project_dir):
    with open(project_dir / "tests" / "data" / "sonar.csv", newline="") as handle:
        rows = [{name: float(value) for name, value in row.items() if name != "Class"}
                for row in csv.DictReader(handle)]
    records = []
    for number in range(RECORDS):
        record = dict(rows[number % len(rows)])
        if number % INVALID_EVERY == INVALID_EVERY - 1:
            record["V1"] = "0.02"  # a string where the model takes a double
        records.append(record)
    return records


def message(number, record):
    """Even numbers: the bare record; odd: an envelope with the number as its id."""
    return json.dumps(record if number % 2 == 0 else {"id": number, "record": record})


def predict_answers(client, records):
    """What POST /predict answers for each record (the same record is asked once)."""
    answers = {}
    for record in records:
        key = json.dumps(record, sort_keys=True)
        if key not in answers:
            response = client.http.post("/predict", headers={"Content-Type": "application/json"},
                                        body=json.dumps(record))
            answers[key] = json.loads(response.body)
    return [answers[json.dumps(record, sort_keys=True)] for record in records]


@pytest.fixture
def stage(aws, model_bucket, client, monkeypatch):
    """The dev stage's environment with this test's own queues and stream, and a fresh runtime built from it."""
    tag = uuid.uuid4().hex[:12]
    names = StreamNames(records_queue=f"records-{tag}", results_queue=f"results-{tag}", stream=f"records-{tag}")
    # A visibility timeout as long as the function's: no batch comes back while it is still being scored.
    resources = create_stage_streams(aws, names, visibility_timeout=60, shard_count=2)
    env = {**stage_environment("dev"), "MODEL_BUCKET": model_bucket, "RESULTS_QUEUE": names.results_queue,
           "RECORDS_QUEUE": names.records_queue, "RECORDS_STREAM": names.stream, "BATCH_ITEM_FAILURES": "reported"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app_module.runtime.configure(lambda: build_runtime(os.environ))
    app_module.runtime.get()  # built now from this environment; the test client's calls then use the same one
    yield resources
    app_module.runtime.configure(lambda: build_runtime(os.environ))  # a fresh container for the tests after


class Drain:
    """Reads the results queue from a thread while the records are scored, deleting what it read (moto's SQS
    slows down with every message a queue holds), until `finish()`: then until two receives in a row are empty."""

    def __init__(self, sqs, url):
        self.sqs, self.url = sqs, url
        self.results = []
        self._finishing = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        empty = 0
        while empty < 2:
            messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=1).get("Messages", [])
            self.results += [json.loads(item["Body"]) for item in messages]
            if messages:
                entries = [{"Id": str(number), "ReceiptHandle": item["ReceiptHandle"]}
                           for number, item in enumerate(messages)]
                self.sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)
            empty = 0 if messages or not self._finishing.is_set() else empty + 1

    def keep_up(self, sent, backlog, timeout=WAIT):
        """Wait until at most `backlog` of the `sent` records are unanswered: moto's SQS takes time in proportion
        to the messages a queue holds for every call, so short queues keep the test quick."""
        deadline = time.monotonic() + timeout
        while sent - len(self.results) > backlog:
            assert time.monotonic() < deadline and self._thread.is_alive(), "the results stopped coming"
            time.sleep(0.05)

    def finish(self, timeout=WAIT):
        self._finishing.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the results queue did not run dry"
        return self.results


def check(results, origin, records, answers, expected_source):
    """Each result is /predict's answer for its record; every record has exactly one."""
    assert len(results) == RECORDS, f"{len(results)} results for {RECORDS} records"
    # Sequence numbers are unique within a shard only (moto numbers each shard 1, 2, ...): the shard is part of the key.
    keys = [(result["source"].get("shard"), result["source"].get("message_id") or result["source"]["sequence_number"],
             result["index"]) for result in results]
    assert len(set(keys)) == len(keys), "a record was answered twice"
    numbers = [origin[(shard, key)] for shard, key, _ in keys]
    assert sorted(numbers) == list(range(RECORDS)), "a record was not answered"
    predictions = errors = 0
    for number, result in zip(numbers, results, strict=True):
        expected = answers[number]
        assert {key: value for key, value in result["source"].items() if key in expected_source} == expected_source
        assert result["index"] == 0 and result["id"] == (None if number % 2 == 0 else number)
        if "prediction" in expected:
            assert "error" not in result and result["prediction"] == expected["prediction"], number
            predictions += 1
        else:
            assert "prediction" not in result and result["error"] == expected["error"], number
            assert result["error"]["code"] == "invalid_input" and result["error"]["field"] == "V1"
            errors += 1
        if "model" in expected:
            assert result["model"] == expected["model"], number
    assert (predictions, errors) == (RECORDS - RECORDS // INVALID_EVERY, RECORDS // INVALID_EVERY) == (950, 50)


def test_a_thousand_records_through_the_queue_get_what_predict_answers(aws, stage, client, project_dir):
    records = sonar_records(project_dir)
    answers = predict_answers(client, records)
    sqs = aws.client("sqs")
    drain = Drain(aws.client("sqs"), stage.results_queue.url)
    delivery = delivery_for(app_module.app, app_module.score_queue, aws.client, source=stage.records_queue.url)
    origin = {}
    with delivery:
        for start in range(0, RECORDS, 10):
            drain.keep_up(start, backlog=50)
            entries = [{"Id": str(number), "MessageBody": message(number, records[number])}
                       for number in range(start, min(start + 10, RECORDS))]
            sent = sqs.send_message_batch(QueueUrl=stage.records_queue.url, Entries=entries)
            assert not sent.get("Failed")
            origin.update({(None, item["MessageId"]): int(item["Id"]) for item in sent["Successful"]})
        assert delivery.wait_until_idle(WAIT)
    counters = delivery.counters
    assert (counters.records_delivered, counters.failures_reported, counters.whole_batch_failures,
            counters.redeliveries) == (RECORDS, 0, 0, 0)
    check(drain.finish(), origin, records, answers, {"type": "sqs", "queue": stage.records_queue.name})


def test_a_thousand_records_through_the_stream_get_what_predict_answers(aws, stage, client, project_dir):
    records = sonar_records(project_dir)
    answers = predict_answers(client, records)
    kinesis = aws.client("kinesis")
    drain = Drain(aws.client("sqs"), stage.results_queue.url)
    delivery = delivery_for(app_module.app, app_module.score_stream, aws.client, source=stage.stream.name,
                            idle_poll_seconds=0.1)
    origin = {}
    with delivery:
        for start in range(0, RECORDS, 100):
            drain.keep_up(start, backlog=100)
            numbers = range(start, min(start + 100, RECORDS))
            sent = kinesis.put_records(StreamName=stage.stream.name, Records=[
                {"Data": message(number, records[number]).encode(), "PartitionKey": str(number)} for number in numbers])
            assert sent["FailedRecordCount"] == 0
            origin.update({(item["ShardId"], item["SequenceNumber"]): number
                           for number, item in zip(numbers, sent["Records"], strict=True)})
        assert delivery.wait_until_idle(WAIT)
    assert len({shard for shard, _ in origin}) == 2, "both shards carried records"
    counters = delivery.counters
    assert (counters.records_delivered, counters.failures_reported, counters.whole_batch_failures,
            counters.redeliveries) == (RECORDS, 0, 0, 0)
    check(drain.finish(), origin, records, answers, {"type": "kinesis", "stream": stage.stream.name})


# ----- S3 stops in the middle of an ingest ---------------------------------------------------------------------

OUTAGE_RECORDS = 200
# Messages that cannot be read: answered at once, S3 or not, and never retried.
POISON = ["not json", json.dumps({"record": {}, "extra": 1}), json.dumps({"model": "../etc", "record": {}})]


@pytest.fixture
def outage_stage(aws, s3, s3_client, model_bucket, client, monkeypatch):
    """As `stage`, with a second copy of the Sonar model that no container has loaded yet, redeliveries after 5 s
    and loads retried within 0.4 s."""
    tag = uuid.uuid4().hex[:12]
    names = StreamNames(records_queue=f"records-{tag}", results_queue=f"results-{tag}", stream=f"records-{tag}")
    # Redelivered after 5 s: the dead-letter queue (after 5 receives) is 25 s away, longer than S3 takes to restart.
    resources = create_stage_streams(aws, names, visibility_timeout=5)
    late = f"sonar_late_{tag}"
    s3_client.upload_file(str(app_module_project() / "models" / "sonar_naive_bayes.pfa"), model_bucket,
                          f"models/{late}.pfa")
    env = {**stage_environment("dev"), "MODEL_BUCKET": model_bucket, "RESULTS_QUEUE": names.results_queue,
           "RECORDS_QUEUE": names.records_queue, "RECORDS_STREAM": names.stream, "BATCH_ITEM_FAILURES": "reported",
           "LOAD_RETRY_MIN_SECONDS": "0.2", "LOAD_RETRY_MAX_SECONDS": "0.4"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app_module.runtime.configure(lambda: build_runtime(os.environ))
    app_module.runtime.get().service.warm()  # the default model is loaded; the late one is not
    try:
        yield resources, late
    finally:
        if not s3.running:
            s3.restart()
        app_module.runtime.configure(lambda: build_runtime(os.environ))


def app_module_project():
    from pathlib import Path
    return Path(app_module.__file__).resolve().parent


def outage_messages(records, late):
    """Record n, with id n: the default model for the first half; in the second half, the model no container has
    loaded for odd n."""
    return [json.dumps({"id": number, "record": record} if number % 2 == 0 or number < len(records) // 2 else
                       {"id": number, "model": late, "record": record}) for number, record in enumerate(records)]


def ingest_through_an_outage(s3, delivery, send, drain, messages, *, held):
    """Send the first half with S3 up, stop S3, send the rest; bring S3 back once a delivery has failed.

    A queue (`held` false) answers everything it can meanwhile: the poison messages at least, which need no
    model. A shard (`held`) resumes from its first failed record: nothing after it is answered until S3 is back.
    """
    half = len(messages) // 2
    with delivery:
        send(messages[:half])
        drain.keep_up(half, backlog=0)
        s3.kill()
        try:
            send(messages[half:] + POISON)
            deadline = time.monotonic() + 60
            while delivery.counters.failures_reported == 0:
                assert time.monotonic() < deadline, "no delivery failed while S3 was down"
                time.sleep(0.05)
            if held:
                time.sleep(1)
                # Record `half` (the default model) comes before the first record of the model not loaded.
                assert len(drain.results) <= half + 1
            else:
                drain.keep_up(len(messages) + len(POISON), backlog=len(messages) - half)
        finally:
            s3.restart()
        drain.keep_up(len(messages) + len(POISON), backlog=0)
        assert delivery.wait_until_idle(WAIT)
    return drain.finish()


def check_outage(results, records, answers, late):
    poison = [result for result in results if result["index"] is None]
    assert len(poison) == len(POISON) and all(result["model"] is None and "error" in result for result in poison)
    scored = [result for result in results if result["index"] is not None]
    ids = [result["id"] for result in scored]
    assert sorted(ids) == list(range(len(records))), "each record answered exactly once"
    for result in scored:
        expected = answers[result["id"]]
        name = late if result["id"] % 2 and result["id"] >= len(records) // 2 else "sonar_naive_bayes"
        assert result["model"]["name"] == name
        if "prediction" in expected:
            assert result["prediction"] == expected["prediction"] and "error" not in result
        else:
            assert result["error"] == expected["error"] and "prediction" not in result
    assert sum("error" in result for result in scored) == len(records) // INVALID_EVERY


def test_s3_stopping_mid_ingest_retries_only_what_could_not_be_scored_through_the_queue(
        aws, s3, outage_stage, client, project_dir):
    resources, late = outage_stage
    records = sonar_records(project_dir)[:OUTAGE_RECORDS]
    answers = predict_answers(client, records)
    sqs = aws.client("sqs")
    drain = Drain(aws.client("sqs"), resources.results_queue.url)
    delivery = delivery_for(app_module.app, app_module.score_queue, aws.client, source=resources.records_queue.url)

    def send(bodies):
        for start in range(0, len(bodies), 10):
            entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[start:start + 10])]
            assert not sqs.send_message_batch(QueueUrl=resources.records_queue.url, Entries=entries).get("Failed")

    results = ingest_through_an_outage(s3, delivery, send, drain, outage_messages(records, late), held=False)
    check_outage(results, records, answers, late)
    counters = delivery.counters
    # Only the late model's messages sent during the outage failed; nothing went to the dead-letter queue.
    assert 0 < counters.failures_reported <= OUTAGE_RECORDS // 4 and counters.whole_batch_failures == 0
    dead = sqs.get_queue_attributes(QueueUrl=resources.dead_letter_queue.url,
                                    AttributeNames=["ApproximateNumberOfMessages"])
    assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"


def test_s3_stopping_mid_ingest_holds_the_shard_until_s3_is_back_then_resumes(
        aws, s3, outage_stage, client, project_dir):
    resources, late = outage_stage
    records = sonar_records(project_dir)[:OUTAGE_RECORDS]
    answers = predict_answers(client, records)
    kinesis = aws.client("kinesis")
    drain = Drain(aws.client("sqs"), resources.results_queue.url)
    delivery = delivery_for(app_module.app, app_module.score_stream, aws.client, source=resources.stream.name,
                            idle_poll_seconds=0.1, retry_backoff_seconds=0.2)

    def send(bodies):
        for start in range(0, len(bodies), 100):
            chunk = bodies[start:start + 100]
            sent = kinesis.put_records(StreamName=resources.stream.name, Records=[
                {"Data": body.encode(), "PartitionKey": str(start + n)} for n, body in enumerate(chunk)])
            assert sent["FailedRecordCount"] == 0

    results = ingest_through_an_outage(s3, delivery, send, drain, outage_messages(records, late), held=True)
    check_outage(results, records, answers, late)
    assert delivery.counters.failures_reported > 0 and delivery.counters.whole_batch_failures == 0
