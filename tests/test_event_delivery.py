"""devtools/event_delivery.py against the real local SQS and Kinesis (moto server, the `aws` fixture): the events are
Lambda's, batches are cut as the mapping says, and what is deleted, retried or redelivered is what Lambda does.

The handlers are small stand-ins defined here: they record what they got and fail on purpose. Waits are for a
condition with a generous timeout; no test asserts how long anything took.
"""

import base64
import hashlib
import json
import logging
import threading
import time
import uuid

import pytest
from chalice import Chalice

from devtools.event_delivery import (
    EventDeliveryError,
    FunctionInfo,
    KinesisDelivery,
    KinesisMapping,
    SqsDelivery,
    SqsMapping,
    batch_item_failures,
    delivery_for,
    event_source,
)
from devtools.local_streams import StreamNames, create_stage_streams

SQS_RECORD_KEYS = {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                   "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion"}
SQS_ATTRIBUTES = {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
KINESIS_RECORD_KEYS = {"kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn",
                       "awsRegion", "eventSourceARN"}
KINESIS_DATA_KEYS = {"kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp"}
WAIT = 60


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_for(condition, timeout: float = WAIT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class StandIn:
    """A handler that records every event and context; `answer(event, call)` decides what it returns or raises."""

    def __init__(self, answer=None):
        self.events = []
        self.contexts = []
        self._answer = answer
        self._lock = threading.Lock()

    def __call__(self, event, context):
        with self._lock:
            self.events.append(event)
            self.contexts.append(context)
            call = len(self.events)
        return self._answer(event, call) if self._answer else None

    @property
    def batches(self):
        """Each invocation's message bodies (SQS) or decoded data (Kinesis)."""
        return [[record["body"] if "body" in record else base64.b64decode(record["kinesis"]["data"]).decode()
                 for record in event["Records"]] for event in self.events]


def function(aws) -> FunctionInfo:
    return FunctionInfo(name="pfa-serving-test-stand_in", timeout_seconds=30, memory_mb=128, region=aws.region)


def make_queue(aws, visibility_timeout: int = 1):
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=unique("delivery"), Attributes={"VisibilityTimeout": str(visibility_timeout)})
    url = url["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def send(sqs, url, bodies):
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def sqs_delivery(aws, handler, batch_size=10, window=0, report=True, visibility_timeout=1):
    sqs, url, arn = make_queue(aws, visibility_timeout)
    mapping = SqsMapping(queue_url=url, queue_arn=arn, batch_size=batch_size,
                         maximum_batching_window_in_seconds=window, report_batch_item_failures=report)
    return SqsDelivery(handler, sqs, mapping, function(aws)), sqs, url


def make_stream(aws, shards: int = 1):
    kinesis = aws.client("kinesis")
    name = unique("delivery")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_for(lambda: kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
             == "ACTIVE", what="the stream to be ACTIVE")
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    return kinesis, name, arn


def put(kinesis, name, items):
    return [kinesis.put_record(StreamName=name, Data=item if isinstance(item, bytes) else item.encode(),
                               PartitionKey="key")["SequenceNumber"] for item in items]


def kinesis_delivery(aws, handler, batch_size=100, window=0, report=True, max_retries=-1,
                     starting_position="TRIM_HORIZON"):
    kinesis, name, arn = make_stream(aws)
    mapping = KinesisMapping(stream_name=name, stream_arn=arn, batch_size=batch_size,
                             starting_position=starting_position, maximum_batching_window_in_seconds=window,
                             report_batch_item_failures=report, maximum_retry_attempts=max_retries)
    delivery = KinesisDelivery(handler, kinesis, mapping, function(aws), idle_poll_seconds=0.05,
                               retry_backoff_seconds=0.05)
    return delivery, kinesis, name


def sqs_failures(*bodies):
    """An answer that reports the messages with these bodies as failed, on the first delivery only."""
    def answer(event, call):
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in event["Records"]
                                      if record["body"] in bodies and record["attributes"]["ApproximateReceiveCount"]
                                      == "1"]}
    return answer


def first_call(response):
    """An answer that returns (or raises) `response` on the first call, and success afterwards."""
    def answer(event, call):
        if call > 1:
            return None
        if isinstance(response, BaseException):
            raise response
        return response
    return answer


# ----- events -----------------------------------------------------------------------------------------------


