"""The SQS and Kinesis handlers through chalice.test.Client, against the real local S3 and SQS.

What a message may be, what each record gets on the results queue (the same answer as POST /predict), and
which deliveries are reported back to Lambda for a retry: only transient failures, never a caller's mistake.
"""

from __future__ import annotations

import json
import uuid

import pytest
from chalice.test import Client
from streams_support import JSON, kinesis_event, sonar_rows, sqs_event

import app as app_module
from chalicelib.streams.results import MESSAGE_LIMIT_BYTES, result_message


def predict(client: Client, record, name: str | None = None) -> dict:
    path = "/predict" if name is None else f"/models/{name}/predict"
    return json.loads(client.http.post(path, body=json.dumps(record), headers=JSON).body)


def same_as_predict(client: Client, result: dict, record, name: str | None = None) -> None:
    answer = predict(client, record, name)
    if "prediction" in answer:
        assert result["prediction"] == answer["prediction"] and "error" not in result
        assert result["model"] == answer["model"]
    else:
        assert result["error"] == answer["error"] and "prediction" not in result


def by_message(found: list[dict]) -> dict:
    return {(result["source"].get("message_id") or result["source"].get("sequence_number"), result["index"]): result
            for result in found}


def test_every_shape_of_message_is_answered_once_as_predict_answers_it(serve_streams, results):
    client = serve_streams()
    rows = sonar_rows(5)
    bad = {**rows[1], "V1": "0.5"}
    iris = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    bodies = [rows[0],
              {"id": "order-17", "record": rows[2]},
              {"id": 42, "records": [rows[3], bad, rows[4]]},
              {"id": "flowers", "model": "iris", "record": iris}]
    with client:
        # Loaded now: a load waits within the invocation's time, which chalice.test.Client makes 3 s.
        assert client.http.post("/models/iris/predict", body=json.dumps(iris), headers=JSON).status_code == 200
        answer = client.lambda_.invoke("score_queue", sqs_event(client, bodies)).payload
        assert answer == {"batchItemFailures": []}
        found = results()
        assert len(found) == 6
        got = by_message(found)
        assert set(got) == {("message-0", 0), ("message-1", 0), ("message-2", 0), ("message-2", 1), ("message-2", 2),
                            ("message-3", 0)}
        same_as_predict(client, got["message-0", 0], rows[0])
        same_as_predict(client, got["message-1", 0], rows[2])
        for index, record in enumerate([rows[3], bad, rows[4]]):
            same_as_predict(client, got["message-2", index], record)
            assert got["message-2", index]["id"] == 42
        same_as_predict(client, got["message-3", 0], iris, "iris")
    assert got["message-0", 0]["id"] is None and got["message-1", 0]["id"] == "order-17"
    assert got["message-2", 1]["error"]["field"] == "V1" and got["message-2", 1]["model"]["name"] == "sonar_naive_bayes"
    assert got["message-0", 0]["source"] == {"type": "sqs", "queue": "pfa-serving-dev-records",
                                             "message_id": "message-0"}
    assert got["message-3", 0]["model"]["name"] == "iris" and got["message-3", 0]["prediction"] == "setosa"


@pytest.mark.parametrize("body, code, field, words", [
    ("not json", "malformed_json", None, "message body is not valid JSON"),
    ('{"V1": NaN}', "malformed_json", None, "NaN is not a JSON number"),
    ('{"a": 1, "a": 2}', "malformed_json", None, "duplicate key"),
    ("", "malformed_json", None, "message body is empty"),
    ({"record": {}, "records": []}, "invalid_request", "records", "either"),
    ({"record": {}, "priority": 1}, "invalid_request", "priority", "expected fields: id, model, record, records"),
    ({"records": {"V1": 1}}, "invalid_request", "records", "expected an array of records, got object"),
    ({"records": []}, "invalid_request", "records", "at least one record"),
    ({"id": [1], "record": {}}, "invalid_request", "id", "expected an id"),
    ({"id": "x" * 257, "record": {}}, "invalid_request", "id", "at most 256 characters"),
    ({"model": "../x", "record": {}}, "invalid_model_name", "model", "invalid model name"),
    ({"model": 7, "record": {}}, "invalid_request", "model", "expected a model name"),
])
def test_a_message_that_is_not_readable_gets_one_error_and_is_not_retried(serve_streams, results, body, code, field,
                                                                           words):
    client = serve_streams()
    with client:
        assert client.lambda_.invoke("score_queue", sqs_event(client, [body])).payload == {"batchItemFailures": []}
    (result,) = results()
    assert result["index"] is None and result["model"] is None and "prediction" not in result
    assert result["error"]["code"] == code and result["error"].get("field") == field
    assert words in result["error"]["message"]


