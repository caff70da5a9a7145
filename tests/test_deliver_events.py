"""`python -m devtools.deliver_events`: says what it delivers from, stops on SIGTERM, and fails in one line when the
stage's queue is not there. Against a local AWS of its own, so that the dev stage's names are this test's alone."""

import os
import signal
import subprocess
import sys
import time

import pytest

from devtools.chalice_stage import function_settings, stage_environment
from devtools.local_aws import LocalAws
from devtools.local_streams import StreamNames, create_stage_streams


@pytest.fixture
def private_aws(s3, tmp_path):
    server = LocalAws(log_path=tmp_path / "moto.log", region=s3.region, access_key=s3.access_key,
                      secret_key=s3.secret_key)
    server.start()
    yield server
    server.stop()


def deliver_events(project_dir, aws, output):
    env = {**os.environ, **aws.client_environment()}
    with open(output, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "devtools.deliver_events", "--stage", "dev"], cwd=project_dir,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def test_without_the_queue_it_says_so_in_one_line(project_dir, private_aws, tmp_path):
    output = tmp_path / "out"
    process = deliver_events(project_dir, private_aws, output)
    assert process.wait(timeout=120) == 1
    lines = output.read_text().splitlines()
    assert lines == [f"deliver_events: score_queue: there is no queue pfa-serving-dev-records at "
                     f"{private_aws.endpoint_url}"]


def test_it_names_what_it_delivers_from_and_stops_on_sigterm(project_dir, private_aws, tmp_path):
    create_stage_streams(private_aws, StreamNames.from_environment(stage_environment("dev")), visibility_timeout=10)
    output = tmp_path / "out"
    process = deliver_events(project_dir, private_aws, output)
    try:
        deadline = time.monotonic() + 120
        while output.read_text().count("deliver_events: delivering to") < 2:
            assert process.poll() is None and time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, output.read_text()
    text = output.read_text()
    # The functions' own timeouts in .chalice/config.json, as deployed.
    queue_timeout = function_settings("dev", "score_queue").timeout_seconds
    stream_timeout = function_settings("dev", "score_stream").timeout_seconds
    assert (f"score_queue from SQS queue {private_aws.endpoint_url}/123456789012/pfa-serving-dev-records (batch size "
            f"10, window 0 s, reporting batch item failures, function timeout {queue_timeout} s, visibility timeout "
            f"10 s)") in text
    assert ("score_stream from Kinesis stream pfa-serving-dev-records from TRIM_HORIZON (batch size 100, window 0 s, "
            f"reporting batch item failures, function timeout {stream_timeout} s)") in text