def test_an_sqs_event_is_lambdas_and_the_context_is_the_runtimes(aws):
    handler = StandIn()
    delivery, sqs, url = sqs_delivery(aws, handler)
    sqs.send_message(QueueUrl=url, MessageBody='{"V1": 0.02}', MessageAttributes={
        "origin": {"DataType": "String", "StringValue": "test"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}})
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    [event] = handler.events
    assert set(event) == {"Records"}
    [record] = event["Records"]
    assert set(record) == SQS_RECORD_KEYS
    assert record["body"] == '{"V1": 0.02}'
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert SQS_ATTRIBUTES <= set(record["attributes"]) and record["attributes"]["ApproximateReceiveCount"] == "1"
    assert all(isinstance(value, str) for value in record["attributes"].values())
    assert record["messageAttributes"] == {
        "origin": {"stringValue": "test", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": base64.b64encode(b"\x00\xff").decode(), "stringListValues": [],
                 "binaryListValues": [], "dataType": "Binary"}}
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", queue_arn, aws.region)
    json.dumps(event)  # what Lambda sends is JSON
    [context] = handler.contexts
    assert 0 < context.get_remaining_time_in_millis() <= 30_000
    assert context.function_name == "pfa-serving-test-stand_in" and context.memory_limit_in_mb == "128"
    assert context.invoked_function_arn == (f"arn:aws:lambda:{aws.region}:123456789012:function:"
                                            f"pfa-serving-test-stand_in")
    assert uuid.UUID(context.aws_request_id)
    counters = delivery.counters
    assert (counters.invocations, counters.records_delivered, counters.redeliveries) == (1, 1, 0)
    assert not delivery.running


def test_a_kinesis_event_is_lambdas_and_its_data_decodes(aws):
    handler = StandIn()
    delivery, kinesis, name = kinesis_delivery(aws, handler)
    data = [b'{"V1": 0.02}', b"\x00\xffnot utf-8"]
    sequence_numbers = put(kinesis, name, data)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    [event] = handler.events
    assert set(event) == {"Records"}
    for record, expected, number in zip(event["Records"], data, sequence_numbers, strict=True):
        assert set(record) == KINESIS_RECORD_KEYS and set(record["kinesis"]) == KINESIS_DATA_KEYS
        assert base64.b64decode(record["kinesis"]["data"]) == expected
        assert record["kinesis"]["sequenceNumber"] == number and record["kinesis"]["partitionKey"] == "key"
        assert record["kinesis"]["kinesisSchemaVersion"] == "1.0"
        assert abs(record["kinesis"]["approximateArrivalTimestamp"] - time.time()) < 600
        assert record["eventID"] == f"shardId-000000000000:{number}"
        assert (record["eventSource"], record["eventVersion"], record["eventName"]) == (
            "aws:kinesis", "1.0", "aws:kinesis:record")
        assert (record["eventSourceARN"], record["awsRegion"]) == (arn, aws.region)
        assert record["invokeIdentityArn"].startswith("arn:aws:iam::123456789012:role/")
    json.dumps(event)


def test_a_chalice_event_source_handler_takes_the_event(aws):
    """Chalice's own SQSEvent/KinesisEvent read what the delivery sends (what app.score_queue gets)."""
    sqs, url, _ = make_queue(aws)
    kinesis, stream, _ = make_stream(aws)
    app = Chalice("stand-in")
    got = []

    @app.on_sqs_message(queue=url.rsplit("/", 1)[-1], batch_size=3)
    def from_queue(event):
        got.extend(("sqs", record.body, record.context.function_name) for record in event)

    @app.on_kinesis_record(stream=stream, batch_size=7, starting_position="TRIM_HORIZON")
    def from_stream(event):
        got.extend(("kinesis", record.data.decode(), record.context.function_name) for record in event)

    send(sqs, url, ["a"])
    put(kinesis, stream, ["b"])
    queue_delivery = delivery_for(app, from_queue, aws.client)
    stream_delivery = delivery_for(app, from_stream, aws.client, idle_poll_seconds=0.05)
    with queue_delivery, stream_delivery:
        assert queue_delivery.wait_until_idle(WAIT) and stream_delivery.wait_until_idle(WAIT)
    assert sorted(got) == [("kinesis", "b", "pfa-serving-dev-from_stream"), ("sqs", "a", "pfa-serving-dev-from_queue")]


# ----- the mapping's settings -------------------------------------------------------------------------------