def test_too_many_records_or_too_many_bytes_are_refused_in_the_message(serve_streams, results):
    client = serve_streams(MAX_BATCH_RECORDS="3", MAX_BATCH_BODY_BYTES="20000")
    rows = sonar_rows(4)
    with client:
        event = sqs_event(client, [{"records": rows}, {"records": rows[:3], "id": "x" * 200} | {"model": "a" * 10}])
        event["Records"][1]["body"] = json.dumps({"records": [rows[0]] * 3, "pad": "x" * 20000})
        client.lambda_.invoke("score_queue", event)
    got = by_message(results())
    assert got["message-0", None]["error"]["code"] == "payload_too_large"
    assert "at most 3 records (MAX_BATCH_RECORDS), got 4" in got["message-0", None]["error"]["message"]
    assert got["message-1", None]["error"]["code"] == "payload_too_large"
    assert "over the limit of 20000 bytes" in got["message-1", None]["error"]["message"]


def test_an_unknown_model_answers_each_record_with_its_error(serve_streams, results):
    client = serve_streams()
    with client:
        client.lambda_.invoke("score_queue", sqs_event(client, [{"model": "nobody", "records": [1, 2]}]))
        # /predict's error, naming the envelope's field rather than the route's path parameter.
        expected = {**predict(client, 1, "nobody")["error"], "field": "model"}
    found = results()
    assert [result["index"] for result in found] == [0, 1]
    assert all(result["error"] == expected and result["error"]["code"] == "model_not_found" for result in found)


def test_a_model_that_cannot_load_is_retried_not_answered(serve_streams, results):
    client = serve_streams()
    row = sonar_rows(1)[0]
    with client:
        event = sqs_event(client, [row, {"model": "broken", "record": 1.5}, row])
        answer = client.lambda_.invoke("score_queue", event).payload
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert sorted(result["source"]["message_id"] for result in results()) == ["message-0", "message-2"]


def test_without_reported_batch_item_failures_a_transient_failure_fails_the_whole_batch(serve_streams, results):
    client = serve_streams(BATCH_ITEM_FAILURES="off")
    with client:
        event = sqs_event(client, [sonar_rows(1)[0], {"model": "broken", "record": 1.5}])
        with pytest.raises(Exception, match="1 of 2 deliveries must be retried .*whole batch"):
            client.lambda_.invoke("score_queue", event)
        # A batch without failures returns normally.
        assert client.lambda_.invoke("score_queue", sqs_event(client, [sonar_rows(1)[0]])).payload == {
            "batchItemFailures": []}


def test_with_s3_down_a_cold_container_retries_everything_and_scores_it_once_s3_is_back(serve_streams, results, s3):
    client = serve_streams(warm=False)
    rows = sonar_rows(3)
    s3.kill()
    try:
        with client:
            answer = client.lambda_.invoke("score_queue", sqs_event(client, rows)).payload
        assert answer == {"batchItemFailures": [{"itemIdentifier": f"message-{n}"} for n in range(3)]}
        assert results() == []
    finally:
        s3.restart()
    with client:
        for _ in range(50):  # the load is retried with backoff: a later delivery finds the model
            answer = client.lambda_.invoke("score_queue", sqs_event(client, rows)).payload
            if not answer["batchItemFailures"]:
                break
    assert answer == {"batchItemFailures": []}
    assert len(results()) == 3


def test_an_unreachable_results_queue_fails_every_message_for_a_retry(serve_streams, results, aws):
    missing = results.url.rsplit("/", 1)[0] + "/no-such-queue"
    client = serve_streams(RESULTS_QUEUE=missing)
    with client:
        answer = client.lambda_.invoke("score_queue", sqs_event(client, sonar_rows(12))).payload
    assert [item["itemIdentifier"] for item in answer["batchItemFailures"]] == [f"message-{n}" for n in range(12)]


def test_a_results_queue_named_by_name_is_found(serve_streams, results):
    client = serve_streams(RESULTS_QUEUE=results.url.rsplit("/", 1)[1])
    with client:
        assert client.lambda_.invoke("score_queue", sqs_event(client, [1.0])).payload == {"batchItemFailures": []}
    assert len(results()) == 1


def test_results_are_sent_in_batches_across_messages(serve_streams, results, aws):
    client = serve_streams()
    rows = sonar_rows(25)
    with client:
        client.lambda_.invoke("score_queue", sqs_event(client, rows[:23] + [{"records": rows[23:]}]))
    found = results()
    assert len(found) == 25 and len(by_message(found)) == 25


def test_a_kinesis_batch_resumes_from_its_first_transient_failure(serve_streams, results):
    client = serve_streams()
    rows = sonar_rows(4)
    event = kinesis_event([rows[0], "not json", {"model": "broken", "record": 1.5}, rows[1], rows[2]])
    sequences = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
    with client:
        answer = client.lambda_.invoke("score_stream", event).payload
        assert answer == {"batchItemFailures": [{"itemIdentifier": sequences[2]}]}
        got = by_message(results())
        assert set(got) == {(sequences[0], 0), (sequences[1], None)}  # nothing after the failure was scored
        same_as_predict(client, got[sequences[0], 0], rows[0])
    assert got[sequences[0], 0]["source"] == {"type": "kinesis", "stream": "pfa-serving-dev-records",
                                              "shard": "shardId-000000000006", "sequence_number": sequences[0],
                                              "partition_key": "key-0"}


