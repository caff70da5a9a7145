"""Every new version that cannot serve is recorded against that version and not fetched again until the
object changes; loaded models are budgeted by the memory they really take."""

import json
import os
import time
from pathlib import Path

import boto3
import pytest
from chalice.test import Client

import app as app_module
from chalicelib.served_model import compile_served
from chalicelib.wiring import build_runtime

MODELS = Path(__file__).parent.parent / "models"
SONAR_KEY = "models/sonar_naive_bayes.pfa"
TOY = (MODELS / "toy_add100.pfa").read_bytes()
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def counted_client(s3):
    """A real S3 client that notes the HTTP status of every GetObject it makes."""
    client = boto3.session.Session().client("s3")
    client.statuses = []

    def note(http_response, **_):
        client.statuses.append(http_response.status_code)

    client.meta.events.register("after-call.s3.GetObject", note)
    return client


@pytest.fixture
def serve(counted_client, s3_client, scratch_bucket):
    s3_client.upload_file(str(MODELS / "sonar_naive_bayes.pfa"), scratch_bucket, SONAR_KEY)
    s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=TOY)

    def configure(**overrides):
        environ = {"MODEL_BUCKET": scratch_bucket, "MODEL_KEY": SONAR_KEY, "MODEL_REFRESH_SECONDS": "0", **overrides}
        runtime = build_runtime(environ, s3_client=counted_client, background=lambda task: task())
        app_module.runtime.configure(lambda: runtime)
        return Client(app_module.app), runtime

    yield configure
    app_module.runtime.configure(lambda: build_runtime(os.environ))


def check(runtime, name="toy"):
    """One update check of a loaded model, as the refresher runs it."""
    runtime.service._registry.loader(name).check_for_update()


@pytest.mark.parametrize("bad_version, reason", [
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b'{"input": "double", "output": "double", "action": {"s.len": "input"}}', "does not compile"),
    (b"x" * 600_000, "over MAX_MODEL_BYTES (500000)"),
    (b'{"input": "string", "output": "boolean", "action": {"re.contains": ["input", {"string": "(a)\\\\1"}]}}',
     "back-references"),
])
def test_a_failed_update_is_recorded_and_not_fetched_again(serve, s3_client, scratch_bucket, counted_client,
                                                            bad_version, reason):
    client, runtime = serve(MAX_MODEL_BYTES="500000")
    assert client.http.get("/models/toy").status_code == 200
    good = client.http.get("/models/toy").json_body["version"]
    bad = s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=bad_version)["VersionId"]
    counted_client.statuses.clear()
    for _ in range(3):
        check(runtime)
    update = client.http.get("/models/toy").json_body
    assert update["version"] == good
    failed = update["update"]["failed_update"]
    assert failed["version"] == bad and reason in failed["reason"] and "Error" not in failed["reason"]
    assert counted_client.statuses[0] == 200 and counted_client.statuses[1:] == [304, 304]
    # Back to a good version: it is swapped in, and the failure is cleared.
    s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=TOY.replace(b"100", b"7"))
    check(runtime)
    described = client.http.get("/models/toy").json_body
    assert described["version"] != good and described["update"]["failed_update"] is None


def test_a_version_that_failed_to_load_first_is_not_fetched_again_either(serve, s3_client, scratch_bucket,
                                                                         counted_client):
    s3_client.put_object(Bucket=scratch_bucket, Key="models/broken.pfa", Body=b"[" * 200_000)
    client, _ = serve(LOAD_RETRY_MIN_SECONDS="0.01", LOAD_RETRY_MAX_SECONDS="0.01")
    first = client.http.get("/models/broken")
    assert first.status_code == 503 and "nested too deeply" in first.json_body["error"]["message"]
    counted_client.statuses.clear()
    for _ in range(3):
        time.sleep(0.02)  # past the retry delay
        again = client.http.get("/models/broken")
        assert again.status_code == 503 and "nested too deeply" in again.json_body["error"]["message"]
    assert counted_client.statuses == [304, 304, 304]