def test_the_mapping_comes_from_the_apps_event_sources_and_the_stage_config(aws):
    sqs, url, arn = make_queue(aws)
    kinesis, stream, stream_arn = make_stream(aws)
    app = Chalice("stand-in")

    @app.on_sqs_message(queue=url.rsplit("/", 1)[-1], batch_size=30, maximum_batching_window_in_seconds=2)
    def from_queue(event):
        return None

    @app.on_kinesis_record(stream=stream, batch_size=7, starting_position="TRIM_HORIZON",
                           maximum_batching_window_in_seconds=1)
    def from_stream(event):
        return None

    queue_delivery = delivery_for(app, from_queue, aws.client)
    assert isinstance(queue_delivery, SqsDelivery)
    assert queue_delivery.mapping == SqsMapping(queue_url=url, queue_arn=arn, batch_size=30,
                                                maximum_batching_window_in_seconds=2)
    stream_delivery = delivery_for(app, from_stream, aws.client, report_batch_item_failures=False)
    assert isinstance(stream_delivery, KinesisDelivery)
    assert stream_delivery.mapping == KinesisMapping(stream_name=stream, stream_arn=stream_arn, batch_size=7,
                                                     starting_position="TRIM_HORIZON",
                                                     maximum_batching_window_in_seconds=1,
                                                     report_batch_item_failures=False)
    # .chalice/config.json: lambda_timeout 30 and lambda_memory_size 512 for the dev stage's functions.
    assert (stream_delivery.function.name, stream_delivery.function.timeout_seconds,
            stream_delivery.function.memory_mb) == ("pfa-serving-dev-from_stream", 30, 512)
    assert stream_delivery.function.role_arn == "arn:aws:iam::123456789012:role/pfa-serving-dev"

    def not_registered(event, context):
        return None

    with pytest.raises(EventDeliveryError, match="no SQS or Kinesis event source"):
        event_source(app, not_registered)


def test_mappings_lambda_would_refuse_are_refused(aws):
    sqs, url, arn = make_queue(aws)
    with pytest.raises(EventDeliveryError, match="over 10 needs a batching window"):
        SqsDelivery(StandIn(), sqs, SqsMapping(url, arn, batch_size=11), function(aws))
    with pytest.raises(EventDeliveryError, match="batch size"):
        SqsDelivery(StandIn(), sqs, SqsMapping(url, arn, batch_size=0), function(aws))
    with pytest.raises(EventDeliveryError, match="starting position"):
        KinesisDelivery(StandIn(), aws.client("kinesis"), KinesisMapping("s", "arn", starting_position="NOW"),
                        function(aws))


def test_sqs_batches_hold_at_most_batch_size_messages(aws):
    handler = StandIn()
    delivery, sqs, url = sqs_delivery(aws, handler, batch_size=4)
    bodies = [str(number) for number in range(10)]
    send(sqs, url, bodies)
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert max(len(batch) for batch in handler.batches) <= 4
    assert sorted(body for batch in handler.batches for body in batch) == sorted(bodies)


def test_an_sqs_window_gathers_across_receives_up_to_the_batch_size(aws):
    # 25 messages take three ReceiveMessage calls (10 at most each): one invocation within the window.
    handler = StandIn()
    delivery, sqs, url = sqs_delivery(aws, handler, batch_size=25, window=60, visibility_timeout=90)
    send(sqs, url, [str(number) for number in range(25)])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert [len(batch) for batch in handler.batches] == [25]


def test_an_sqs_window_waits_for_more_messages_then_invokes_with_what_it_has(aws):
    handler = StandIn()
    # A visibility timeout longer than the window, as AWS advises: else a message comes back while the batch it
    # is in is still being gathered, and is in it twice.
    delivery, sqs, url = sqs_delivery(aws, handler, batch_size=3, window=60, visibility_timeout=90)
    with delivery:
        send(sqs, url, ["first"])
        wait_for(lambda: delivery.counters.records_received == 1, what="the first message to be received")
        assert delivery.counters.invocations == 0, "a 60 s window holds the batch open"
        send(sqs, url, ["second", "third"])
        assert delivery.wait_until_idle(WAIT)
    assert sorted(handler.batches[0]) == ["first", "second", "third"] and len(handler.batches) == 1
    # A short window invokes with what it has when it ends.
    handler = StandIn()
    delivery, sqs, url = sqs_delivery(aws, handler, batch_size=10, window=1, visibility_timeout=30)
    send(sqs, url, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert [sorted(batch) for batch in handler.batches] == [["a", "b"]]


def test_kinesis_batches_hold_at_most_batch_size_records_in_order(aws):
    handler = StandIn()
    delivery, kinesis, name = kinesis_delivery(aws, handler, batch_size=4)
    items = [str(number) for number in range(10)]
    put(kinesis, name, items)
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [items[0:4], items[4:8], items[8:10]]


def test_a_kinesis_window_waits_for_the_batch_to_fill(aws):
    handler = StandIn()
    delivery, kinesis, name = kinesis_delivery(aws, handler, batch_size=3, window=60)
    put(kinesis, name, ["1", "2"])
    with delivery:
        wait_for(lambda: delivery.counters.records_received == 2, what="two records to be read")
        assert delivery.counters.invocations == 0, "a 60 s window holds the batch open"
        put(kinesis, name, ["3"])
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["1", "2", "3"]]


