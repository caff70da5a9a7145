"""End to end over real HTTP: `chalice local` serving the dev stage, a real local S3 behind it; `make run`, and
`make s3` with `chalice local` started by hand as the README says, in a copy of the project."""

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from chalice_local import PROJECT, call, chalice_local, copy_project, free_port, fresh_user_env
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


def wait_for_line(output: Path, process: subprocess.Popen, pattern: str, timeout: float = 60) -> str:
    """The first line of ``output`` matching ``pattern``, once the running ``process`` has written it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in output.read_text().splitlines() if re.search(pattern, line)]
        if found:
            return found[0]
        assert process.poll() is None and time.monotonic() < deadline, output.read_text()[-3000:]
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)


@pytest.fixture
def project_copy(tmp_path):
    return copy_project(tmp_path / "project")


def make_run(project: Path, env, port: int, output: Path) -> subprocess.Popen:
    """`make run PORT=<port>`, as the Makefile runs it, with its terminal output going to ``output``."""
    with open(output, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "devtools.run_local", "--port", str(port)], cwd=project,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_make_passes_the_chosen_ports_to_the_local_run():
    # As a user types it, not as a sub-make of `make test` (which would inherit its flags).
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "--no-print-directory", "-n", "run", "PORT=8001", "S3_PORT=9100"], cwd=PROJECT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("-m devtools.run_local --port 8001 --s3-port 9100")


def test_make_run_says_once_where_it_serves_logs_to_a_file_and_keeps_one_copy_of_the_default_model(
        project_copy, tmp_path):
    env = fresh_user_env(tmp_path / "state")
    port = free_port()
    outputs = []
    for run in ("first", "second"):
        output = tmp_path / f"{run}.out"
        process = make_run(project_copy, env, port, output)
        try:
            curl = wait_for_line(output, process, r"^curl ")
            answer = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
            local = json.loads((project_copy / ".local" / "s3.json").read_text())
            s3 = boto3.session.Session().client("s3", endpoint_url=local["endpoint_url"],
                                                aws_access_key_id=local["access_key_id"],
                                                aws_secret_access_key=local["secret_access_key"],
                                                region_name=local["region"])
            versions = s3.list_object_versions(Bucket=local["bucket"], Prefix="models/sonar_naive_bayes.pfa")
        finally:
            stop(process)
        outputs.append(output.read_text())
        # The printed curl line works as printed, and ends its answer with a newline for the prompt.
        assert answer.returncode == 0 and answer.stdout.endswith("}\n")
        assert json.loads(answer.stdout)["prediction"] == "R"
        assert len(versions["Versions"]) == 1
    first, second = outputs
    assert "uploaded sonar_naive_bayes.pfa to s3://pfa-models-dev/models/sonar_naive_bayes.pfa" in first
    assert "already holds sonar_naive_bayes.pfa" in second and "not uploaded again" in second
    for output in outputs:
        assert output.count("Serving on") == 1 and f"Serving on http://127.0.0.1:{port}" in output
        log = Path(re.search(r"^the service's log: (.+)$", output, re.M)[1])
        assert log.is_relative_to(tmp_path / "state")
    log_lines = log.read_text().splitlines()
    assert sum('"route":"/predict"' in line for line in log_lines) == 2, "one request per run, both in the log"
    # Nothing of the run stays in the project but what a clone has.
    assert not (project_copy / ".local" / "s3.json").exists() and not (project_copy / ".local" / "s3").exists()


def test_chalice_local_by_hand_on_make_s3_keeps_serving_through_an_upload_even_with_autoreload(
        project_copy, tmp_path):
    env = fresh_user_env(tmp_path / "state")
    output = tmp_path / "s3.out"
    with open(output, "w") as out:
        s3 = subprocess.Popen([sys.executable, "-m", "devtools.dev_s3"], cwd=project_copy, env=env, stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        exports = wait_for_line(output, s3, r"^export ")
        assert "--no-autoreload" in wait_for_line(output, s3, r"chalice local")
        by_hand = {**env, **dict(item.split("=", 1) for item in shlex.split(exports)[1:])}
        log = tmp_path / "chalice.log"
        # Autoreload on, as `chalice local` starts by default: the upload below must not restart it.
        with chalice_local(by_hand, log, project=project_copy, autoreload=True, inherit=False) as url:
            assert call(url + "/predict", json.dumps(ROW1).encode())[2]["prediction"] == "R"
            time.sleep(2.5)  # chalice's stat watcher polls every second: let it see the tree as it now is
            restarts = log.read_text().count("Restarting local dev server")
            # No bytecode: a first import would write __pycache__ into the project, which does restart it.
            upload = subprocess.run([sys.executable, "-m", "pfactl", "upload", "models/sonar_naive_bayes.pfa",
                                     "--name", "probe"], cwd=project_copy, env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
                                    capture_output=True, text=True, timeout=120)
            assert upload.returncode == 0, upload.stderr
            status, _, body = call(url + "/models/probe/predict", json.dumps(ROW1).encode())
            assert (status, body["prediction"]) == (200, "R")
            time.sleep(2.5)
            assert log.read_text().count("Restarting local dev server") == restarts, log.read_text()[-2000:]
            # Whereas a file written in the project does restart it: the watcher was looking.
            (project_copy / "touched.txt").write_text("x")
            deadline = time.monotonic() + 30
            while log.read_text().count("Restarting local dev server") == restarts:
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
    finally:
        stop(s3)
    assert not (project_copy / ".local" / "s3.json").exists()