def test_a_kinesis_record_that_is_not_utf8_json_is_answered(serve_streams, results):
    client = serve_streams()
    with client:
        assert client.lambda_.invoke("score_stream", kinesis_event([b"\xff\xfe"])).payload == {"batchItemFailures": []}
    (result,) = results()
    assert result["error"]["code"] == "malformed_json" and "not UTF-8" in result["error"]["message"]


def test_a_prediction_too_large_for_one_message_becomes_its_error():
    source = {"type": "sqs", "queue": "q", "message_id": "m"}
    text = result_message(source, "id-1", 0, {"name": "n", "version": "v"}, prediction="x" * MESSAGE_LIMIT_BYTES)
    result = json.loads(text)
    assert result["error"]["code"] == "response_too_large" and "256 KiB" in result["error"]["message"]
    assert result["id"] == "id-1" and result["source"] == source and len(text) < 1000


def test_out_of_time_messages_are_retried_not_answered(serve_streams, results):
    client = serve_streams()

    class NoTimeLeft:
        aws_request_id = "r"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 500

    from chalicelib.streams.handlers import handle_queue_event
    from chalicelib.telemetry import RequestLog, ServiceMetrics

    with client:
        event = sqs_event(client, sonar_rows(2))
        answer = handle_queue_event(event, NoTimeLeft(), app_module.runtime.get, RequestLog(), ServiceMetrics())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-0"}, {"itemIdentifier": "message-1"}]}
    assert results() == []


def table_change(event_name: str, keys: dict, image: dict | None) -> dict:
    """A change record as Kinesis Data Streams for DynamoDB writes it (attributes typed by boto3's serializer)."""
    from decimal import Decimal

    from boto3.dynamodb.types import TypeSerializer

    def typed(item: dict) -> dict:
        serializer = TypeSerializer()
        return {name: serializer.serialize(Decimal(str(value)) if isinstance(value, float) else value)
                for name, value in item.items()}

    change: dict = {"ApproximateCreationDateTime": 1796160602141, "Keys": typed(keys), "SizeBytes": 1200,
                    "ApproximateCreationDateTimePrecision": "MILLISECOND"}
    if image is not None:
        change["NewImage"] = typed({**keys, **image})
    return {"awsRegion": "us-east-1", "eventID": str(uuid.uuid4()), "eventName": event_name, "userIdentity": None,
            "recordFormat": "application/json", "tableName": "sonar-readings", "dynamodb": change,
            "eventSource": "aws:dynamodb"}


def test_a_tables_change_records_from_kinesis_are_scored_as_their_new_image_keyed_by_the_table_key(serve_streams,
                                                                                                   results):
    client = serve_streams()
    rows = sonar_rows(2)
    bodies = [table_change("INSERT", {"reading": "r-1"}, rows[0]),
              table_change("MODIFY", {"site": "a", "n": 7}, rows[1]),
              table_change("REMOVE", {"reading": "r-3"}, None),
              table_change("INSERT", {"reading": "r-4"}, rows[0])]
    bodies[3]["dynamodb"]["NewImage"]["V1"] = {"B": "AA=="}  # binary, base64 in the stream's JSON
    with client:
        assert client.lambda_.invoke("score_stream", kinesis_event(bodies)).payload == {"batchItemFailures": []}
        found = sorted(results(), key=lambda result: result["source"]["sequence_number"])
        same_as_predict(client, found[0], rows[0])
        same_as_predict(client, found[1], rows[1])
    assert [result["id"] for result in found] == ["r-1", '{"n":7,"site":"a"}', "r-3", "r-4"]
    assert found[2]["error"]["code"] == "invalid_request"
    assert "'REMOVE' has no new image" in found[2]["error"]["message"]
    assert found[3]["error"]["field"] == "dynamodb.NewImage" and "'B'" in found[3]["error"]["message"]


def test_typed_attributes_become_plain_json():
    from chalicelib.errors import InvalidRequest
    from chalicelib.streams.table_changes import plain

    assert plain({"M": {"a": {"L": [{"N": "1"}, {"N": "0.5"}, {"NULL": True}, {"BOOL": False}, {"S": "x"}]},
                        "b": {"NS": ["2", "2.5"]}, "c": {"SS": ["p", "q"]}}}) == {
        "a": [1, 0.5, None, False, "x"], "b": [2, 2.5], "c": ["p", "q"]}
    for bad in ({"N": "NaN"}, {"N": "1e99999"}, {"N": "x"}, {"B": "AA=="}, {"S": 1}, {}, "plain"):
        with pytest.raises(InvalidRequest):
            plain(bad)