def test_kinesis_latest_starts_after_start(aws):
    handler = StandIn()
    delivery, kinesis, name = kinesis_delivery(aws, handler, starting_position="LATEST")
    put(kinesis, name, ["before"])
    with delivery:
        put(kinesis, name, ["after"])
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["after"]]


# ----- SQS: what is deleted and what comes back -------------------------------------------------------------


def test_sqs_reported_failures_come_back_after_the_visibility_timeout_and_only_they(aws):
    handler = StandIn(sqs_failures("2", "5"))
    delivery, sqs, url = sqs_delivery(aws, handler)
    send(sqs, url, [str(number) for number in range(6)])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    delivered = [(record["body"], record["attributes"]["ApproximateReceiveCount"])
                 for event in handler.events for record in event["Records"]]
    assert sorted(delivered) == sorted([(str(number), "1") for number in range(6)] + [("2", "2"), ("5", "2")])
    counters = delivery.counters
    assert (counters.failures_reported, counters.redeliveries, counters.whole_batch_failures) == (2, 2, 0)


def test_sqs_a_raise_brings_the_whole_batch_back_and_is_logged_in_one_line(aws, caplog):
    handler = StandIn(first_call(RuntimeError("model store down\nsecond line")))
    delivery, sqs, url = sqs_delivery(aws, handler)
    send(sqs, url, ["a", "b", "c"])
    with caplog.at_level(logging.ERROR, logger="devtools.event_delivery"), delivery:
        assert delivery.wait_until_idle(WAIT)
    ids = [sorted(record["messageId"] for record in event["Records"]) for event in handler.events]
    assert len(ids) == 2 and ids[0] == ids[1] and len(ids[0]) == 3
    assert {record["attributes"]["ApproximateReceiveCount"] for record in handler.events[1]["Records"]} == {"2"}
    assert (delivery.counters.whole_batch_failures, delivery.counters.redeliveries) == (1, 3)
    [line] = [record.getMessage() for record in caplog.records if "raised" in record.getMessage()]
    assert "RuntimeError: model store down" in line and "\n" not in line


def test_sqs_without_reporting_any_return_deletes_the_whole_batch(aws):
    def report_all(event, call):
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in event["Records"]]}

    handler = StandIn(report_all)
    delivery, sqs, url = sqs_delivery(aws, handler, report=False)
    send(sqs, url, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT), "idle: nothing left in the queue, visible or not"
    assert [sorted(batch) for batch in handler.batches] == [["a", "b"]]
    assert delivery.counters.failures_reported == 0


# The other malformed responses: test_what_lambda_takes_from_a_response.
@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
    [{"itemIdentifier": "a list, not an object"}],
], ids=["unknown-id", "not-an-object"])
def test_sqs_a_malformed_response_fails_the_whole_batch(aws, response):
    handler = StandIn(first_call(response))
    delivery, sqs, url = sqs_delivery(aws, handler)
    send(sqs, url, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert [sorted(batch) for batch in handler.batches] == [["a", "b"], ["a", "b"]]
    assert delivery.counters.whole_batch_failures == 1


def test_what_lambda_takes_from_a_response():
    ids = ["m1", "m2"]
    for success in (None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"other": 1}):
        assert batch_item_failures(success, ids) == ()
    assert batch_item_failures({"batchItemFailures": [{"itemIdentifier": "m2"}]}, ids) == ("m2",)
    for whole_batch in ("ok", [], {"batchItemFailures": {"not": "a list"}}, {"batchItemFailures": [{"id": "m1"}]},
                        {"batchItemFailures": [{"itemIdentifier": ""}]},
                        {"batchItemFailures": [{"itemIdentifier": None}]}, {"batchItemFailures": ["m1"]},
                        {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}):
        assert batch_item_failures(whole_batch, ids) is None, whole_batch