def test_loaded_models_are_budgeted_by_the_memory_they_take(serve, s3_client, scratch_bucket):
    # A document whose compiled form is much larger than its text: a cell of 200,000 numbers.
    big = json.dumps({"input": "double", "output": "double",
                      "cells": {"table": {"type": {"type": "array", "items": "double"}, "init": [0.5] * 200_000}},
                      "action": {"+": ["input", {"a.len": {"cell": "table"}}]}}).encode()
    for name in ("big1", "big2"):
        s3_client.put_object(Bucket=scratch_bucket, Key=f"models/{name}.pfa", Body=big)
    client, _ = serve(MAX_LOADED_MODEL_BYTES=str(8 * len(big)))
    assert client.http.get("/model").status_code == 200
    first = client.http.get("/models/big1").json_body
    assert first["memory_bytes"] >= 5 * first["size_bytes"]  # what counts is the compiled model, not the text
    client.http.get("/models/big2")
    loaded = {model["name"]: model["loaded"] for model in client.http.get("/models").json_body["models"]}
    assert loaded["big2"] and not loaded["big1"]  # over the budget: the least recently used went out
    assert loaded["sonar_naive_bayes"]  # the default model stays


def test_the_model_description_shows_each_thing_once():
    described = compile_served((MODELS / "sonar_naive_bayes.pfa").read_bytes(), SONAR_KEY).describe()
    assert "doc" not in described  # the document has none
    assert not {"input_keys", "input_types", "example_request"} & set(described["metadata"])
    assert described["input_keys"][:2] == ["V1", "V2"] and described["input_types"]["V1"] == ["null", "double"]
    assert described["metadata"]["source"].startswith("R 4.2")


MODEL_ACTIONS = {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions",
                 "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
# The HTTP function's part of jobs (tests/test_jobs_packaging.py checks them against the jobs code and resources).
JOBS_API_ACTIONS = {"s3:PutObject", "s3:GetObject", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}


def service_source(project_dir):
    """The service's code but jobs', whose calls tests/test_jobs_packaging.py checks against its own policies."""
    jobs = project_dir / "chalicelib" / "jobs"
    return "\n".join(path.read_text() for path in (project_dir / "chalicelib").rglob("*.py")
                     if jobs not in path.parents)


def test_the_function_may_do_only_what_it_does(project_dir):
    """Least privilege: the policies grant the S3 calls the service makes, its logs, and its part of jobs."""
    source = service_source(project_dir)
    calls = {call for call in ("get_object", "list_objects_v2", "list_object_versions", "head_object", "put_object",
                               "delete_object", "copy_object") if f".{call}(" in source}
    # GetObject with a VersionId (falling back to the last good version) needs s3:GetObjectVersion.
    assert calls == {"get_object", "list_objects_v2", "list_object_versions"} and '"VersionId"' in source
    for stage in ("dev", "prod"):
        policy = json.loads((project_dir / ".chalice" / f"policy-{stage}.json").read_text())
        actions = set()
        for statement in policy["Statement"]:
            listed = statement["Action"]
            actions |= {listed} if isinstance(listed, str) else set(listed)
        assert actions == MODEL_ACTIONS | JOBS_API_ACTIONS


def test_the_queue_and_stream_functions_may_also_send_results_and_read_their_source(project_dir):
    """The SQS calls the code makes are sending results (and finding the queue by name); reading the queue or
    the stream is Lambda's event source mapping's, under the function's role. tests/test_packaging.py checks
    the resources each statement names."""
    source = service_source(project_dir)
    calls = {call for call in ("send_message", "send_message_batch", "get_queue_url", "receive_message",
                               "delete_message", "put_record", "put_records") if f".{call}(" in source}
    assert calls == {"send_message_batch", "get_queue_url"}
    reads = {"queue": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                       "sqs:GetQueueAttributes"},
             "stream": {"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream",
                        "kinesis:DescribeStreamSummary", "kinesis:ListShards"}}
    for stage in ("dev", "prod"):
        for function, read in reads.items():
            policy = json.loads((project_dir / ".chalice" / f"policy-{stage}-{function}.json").read_text())
            actions = set()
            for statement in policy["Statement"]:
                listed = statement["Action"]
                actions |= {listed} if isinstance(listed, str) else set(listed)
            # (The stream function's role also lets its mapping note dropped records on the dead-letter queue.)
            assert actions == MODEL_ACTIONS | {"sqs:SendMessage", "sqs:GetQueueUrl"} | read


