"""`make run`'s queues and stream, end to end in a copy of the project: the record the printed line sends to the
records queue is scored by the app's `score_queue` through the local event delivery, the printed read line shows
its result, and Ctrl-C stops the local AWS and the delivery and withdraws `.local/streams.json`."""

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
from chalice_local import copy_project, free_port, fresh_user_env
from test_http_local import make_run, stop, wait_for_line

from devtools.local_streams import QueueInfo, StageStreams, StreamInfo
from devtools.run_local import sonar_row, sqs_lines


def streams_from_file(path: Path) -> StageStreams:
    data = json.loads(path.read_text())
    return StageStreams(endpoint_url=data["endpoint_url"], region=data["region"],
                        records_queue=QueueInfo(**data["records_queue"]),
                        results_queue=QueueInfo(**data["results_queue"]),
                        dead_letter_queue=QueueInfo(**data["dead_letter_queue"]),
                        stream=StreamInfo(shard_ids=(), **data["stream"]), visibility_timeout=0)


def run_line(line: str, env) -> str:
    result = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def answers_http(url: str) -> bool:
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@pytest.fixture
def project_copy(tmp_path):
    return copy_project(tmp_path / "project")


def test_make_run_scores_what_is_sent_to_the_records_queue_and_stops_it_all(project_copy, tmp_path):
    env = fresh_user_env(tmp_path / "state")
    output = tmp_path / "run.out"
    process = make_run(project_copy, env, free_port(), output)
    try:
        send = wait_for_line(output, process, r"sqs send-message|\.send_message\(")
        lines = output.read_text().splitlines()
        read = lines[lines.index(send) + 1]
        streams_file = project_copy / ".local" / "streams.json"
        streams = streams_from_file(streams_file)
        results = []
        for send_line, read_line in [(send, read), sqs_lines(streams, sonar_row(), aws_cli=False)]:
            run_line(send_line, env)
            results.append(json.loads(run_line(read_line, env)))
    finally:
        stop(process)
    text = output.read_text()
    for result in results:
        assert result["prediction"] == "R" and result["index"] == 0 and result["id"] is None
        assert result["source"]["type"] == "sqs" and result["source"]["queue"] == "pfa-serving-dev-records"
        assert result["model"]["name"] == "sonar_naive_bayes"
    assert re.search(r"deliver_events: delivering to score_queue from SQS queue \S+/pfa-serving-dev-records "
                     r"\(batch size 10, window 0 s, reporting batch item failures", text), text[-3000:]
    assert "delivering to score_stream from Kinesis stream pfa-serving-dev-records from TRIM_HORIZON" in text
    log = Path(re.search(r"^the service's log: (.+)$", text, re.M)[1])
    assert "deliver_events: delivering to score_queue" in log.read_text()
    assert log.with_name("aws.log").exists()
    # Everything stopped: the files are withdrawn, the local AWS answers no more.
    assert not streams_file.exists() and not (project_copy / ".local" / "s3.json").exists()
    assert not answers_http(streams.endpoint_url + "/moto-api/")