def test_sqs_a_message_that_keeps_failing_goes_to_the_dead_letter_queue_after_five_receives(aws):
    names = StreamNames(records_queue=unique("records"), results_queue=unique("results"), stream=unique("stream"))
    resources = create_stage_streams(aws, names, visibility_timeout=1)
    sqs = aws.client("sqs")

    def always_fails(event, call):
        raise RuntimeError("poisoned")

    handler = StandIn(always_fails)
    mapping = SqsMapping(queue_url=resources.records_queue.url, queue_arn=resources.records_queue.arn)
    delivery = SqsDelivery(handler, sqs, mapping, function(aws))
    message_id = sqs.send_message(QueueUrl=resources.records_queue.url, MessageBody="poison")["MessageId"]
    with delivery:
        assert delivery.wait_until_idle(WAIT), "the message left the records queue"
    dead = sqs.receive_message(QueueUrl=resources.dead_letter_queue.url, WaitTimeSeconds=5)["Messages"]
    assert [message["MessageId"] for message in dead] == [message_id]
    assert [record["attributes"]["ApproximateReceiveCount"] for event in handler.events
            for record in event["Records"]] == ["1", "2", "3", "4", "5"]


def test_a_response_that_is_not_json_fails_the_invocation(aws):
    handler = StandIn(first_call({"batchItemFailures": [], "when": object()}))
    delivery, sqs, url = sqs_delivery(aws, handler)
    send(sqs, url, ["a"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["a"], ["a"]]


# ----- Kinesis: where the poller resumes --------------------------------------------------------------------


def test_kinesis_resumes_at_the_lowest_reported_sequence_number_compared_as_integers(aws):
    def fail_9_and_10(event, call):
        if call > 1:
            return None
        return {"batchItemFailures": [{"itemIdentifier": record["kinesis"]["sequenceNumber"]}
                                      for record in event["Records"]
                                      if base64.b64decode(record["kinesis"]["data"]) in (b"9", b"10")]}

    handler = StandIn(fail_9_and_10)
    delivery, kinesis, name = kinesis_delivery(aws, handler)
    items = [str(number) for number in range(1, 13)]
    numbers = put(kinesis, name, items)
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [items, items[8:]], "resumed at 9, the lower of 9 and 10"
    # moto numbers a new stream's records 1, 2, ...: as text "10" sorts before "9", so text order would resume at 10.
    assert min(numbers[8], numbers[9]) == numbers[9] and min(numbers[8], numbers[9], key=int) == numbers[8]
    counters = delivery.counters
    assert (counters.failures_reported, counters.redeliveries, counters.whole_batch_failures) == (2, 4, 0)


def test_kinesis_a_raise_retries_the_same_batch(aws):
    handler = StandIn(first_call(RuntimeError("transient")))
    delivery, kinesis, name = kinesis_delivery(aws, handler, batch_size=2)
    put(kinesis, name, ["a", "b", "c"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["a", "b"], ["a", "b"], ["c"]]
    assert (delivery.counters.whole_batch_failures, delivery.counters.redeliveries) == (1, 2)


def test_kinesis_an_unknown_identifier_retries_the_whole_batch(aws):
    handler = StandIn(first_call({"batchItemFailures": [{"itemIdentifier": "999999"}]}))
    delivery, kinesis, name = kinesis_delivery(aws, handler)
    put(kinesis, name, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["a", "b"], ["a", "b"]]


def test_kinesis_bounded_retries_skip_a_batch_that_keeps_failing(aws):
    def a_fails(event, call):
        if any(base64.b64decode(record["kinesis"]["data"]) == b"a" for record in event["Records"]):
            raise RuntimeError("always")

    handler = StandIn(a_fails)
    delivery, kinesis, name = kinesis_delivery(aws, handler, batch_size=1, max_retries=2)
    put(kinesis, name, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["a"], ["a"], ["a"], ["b"]], "the first try and two retries, then the next batch"


def test_kinesis_without_reporting_any_return_continues_after_the_batch(aws):
    handler = StandIn(first_call({"batchItemFailures": [{"itemIdentifier": "1"}]}))
    delivery, kinesis, name = kinesis_delivery(aws, handler, report=False)
    put(kinesis, name, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["a", "b"]]


def test_kinesis_a_restarted_delivery_continues_where_it_was(aws):
    handler = StandIn()
    delivery, kinesis, name = kinesis_delivery(aws, handler)
    put(kinesis, name, ["a", "b"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    put(kinesis, name, ["c"])
    with delivery:
        assert delivery.wait_until_idle(WAIT)
    assert handler.batches == [["a", "b"], ["c"]]
    with pytest.raises(EventDeliveryError, match="started"):
        delivery.wait_until_idle(1)
