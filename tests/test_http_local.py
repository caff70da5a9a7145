"""End to end over real HTTP: `chalice local` serving the dev stage, a real local S3 behind it."""

import json

import pytest
from chalice_local import call, chalice_local
from test_api import ROW1


@pytest.fixture(scope="module")
def base_url(s3, model_bucket, tmp_path_factory):
    with chalice_local(s3.client_environment(), tmp_path_factory.mktemp("chalice-local") / "chalice.log") as url:
        yield url


def test_the_published_record_gets_r_over_http(base_url):
    status, headers, body = call(base_url + "/predict", json.dumps(ROW1).encode())
    assert status == 200 and body["prediction"] == "R"
    assert headers["X-Model-Name"] == "sonar_naive_bayes" and headers["X-Request-Id"]


def test_over_http_bad_requests_get_json_errors_and_the_service_keeps_serving(base_url):
    predict = base_url + "/predict"
    cases = [
        (b"{", "application/json", 400, "malformed_json"),
        (json.dumps(ROW1).encode(), "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b"x" * (2 * 1024 * 1024), "application/json", 413, "payload_too_large"),
        (json.dumps({**ROW1, "V1": "0.02"}).encode(), "application/json", 400, "invalid_input"),
        (json.dumps({**ROW1, "V1": None, "V99": 1}).encode(), "application/json", 400, "invalid_input"),
    ]
    for data, content_type, status, code in cases:
        got_status, _, body = call(predict, data, content_type)
        assert (got_status, body["error"]["code"]) == (status, code)
    assert call(predict, json.dumps(ROW1).encode())[2]["prediction"] == "R"


def test_health_and_model_over_http(base_url):
    status, _, body = call(base_url + "/health", content_type=None)
    assert status == 200 and body["ready"] is True
    status, _, body = call(base_url + "/model", content_type=None)
    assert status == 200 and body["example_request"] == ROW1
