"""End to end over real HTTP: `chalice local` serving the dev stage, a real local S3 behind it."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_api import ROW1

PROJECT = Path(__file__).parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(s3, model_bucket, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("chalice-local") / "chalice.log"
    env = {**os.environ, **s3.client_environment()}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "dev", "--host", "127.0.0.1",
             "--port", str(port), "--no-autoreload"],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=5)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("chalice local did not start:\n" + log.read_text()[-2000:])
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def call(url, data=None, content_type="application/json", method=None):
    request = urllib.request.Request(url, data=data, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


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
        (json.dumps({**ROW1, "V1": "0.02"}).encode(), "application/json", 422, "model_error"),
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
