"""The service stays up without a model, says why, and recovers on its own."""

import json
import os
import time
from pathlib import Path

import boto3
import pytest
from chalice.test import Client

import app as app_module
from chalicelib.wiring import build_runtime

MODELS = Path(__file__).parent.parent / "models"
JSON = {"Content-Type": "application/json"}
KEY = "models/toy.pfa"
TOY = (MODELS / "toy_add100.pfa").read_bytes()


@pytest.fixture
def serve(scratch_bucket):
    """Serve from the scratch bucket with a short retry backoff; put the app back afterwards."""

    def configure(**overrides):
        settings = {"MODEL_BUCKET": scratch_bucket, "MODEL_KEY": KEY, "LOAD_RETRY_MIN_SECONDS": "0.2",
                    "LOAD_RETRY_MAX_SECONDS": "0.4", **overrides}
        app_module.runtime.configure(lambda: build_runtime(settings))
        return Client(app_module.app)

    yield configure
    app_module.runtime.configure(lambda: build_runtime(os.environ))


def predict(client, value=3.14):
    response = client.http.post("/predict", body=json.dumps(value), headers=JSON)
    return response.status_code, json.loads(response.body)


def health(client):
    response = client.http.get("/health")
    return response.status_code, json.loads(response.body)


def eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_a_missing_model_is_503_with_the_reason_until_it_is_uploaded(serve, s3_client, scratch_bucket):
    client = serve()
    status, body = predict(client)
    assert status == 503
    assert body["error"]["code"] == "model_not_ready"
    assert f"s3://{scratch_bucket}/{KEY} does not exist" in body["error"]["message"]
    status, body = health(client)
    assert status == 503 and body["ready"] is False and "does not exist" in body["reason"]

    s3_client.put_object(Bucket=scratch_bucket, Key=KEY, Body=TOY)
    assert eventually(lambda: predict(client)[0] == 200)
    assert predict(client)[1]["prediction"] == pytest.approx(103.14)
    assert health(client)[0] == 200


def test_a_broken_document_is_503_and_a_fixed_one_is_picked_up(serve, s3_client, scratch_bucket):
    s3_client.put_object(Bucket=scratch_bucket, Key=KEY, Body=b'{"input": "double", "output": "double", '
                                                                b'"action": [{"no.such.function": ["input"]}]}')
    client = serve()
    status, body = predict(client)
    assert status == 503 and "does not compile" in body["error"]["message"]
    assert "\n" not in body["error"]["message"]
    s3_client.put_object(Bucket=scratch_bucket, Key=KEY, Body=TOY)
    assert eventually(lambda: predict(client)[0] == 200)


def test_while_s3_is_down_the_service_answers_503_and_recovers_when_it_is_back(serve, s3, s3_client, scratch_bucket):
    s3_client.put_object(Bucket=scratch_bucket, Key=KEY, Body=TOY)
    client = serve()
    s3.kill()
    try:
        status, body = predict(client)
        assert status == 503 and "S3 is unreachable (could not connect to http://" in body["error"]["message"]
        assert "Error" not in body["error"]["message"]  # no Python exception names
        assert "Retry-After" in client.http.post("/predict", body="1", headers=JSON).headers
    finally:
        s3.restart()
    assert eventually(lambda: predict(client)[0] == 200, timeout=10)


def test_backoff_means_no_fetch_per_request(serve, scratch_bucket):
    client = serve(LOAD_RETRY_MIN_SECONDS="60", LOAD_RETRY_MAX_SECONDS="60")
    first = predict(client)[1]["error"]["message"]
    status, body = predict(client)
    assert status == 503 and body["error"]["message"] == first
    assert health(client)[1]["failed_attempts"] == 1


def test_a_misconfigured_service_names_the_setting(serve):
    client = serve(MODEL_BUCKET="")
    status, body = predict(client)
    assert status == 503 and "MODEL_BUCKET is not set" in body["error"]["message"]
    status, body = health(client)
    assert status == 503 and "MODEL_BUCKET" in body["reason"]


class BrokenService:
    """A service with a bug: every call fails unexpectedly."""

    def predict(self, record, name=None, time_left_ms=None):
        raise ZeroDivisionError("secret internals")


def test_an_unexpected_error_is_a_bare_500_with_the_request_id_logged(capsys):
    runtime = build_runtime({"MODEL_BUCKET": "unused", "MODEL_KEY": "unused"})
    broken = type(runtime)(runtime.settings, BrokenService())
    app_module.runtime.configure(lambda: broken)
    try:
        response = Client(app_module.app).http.post("/predict", body="1", headers=JSON)
    finally:
        app_module.runtime.configure(lambda: build_runtime(os.environ))
    request_id = response.headers["X-Request-Id"]
    assert response.status_code == 500
    assert json.loads(response.body) == {"error": {"code": "internal_error",
                                                   "message": f"internal error; request id {request_id}"}}
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    errors = [line for line in logged if line.get("event") == "unhandled_exception"]
    assert errors[0]["request_id"] == request_id and "secret internals" in errors[0]["traceback"]


def test_missing_credentials_are_named_as_such(monkeypatch, scratch_bucket):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.session.Session().client("s3")  # a new session: the default one has cached its credentials
    settings = {"MODEL_BUCKET": scratch_bucket, "MODEL_KEY": KEY}
    app_module.runtime.configure(lambda: build_runtime(settings, s3_client=client))
    try:
        status, body = predict(Client(app_module.app))
    finally:
        app_module.runtime.configure(lambda: build_runtime(os.environ))
    assert status == 503 and "no AWS credentials were found" in body["error"]["message"]
    assert "Error" not in body["error"]["message"]


@pytest.mark.parametrize("document, reason", [
    (b"null", "must be a PFA object with 'input', 'output' and 'action', got null"),
    (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
    (b'{"input": "double", "output": "double", "action": {"let": ' * 2000 + b"1" + b"}" * 2001,
     "nested too deeply"),
])
def test_a_deep_or_empty_document_is_refused_in_plain_words(serve, s3_client, scratch_bucket, document, reason):
    s3_client.put_object(Bucket=scratch_bucket, Key=KEY, Body=document)
    status, body = predict(serve())
    assert status == 503 and reason in body["error"]["message"]
    assert "Error" not in body["error"]["message"]