def test_a_new_container_serves_the_last_good_version_when_the_latest_is_broken(serve, s3_client, scratch_bucket):
    good = s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=TOY.replace(b"100", b"5"))
    broken = s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa",
                                  Body=b'{"input": "double", "output": "double", "action": {"no.such": 1}}')
    client, runtime = serve()  # a container that starts now
    response = client.http.post("/models/toy/predict", body="1", headers=JSON)
    assert response.status_code == 200 and response.json_body == {
        "prediction": 6.0, "model": {"name": "toy", "version": good["VersionId"]}}
    failed = client.http.get("/models/toy").json_body["update"]["failed_update"]
    assert failed["version"] == broken["VersionId"] and "does not compile" in failed["reason"]
    # A good version after it takes over as usual.
    s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=TOY)
    check(runtime)
    assert client.http.post("/models/toy/predict", body="1", headers=JSON).json_body["prediction"] == 101.0


def test_with_no_good_version_to_fall_back_on_the_model_is_not_ready(serve, s3_client, scratch_bucket):
    s3_client.put_object(Bucket=scratch_bucket, Key="models/bad.pfa", Body=b"[1")
    s3_client.put_object(Bucket=scratch_bucket, Key="models/bad.pfa", Body=b"[2")
    client, _ = serve()
    response = client.http.get("/models/bad")
    assert response.status_code == 503 and "not valid JSON" in response.json_body["error"]["message"]


def test_a_broken_model_is_not_compiled_again_when_made_up_names_push_it_out(serve, s3_client, scratch_bucket,
                                                                            counted_client):
    s3_client.put_object(Bucket=scratch_bucket, Key="models/broken.pfa", Body=b"[" * 200_000)
    client, _ = serve(LOAD_RETRY_MIN_SECONDS="0.01", LOAD_RETRY_MAX_SECONDS="0.01")
    assert client.http.get("/models/broken").status_code == 503
    for index in range(300):  # more than the names remembered
        client.http.get(f"/models/ghost{index}")
    counted_client.statuses.clear()
    time.sleep(0.02)  # past the retry delay
    again = client.http.get("/models/broken")
    assert again.status_code == 503 and "nested too deeply" in again.json_body["error"]["message"]
    assert counted_client.statuses == [304]


def test_a_call_waits_for_a_load_no_longer_than_its_deadline(s3_client, scratch_bucket):
    # About a megabyte of cell data: its compile takes longer than the 50 ms budget of a call.
    slow = json.dumps({"input": "double", "output": "double",
                       "cells": {"table": {"type": {"type": "array", "items": "double"}, "init": [0.5] * 100_000}},
                       "action": "input"}).encode()
    s3_client.put_object(Bucket=scratch_bucket, Key="models/slow.pfa", Body=slow)
    environ = {"MODEL_BUCKET": scratch_bucket, "MODEL_KEY": "models/slow.pfa", "MODEL_TIMEOUT_MS": "50"}
    app_module.runtime.configure(lambda: build_runtime(environ))  # loads in a thread of its own, as deployed
    try:
        client = Client(app_module.app)
        first = client.http.post("/predict", body="1", headers=JSON)
        assert first.status_code == 503 and "still loading" in first.json_body["error"]["message"]
        assert first.headers["Retry-After"] == "1"
        deadline = time.monotonic() + 30
        while (answer := client.http.post("/predict", body="1", headers=JSON)).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert answer.status_code == 200 and answer.json_body["prediction"] == 1.0
    finally:
        app_module.runtime.configure(lambda: build_runtime(os.environ))
