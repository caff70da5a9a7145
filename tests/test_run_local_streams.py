"""`make run`'s queues, stream and jobs, end to end in a copy of the project: the record the printed line sends to the
records queue is scored by the app's `score_queue` through the local event delivery, the printed read line shows
its result; a file uploaded as the page does (from its origin, through the presigned POST) is scored as a job by
`start_job` and `score_chunk`; and Ctrl-C stops the local AWS and the delivery and withdraws `.local/streams.json`
and `.local/jobs.json`."""

import json
import re
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from browser_requests import form_post, get, preflight
from chalice_local import call, copy_project, free_port, fresh_user_env
from test_http_local import make_run, stop, wait_for_line

from devtools.chalice_stage import function_settings, stage_environment
from devtools.local_jobs import JobsNames
from devtools.local_streams import QueueInfo, StageStreams, StreamInfo
from devtools.run_local import deliver_events_command, sonar_row, sqs_lines

SONAR_CSV = Path(__file__).parent / "data" / "sonar.csv"


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


def process_environment(cwd: Path, *command: str) -> dict[str, str]:
    """The environment a running process was started with, found by its folder and the words of its command line
    (Linux)."""
    for proc in Path("/proc").iterdir():
        try:
            words = (proc / "cmdline").read_bytes().decode().split("\0")
            if all(word in words for word in command) and (proc / "cwd").resolve() == cwd.resolve():
                return dict(item.split("=", 1) for item in (proc / "environ").read_bytes().decode().split("\0")
                            if "=" in item)
        except OSError:
            continue
    raise AssertionError(f"no process runs {' '.join(command)}")


def score_a_file_as_the_page_does(page: str) -> list[dict]:
    """POST /jobs, upload Sonar's CSV through the presigned POST from the page's origin, wait for the job, and
    read its results through the link, from the same origin."""
    status, _, job = call(page + "/jobs", json.dumps({"format": "csv"}).encode())
    assert status == 201, job
    upload = job["upload"]
    status, headers, body = form_post(upload["url"], upload["fields"], SONAR_CSV.read_bytes(),
                                      file_field=upload["file_field"], origin=page)
    assert status == 204, body
    assert headers["access-control-allow-origin"] == page
    status_url, deadline = job["status_url"], time.monotonic() + 120
    while job["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.5)
        status, _, job = call(status_url, content_type=None)
        assert status == 200, job
    assert job["state"] == "succeeded", job
    status, headers, body = get(job["results_url"], origin=page)
    assert status == 200 and headers["access-control-allow-origin"] == page
    return [json.loads(line) for line in body.decode().splitlines()]


@pytest.fixture
def project_copy(tmp_path):
    return copy_project(tmp_path / "project")


def test_the_delivery_notifies_uploads_from_when_the_jobs_bucket_was_set_up():
    since = datetime(2026, 12, 1, 10, 15, 30, 250000, tzinfo=UTC)
    assert deliver_events_command(notify_since=since)[-4:] == [
        "--stage", "dev", "--notify-since", "2026-12-01T10:15:30.250000+00:00"]
    assert "--notify-since" not in deliver_events_command()


def test_make_run_scores_what_is_sent_to_the_records_queue_and_stops_it_all(project_copy, tmp_path):
    env = fresh_user_env(tmp_path / "state")
    output = tmp_path / "run.out"
    port = free_port()
    page = f"http://127.0.0.1:{port}"
    process = make_run(project_copy, env, port, output)
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
        assert wait_for_line(output, process, r"open the page at ") == (
            f"To score a file of records as a job, open the page at {page}/")
        jobs_file = project_copy / ".local" / "jobs.json"
        jobs = json.loads(jobs_file.read_text())
        chalice_env = process_environment(project_copy, "local", "--port", str(port))
        delivery_env = process_environment(project_copy, "-m", "devtools.deliver_events")
        job_lines = score_a_file_as_the_page_does(page)
        status, headers, _ = preflight(f"{jobs['s3_endpoint_url']}/{jobs['bucket']['name']}/jobs/x/input",
                                       f"http://localhost:{port}", "GET", headers="range")
        assert status == 200 and headers["access-control-allow-origin"] == f"http://localhost:{port}"
        sqs = boto3.client("sqs", endpoint_url=jobs["endpoint_url"], region_name=jobs["region"],
                           aws_access_key_id="local", aws_secret_access_key="local")
        chunk_queue = sqs.get_queue_attributes(QueueUrl=jobs["queue"]["url"], AttributeNames=["All"])["Attributes"]
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
    # Jobs: the stage's resources, named in jobs.json; both processes reach the local DynamoDB; a file is scored.
    names = JobsNames.from_environment(stage_environment("dev"))
    assert (jobs["bucket"]["name"], jobs["table"]["name"], jobs["queue"]["name"], jobs["dead_letter_queue"]["name"]) \
        == (names.bucket, names.table, names.queue, names.dead_letter_queue)
    assert jobs["bucket"]["cors_origins"] == [page, f"http://localhost:{port}"]
    chunk_timeout = function_settings("dev", "score_chunk").timeout_seconds
    assert jobs["queue"]["visibility_timeout"] == int(chunk_queue["VisibilityTimeout"]) == chunk_timeout
    assert json.loads(chunk_queue["RedrivePolicy"])["deadLetterTargetArn"] == jobs["dead_letter_queue"]["arn"]
    for environment in (chalice_env, delivery_env):
        assert environment["AWS_ENDPOINT_URL_DYNAMODB"] == environment["AWS_ENDPOINT_URL_SQS"] == jobs["endpoint_url"]
        assert environment["AWS_ENDPOINT_URL_S3"] == jobs["s3_endpoint_url"]
    with open(SONAR_CSV) as handle:
        rows = sum(1 for _ in handle) - 1
    assert [line["row"] for line in job_lines] == list(range(1, rows + 1))
    assert all("prediction" in line for line in job_lines), [line for line in job_lines if "prediction" not in line]
    assert re.search(r"deliver_events: delivering to score_chunk from SQS queue \S+/pfa-serving-dev-chunks "
                     r"\(batch size 1, window 0 s, not reporting batch item failures", text), text[-3000:]
    assert "delivering to start_job from the notifications of S3 bucket pfa-jobs-dev" in text
    assert re.search(r"start_job: ObjectCreated:Post s3://pfa-jobs-dev/jobs/[0-9a-f]{32}/input", text), text[-3000:]
    # Everything stopped: the files are withdrawn, the local AWS answers no more.
    assert not streams_file.exists() and not (project_copy / ".local" / "s3.json").exists()
    assert not jobs_file.exists()
    assert not answers_http(streams.endpoint_url + "/moto-api/")
