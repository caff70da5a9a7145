"""The queue and stream handlers against hostile models and a hostile results queue: a caller's or a model's
mistake is answered, never retried for ever; memory and time stay bounded; a refused result takes no other
message with it."""

from __future__ import annotations

import json
import socket
import time
import tracemalloc
import uuid
from pathlib import Path

import boto3
from streams_support import kinesis_event, sonar_rows, sqs_event

import app as app_module
from chalicelib.errors import ModelNotReady
from chalicelib.streams.handlers import handle_queue_event, handle_stream_event
from chalicelib.telemetry import RequestLog, ServiceMetrics
from devtools.event_delivery import FunctionInfo, LambdaContext, delivery_for
from devtools.local_streams import StreamNames, create_stage_streams

PROJECT = Path(__file__).resolve().parent.parent
HOSTILE = dict(json.loads((PROJECT / "tests" / "pfa" / "hostile.json").read_text()))


def put_model(s3_client, bucket: str, name: str) -> None:
    s3_client.put_object(Bucket=bucket, Key=f"models/{name}.pfa", Body=json.dumps(HOSTILE[name]).encode())


def loaded(name: str, timeout: float = 120) -> None:
    """Load the model now, outside the invocations a test times (a load waits within an invocation's time, and
    a wait here within MODEL_TIMEOUT_MS: it is asked again until the load is done)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            app_module.runtime.get().service.model(name)
            return
        except ModelNotReady:
            assert time.monotonic() < deadline, f"model {name} did not load"
            time.sleep(0.1)


def context(seconds: float, name: str = "score_queue") -> LambdaContext:
    return LambdaContext(FunctionInfo(name=name, timeout_seconds=seconds, memory_mb=512, region="us-east-1"))


def invoke(handler, event, seconds: float = 60) -> dict:
    return handler(event, context(seconds), app_module.runtime.get, RequestLog(), ServiceMetrics())


def test_records_over_the_models_time_budget_are_answered_as_predict_batch_answers_them(
        serve_streams, results, streams_bucket, s3_client):
    put_model(s3_client, streams_bucket, "forever")
    client = serve_streams(MODEL_TIMEOUT_MS="300")
    loaded("forever")
    event = sqs_event(client, [{"id": "loops", "model": "forever", "records": [1.0] * 6}])
    assert invoke(handle_queue_event, event, seconds=3) == {"batchItemFailures": []}
    found = results()
    assert [result["error"]["code"] for result in found] == ["model_timeout"] * 6
    assert "did not finish" in found[0]["error"]["message"] or "time" in found[0]["error"]["message"]
    assert found[1]["error"]["message"] == "not scored: the message's time budget (300 ms) ran out after 1 of 6 records"


def test_a_message_of_slow_records_does_not_hold_a_shard(serve_streams, results, streams_bucket, s3_client):
    put_model(s3_client, streams_bucket, "forever")
    serve_streams(MODEL_TIMEOUT_MS="300")
    loaded("forever")
    event = kinesis_event([{"id": "loops", "model": "forever", "records": [1.0] * 6}, sonar_rows(1)[0]])
    assert invoke(handle_stream_event, event, seconds=3) == {"batchItemFailures": []}
    assert len(results()) == 7


def test_the_invocations_first_message_is_answered_even_when_it_takes_the_whole_invocation(
        serve_streams, results, streams_bucket, s3_client):
    """Capped by the invocation rather than the model: the first message had the whole invocation (another would
    not do better) and is answered; a later one is retried, with a fresh invocation's time."""
    put_model(s3_client, streams_bucket, "forever")
    client = serve_streams(MODEL_TIMEOUT_MS="60000")
    loaded("forever")
    event = sqs_event(client, [{"id": "first", "model": "forever", "record": 1.0},
                               {"id": "second", "model": "forever", "record": 1.0}])
    answer = invoke(handle_queue_event, event, seconds=4)
    (result,) = results()
    assert result["id"] == "first" and result["error"]["code"] == "model_timeout"
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}


def small_results_queue() -> str:
    return boto3.client("sqs").create_queue(QueueName=f"small-{uuid.uuid4().hex[:12]}",
                                            Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]


def test_a_result_the_queue_refuses_for_good_becomes_its_error_and_takes_no_other_message_with_it(
        serve_streams, results, streams_bucket, s3_client):
    put_model(s3_client, streams_bucket, "doubling_string")
    small = small_results_queue()
    client = serve_streams(RESULTS_QUEUE=small)
    event = sqs_event(client, [{"id": "big", "model": "doubling_string", "record": 11}] + sonar_rows(9))
    assert invoke(handle_queue_event, event) == {"batchItemFailures": []}
    sqs = boto3.client("sqs")
    found = []
    while batch := sqs.receive_message(QueueUrl=small, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(message["Body"]) for message in batch]
        sqs.delete_message_batch(QueueUrl=small, Entries=[
            {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]} for n, message in enumerate(batch)])
    assert len(found) == 10
    (big,) = [result for result in found if result["id"] == "big"]
    assert big["error"]["code"] == "response_too_large" and "results queue refused this result" in \
        big["error"]["message"]
    assert all("prediction" in result for result in found if result["id"] != "big")


def test_through_the_local_delivery_a_refused_result_sends_nothing_to_the_dead_letter_queue(
        serve_streams, aws, streams_bucket, s3_client):
    put_model(s3_client, streams_bucket, "doubling_string")
    small = small_results_queue()
    serve_streams(RESULTS_QUEUE=small)
    tag = uuid.uuid4().hex[:12]
    names = StreamNames(records_queue=f"rec-{tag}", results_queue=f"unused-{tag}", stream=f"rec-{tag}")
    resources = create_stage_streams(aws, names, visibility_timeout=1)
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=resources.records_queue.url,
                     MessageBody=json.dumps({"id": "big", "model": "doubling_string", "record": 11}))
    for number, row in enumerate(sonar_rows(9)):
        sqs.send_message(QueueUrl=resources.records_queue.url, MessageBody=json.dumps({"id": number, "record": row}))
    function = FunctionInfo(name="score_queue", timeout_seconds=60, memory_mb=512, region="us-east-1")
    delivery = delivery_for(app_module.app, app_module.score_queue, lambda service: boto3.client(service),
                            source=resources.records_queue.url, function=function)
    with delivery:
        assert delivery.wait_until_idle(timeout=60)
    assert delivery.counters.failures_reported == 0 and delivery.counters.whole_batch_failures == 0
    dead = sqs.get_queue_attributes(QueueUrl=resources.dead_letter_queue.url,
                                    AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert dead["ApproximateNumberOfMessages"] == "0"


def test_a_messages_predictions_are_not_all_held_in_memory_at_once(serve_streams, results, streams_bucket,
                                                                   s3_client):
    put_model(s3_client, streams_bucket, "doubling_string")
    client = serve_streams()
    event = sqs_event(client, [{"model": "doubling_string", "records": [20] * 40}])  # 1 MiB predictions
    invoke(handle_queue_event, event)  # loads the model
    results()
    tracemalloc.start()
    try:
        invoke(handle_queue_event, event)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [result["error"]["code"] for result in results()] == ["response_too_large"] * 40
    assert peak < 8 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MiB for one message"


def test_results_in_any_script_are_written_in_ascii_so_that_sqs_takes_them(serve_streams, results):
    client = serve_streams()
    event = sqs_event(client, [{"id": "\uffff\u00e9\U0001f600", "record": {"V1": "\uffff"}}])
    assert invoke(handle_queue_event, event) == {"batchItemFailures": []}
    (result,) = results()
    assert result["id"] == "\uffff\u00e9\U0001f600" and result["error"]["code"] == "invalid_input"


def test_sending_results_keeps_to_the_invocations_time(serve_streams, monkeypatch):
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # connections complete in the backlog; nothing ever answers
    try:
        endpoint = f"http://127.0.0.1:{hole.getsockname()[1]}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", endpoint)
        client = serve_streams(RESULTS_QUEUE=f"{endpoint}/123456789012/results")
        started = time.monotonic()
        answer = invoke(handle_queue_event, sqs_event(client, sonar_rows(1)), seconds=9)
        took = time.monotonic() - started
    finally:
        hole.close()
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert took < 9, f"{took:.1f} s of an invocation that had 9 s"
