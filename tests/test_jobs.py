"""Jobs end to end against the local servers: a CSV and a JSON-lines file scored as jobs, row for row equal to
/predict, through the real handlers (the routes through chalice.test.Client; the upload's S3 event and the chunk
queue delivered as Lambda would)."""

from __future__ import annotations

import json
import os
import random
import time

import boto3
import pytest
from chalice.test import Client

import app as app_module
from chalicelib.jobs import layout
from chalicelib.jobs.store import Change
from chalicelib.wiring import build_runtime
from devtools.event_delivery import FunctionInfo, LambdaContext
from tests.jobs_support import (
    START_JOB_FUNCTION,
    create_jobs_resources,
    csv_bytes,
    post_upload,
    read_lines,
    s3_event,
    sonar_rows,
    wait_for,
)

STREAMS_MODEL_KEY = "models/sonar_naive_bayes.pfa"


def _create(client: Client, fmt: str = "csv", **body) -> dict:
    answer = client.http.post("/jobs", body=json.dumps({"format": fmt, **body}),
                              headers={"Content-Type": "application/json", "Host": "127.0.0.1:8000"})
    assert answer.status_code == 201, answer.body
    return json.loads(answer.body)


def _status(client: Client, job_id: str) -> dict:
    answer = client.http.get(f"/jobs/{job_id}")
    assert answer.status_code == 200, answer.body
    return json.loads(answer.body)


def _expected(client: Client, records: list) -> list:
    """What /predict/batch answers for each record: the prediction, or the error body."""
    out = []
    for first in range(0, len(records), 1000):
        batch = records[first:first + 1000]
        answer = json.loads(client.http.post("/predict/batch", body=json.dumps({"records": batch}),
                                             headers={"Content-Type": "application/json"}).body)
        errors = {entry["index"]: entry for entry in answer["errors"]}
        for index, prediction in enumerate(answer["predictions"]):
            if index in errors:
                error = {key: value for key, value in errors[index].items() if key != "index"}
                out.append({"error": error})
            else:
                out.append({"prediction": prediction})
    return out


def _sonar_job_rows(count: int, bad_share: float, seed: int = 7):
    header, rows = sonar_rows()
    rng = random.Random(seed)
    lines, records = [], []
    for number in range(count):
        cells = rows[number % len(rows)][:60]
        if rng.random() < bad_share:
            kind = rng.choice(["text", "short", "empty"])
            if kind == "text":
                cells = list(cells)
                cells[rng.randrange(60)] = "n/a"
                lines.append(cells + ["R"])
                records.append(None)
            elif kind == "short":
                lines.append(cells[:59])
                records.append(None)
            else:
                lines.append("")
                records.append(None)
            continue
        lines.append(cells + ["R"])
        records.append({name: float(value) for name, value in zip(header[:60], cells, strict=True)})
    return header, lines, records


def test_a_csv_job_gives_one_line_per_row_in_order_each_equal_to_predict(jobs, s3_client):
    client = jobs.configure()
    header, lines, records = _sonar_job_rows(10_000, 0.03)
    created = _create(client)
    assert created["state"] == "waiting_for_upload"
    assert created["status_url"] == f"http://127.0.0.1:8000/jobs/{created['id']}"
    assert post_upload(created["upload"], csv_bytes(header, lines)).status_code == 204
    assert jobs.start(created["id"])["outcomes"] == ["running"]
    with jobs.chunks():
        done = wait_for(lambda: (s := _status(client, created["id"]))["state"] in ("succeeded", "failed") and s)
    assert done["state"] == "succeeded", done
    got = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    assert [line["row"] for line in got] == list(range(1, 10_001))
    bad = [index for index, record in enumerate(records) if record is None]
    good = [record for record in records if record is not None]
    expected_good = iter(_expected(client, good))
    for index, line in enumerate(got):
        if index in bad:
            assert "error" in line and line["error"]["code"] in ("invalid_input",), line
        else:
            assert {k: v for k, v in line.items() if k != "row"} == next(expected_good)
    assert done["rows"] == {"total": 10_000, "done": 10_000, "scored": 10_000 - len(bad), "failed": len(bad)}
    assert done["model"]["name"] == "sonar_naive_bayes" and done["model"]["version"]
    assert done["notes"] == ["ignoring CSV column(s) not in the model's input: Class"]
    errors = read_lines(s3_client, jobs.bucket, layout.errors_key(created["id"]))
    assert [line["row"] for line in errors] == [index + 1 for index in bad]


def _run(jobs, client, created: dict, data: bytes, filename: str = "records.csv") -> dict:
    assert post_upload(created["upload"], data, filename).status_code == 204
    jobs.start(created["id"])
    with jobs.chunks():
        return wait_for(lambda: (s := _status(client, created["id"]))["state"] in ("succeeded", "failed") and s)


def test_a_json_lines_job_answers_each_line_as_predict_does(jobs, s3_client):
    client = jobs.configure()
    header, rows = sonar_rows()
    records = [{name: float(value) for name, value in zip(header[:60], row[:60], strict=True)} for row in rows]
    lines = [json.dumps(record) for record in records]
    lines[3] = '{"V1": 0.1'  # not JSON
    lines[10] = json.dumps({**records[10], "V2": "high"})  # not a number
    lines[20] = ""  # empty
    created = _create(client, "jsonl", model="sonar_naive_bayes")
    done = _run(jobs, client, created, ("\n".join(lines) + "\n").encode(), "records.jsonl")
    assert done["state"] == "succeeded" and done["rows"]["total"] == len(rows) == 208
    got = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    assert [line["row"] for line in got] == list(range(1, 209))
    expected = _expected(client, [json.loads(line) if index not in (3, 20) else None
                                  for index, line in enumerate(lines)])
    for index, line in enumerate(got):
        if index in (3, 20):
            assert line["error"]["code"] == "malformed_json", line
        else:
            assert {k: v for k, v in line.items() if k != "row"} == expected[index]
    assert got[10]["error"]["field"] == "V2"
    assert done["rows"]["failed"] == 3


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x1f\x8b\x08\x00rest", "gzip-compressed"),
    (b"a,b,c\n1,2,3\n", "the CSV header does not fit model 'sonar_naive_bayes'"),
    (b"\xff\xfeV1,V2\n", "not UTF-8"),
])
def test_a_file_that_is_not_what_it_claims_fails_the_job_with_its_reason(jobs, data, reason):
    client = jobs.configure()
    created = _create(client)
    done = _run(jobs, client, created, data)
    assert done["state"] == "failed" and reason in done["reason"], done
    assert done["results_url"] is None


def test_a_json_lines_job_whose_rows_are_not_json_fails(jobs):
    client = jobs.configure()
    header, rows = sonar_rows()
    created = _create(client, "jsonl")
    done = _run(jobs, client, created, csv_bytes(header, rows[:30]))
    assert done["state"] == "failed" and "not JSON lines" in done["reason"], done


def test_a_header_only_csv_succeeds_with_no_rows(jobs, s3_client):
    client = jobs.configure()
    header, _ = sonar_rows()
    created = _create(client)
    done = _run(jobs, client, created, csv_bytes(header, []))
    assert done["state"] == "succeeded" and done["rows"]["total"] == 0
    assert read_lines(s3_client, jobs.bucket, layout.results_key(created["id"])) == []


def test_the_upload_cannot_exceed_the_size_bound(jobs):
    client = jobs.configure(JOB_MAX_BYTES="1000")
    created = _create(client)
    assert created["upload"]["max_bytes"] == 1000
    answer = post_upload(created["upload"], b"x" * 1001)
    assert answer.status_code == 400 and "EntityTooLarge" in answer.text
    assert _status(client, created["id"])["state"] == "waiting_for_upload"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({}, 400, "format"),
    ({"format": "xlsx"}, 400, "format"),
    ({"format": "csv", "model": "no_such_model"}, 404, "model"),
    ({"format": "csv", "model": "../x"}, 400, "model"),
    ({"format": "csv", "colour": "red"}, 400, "colour"),
    ([], 400, None),
])
def test_a_bad_job_request_is_answered_with_what_was_expected(jobs, body, status, field):
    client = jobs.configure()
    answer = client.http.post("/jobs", body=json.dumps(body), headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.body
    error = json.loads(answer.body)["error"]
    assert error.get("field") == field
    assert "Traceback" not in error["message"] and "Exception" not in error["message"]


def test_an_unknown_job_is_not_found(jobs):
    client = jobs.configure()
    for job_id in ("0" * 32, "not-a-job", "A" * 32):
        answer = client.http.get(f"/jobs/{job_id}")
        assert answer.status_code == 404
        assert json.loads(answer.body)["error"]["code"] == "job_not_found"


def test_jobs_off_answer_503_naming_the_setting(jobs):
    client = jobs.configure(JOBS_TABLE="")
    answer = client.http.post("/jobs", body='{"format": "csv"}', headers={"Content-Type": "application/json"})
    assert answer.status_code == 503 and "JOBS_TABLE" in json.loads(answer.body)["error"]["message"]


def test_an_upload_that_never_comes_fails_the_job_once_its_link_expires(jobs):
    client = jobs.configure(JOB_UPLOAD_SECONDS="1")
    created = _create(client)
    done = wait_for(lambda: (s := _status(client, created["id"]))["state"] == "failed" and s, timeout=10)
    assert "no file was uploaded" in done["reason"]


class _FailOnce:
    """A boto3 client that fails one call the first time ``when(operation, kwargs)`` holds, then behaves."""

    def __init__(self, client, when) -> None:
        self._client = client
        self._when = when
        self.failed = 0

    def __getattr__(self, operation):
        call = getattr(self._client, operation)
        if not callable(call):
            return call

        def wrapped(*args, **kwargs):
            if not self.failed and self._when(operation, kwargs):
                self.failed += 1
                if operation == "update_item":  # the part is written; the chunk dies before it is counted
                    raise RuntimeError("the invocation died here")
                from botocore.exceptions import EndpointConnectionError
                raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
            return call(*args, **kwargs)
        return wrapped


def _configure_with(jobs, **clients) -> Client:
    app_module.runtime.configure(lambda: build_runtime({**os.environ, **jobs.env}, **clients))
    app_module.runtime.warm()
    return Client(app_module.app, stage_name="dev")


@pytest.mark.parametrize("failure", ["part write", "count"])
def test_a_chunked_job_with_a_chunk_that_fails_once_is_still_exact(jobs, s3_client, failure):
    jobs.configure(JOB_CHUNK_ROWS="400")
    if failure == "part write":
        s3 = _FailOnce(boto3.client("s3"), lambda op, kw: op == "put_object" and "/parts/00002-" in kw.get("Key", ""))
        client = _configure_with(jobs, s3_client=s3)
    else:
        db = _FailOnce(boto3.client("dynamodb"), lambda op, kw: op == "update_item" and "#c3" in json.dumps(kw))
        client = _configure_with(jobs, dynamodb_client=db)
    wrapper = s3 if failure == "part write" else db
    header, lines, records = _sonar_job_rows(3000, 0.03, seed=11)
    created = _create(client)
    done = _run(jobs, client, created, csv_bytes(header, lines))
    assert wrapper.failed == 1
    assert done["state"] == "succeeded", done
    assert done["chunks"] == {"total": 8, "done": 8}
    got = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    assert [line["row"] for line in got] == list(range(1, 3001))
    expected = iter(_expected(client, [record for record in records if record is not None]))
    for line, record in zip(got, records, strict=True):
        if record is None:
            assert line["error"]["code"] == "invalid_input"
        else:
            assert {k: v for k, v in line.items() if k != "row"} == next(expected)
    bad = sum(record is None for record in records)
    assert done["rows"] == {"total": 3000, "done": 3000, "scored": 3000 - bad, "failed": bad}


def test_the_same_upload_event_twice_scores_once(jobs, s3_client, aws):
    client = jobs.configure(JOB_CHUNK_ROWS="50")
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows)).status_code == 204
    event = s3_event(s3_client, jobs.bucket, layout.input_key(created["id"]))
    context = LambdaContext(START_JOB_FUNCTION)
    assert app_module.start_job(event, context)["outcomes"] == ["running"]
    assert app_module.start_job(event, context)["outcomes"] == ["already running"]
    sqs = aws.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=jobs.env["JOBS_QUEUE"],
                                          AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "5"  # 208 rows in chunks of 50: sent once
    with jobs.chunks():
        done = wait_for(lambda: (s := _status(client, created["id"]))["state"] in ("succeeded", "failed") and s)
    assert done["state"] == "succeeded" and done["rows"]["done"] == 208
    assert app_module.start_job(event, context)["outcomes"] == ["already succeeded"]
    got = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    assert [line["row"] for line in got] == list(range(1, 209))


def test_a_chunk_message_delivered_twice_is_counted_once(jobs, s3_client, aws):
    client = jobs.configure(JOB_CHUNK_ROWS="100")
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows)).status_code == 204
    jobs.start(created["id"])
    sqs = aws.client("sqs")
    messages = []
    while len(messages) < 3:
        messages += sqs.receive_message(QueueUrl=jobs.env["JOBS_QUEUE"], MaxNumberOfMessages=10,
                                        VisibilityTimeout=60).get("Messages", [])
    first = sorted(messages, key=lambda message: json.loads(message["Body"])["chunk"])
    runtime = app_module.runtime.get()
    assert runtime.jobs is not None
    outcomes = [runtime.jobs.on_chunk(json.loads(message["Body"]), 1, lambda: 300_000.0)
                for message in first + first]
    assert outcomes == ["scored", "scored", "succeeded", "job closed", "job closed", "job closed"]
    done = _status(client, created["id"])
    assert done["rows"] == {"total": 208, "done": 208, "scored": 208, "failed": 0}
    assert len(read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))) == 208


def test_a_chunk_that_keeps_failing_fails_the_job_with_its_reason(jobs, aws):
    client = jobs.configure(JOB_CHUNK_ROWS="100", JOB_CHUNK_ATTEMPTS="2")
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows)).status_code == 204
    jobs.start(created["id"])
    runtime = app_module.runtime.get()
    assert runtime.jobs is not None
    message = {"job": created["id"], "chunk": 0, "first_row": 1, "rows": 100, "start": 0, "end": 10}
    assert runtime.jobs.on_chunk(message, 3, lambda: 300_000.0) == "failed"
    done = _status(client, created["id"])
    assert done["state"] == "failed" and "rows 1 to 100 could not be scored after 2 attempts" in done["reason"]


def test_a_chunk_that_failed_comes_back_soon_not_after_the_queues_visibility_timeout(jobs, s3_client):
    jobs.configure()
    slow_queue = create_jobs_resources(s3_client, jobs.bucket, visibility_timeout=600)
    jobs.env = {**jobs.env, **slow_queue}
    s3 = _FailOnce(boto3.client("s3"), lambda op, kw: op == "put_object" and "/parts/" in kw.get("Key", ""))
    client = _configure_with(jobs, s3_client=s3)
    header, rows = sonar_rows()
    created = _create(client)
    done = _run(jobs, client, created, csv_bytes(header, rows))  # wait_for gives up after 120 s
    assert s3.failed == 1 and done["state"] == "succeeded" and done["rows"]["done"] == 208


def test_a_job_is_scored_wholly_by_the_version_it_started_with(jobs, s3_client, streams_bucket):
    client = jobs.configure(JOB_CHUNK_ROWS="100", MODEL_REFRESH_SECONDS="0.1")
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows)).status_code == 204
    jobs.start(created["id"])
    started = _status(client, created["id"])
    first_version = started["model"]["version"]
    runtime = app_module.runtime.get()
    expected = _expected(client, [{name: float(value) for name, value in zip(header[:60], row[:60], strict=True)}
                                  for row in rows])
    replacement = {"name": "sonar_naive_bayes", "input": {"type": "map", "values": ["null", "string", "double"]},
                   "output": "string", "action": [{"string": "replaced"}]}
    s3_client.put_object(Bucket=streams_bucket, Key=STREAMS_MODEL_KEY, Body=json.dumps(replacement).encode())
    wait_for(lambda: runtime.service.model("sonar_naive_bayes").version != first_version, timeout=30)
    with jobs.chunks():
        done = wait_for(lambda: (s := _status(client, created["id"]))["state"] in ("succeeded", "failed") and s)
    assert done["state"] == "succeeded", done
    assert done["model"]["version"] == first_version
    got = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    assert [{k: v for k, v in line.items() if k != "row"} for line in got] == expected


def test_a_file_that_cannot_be_read_through_in_time_fails_the_job_instead_of_dying(jobs, s3_client):
    client = jobs.configure()
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows)).status_code == 204
    short = FunctionInfo(name="pfa-serving-dev-start_job", timeout_seconds=20, memory_mb=512, region="us-east-1")
    event = s3_event(s3_client, jobs.bucket, layout.input_key(created["id"]))
    assert app_module.start_job(event, LambdaContext(short))["outcomes"] == ["failed"]
    done = _status(client, created["id"])
    assert done["state"] == "failed" and "too large to read through in one invocation" in done["reason"]


def test_an_expired_job_is_not_found_even_before_its_item_is_deleted(jobs):
    client = jobs.configure()
    created = _create(client)
    runtime = app_module.runtime.get()
    assert runtime.jobs is not None
    runtime.jobs._store.update(created["id"], Change(set={"expires_at": 1}))
    answer = client.http.get(f"/jobs/{created['id']}")
    assert answer.status_code == 404 and json.loads(answer.body)["error"]["code"] == "job_not_found"


def test_a_start_that_fails_for_a_moment_is_started_by_lambdas_retry_of_the_event(jobs, s3_client):
    jobs.configure()
    sqs = _FailOnce(boto3.client("sqs"), lambda op, kw: op == "send_message_batch")
    client = _configure_with(jobs, sqs_client=sqs)
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows)).status_code == 204
    event = s3_event(s3_client, jobs.bucket, layout.input_key(created["id"]))
    with pytest.raises(Exception, match="cannot send the job's chunks"):
        app_module.start_job(event, LambdaContext(START_JOB_FUNCTION))
    assert sqs.failed == 1
    # The failed planner gave its lease back: Lambda's retry, a minute later, starts the job.
    assert app_module.start_job(event, LambdaContext(START_JOB_FUNCTION))["outcomes"] == ["running"]
    with jobs.chunks():
        done = wait_for(lambda: (s := _status(client, created["id"]))["state"] in ("succeeded", "failed") and s)
    assert done["state"] == "succeeded" and done["rows"]["done"] == 208


def test_an_upload_that_arrived_before_its_link_expired_is_not_failed_while_its_event_is_on_the_way(jobs):
    client = jobs.configure(JOB_UPLOAD_SECONDS="1")
    header, rows = sonar_rows()
    created = _create(client)
    assert post_upload(created["upload"], csv_bytes(header, rows[:5])).status_code == 204
    time.sleep(2.2)
    assert _status(client, created["id"])["state"] == "waiting_for_upload"
    jobs.start(created["id"])
    assert _status(client, created["id"])["state"] == "running"


@pytest.mark.parametrize(("line", "message"), [
    ("NaN", "not a number that the field's type can hold"),
    ("1e999", "not a number that the field's type can hold"),
])
def test_csv_cells_that_are_no_number_are_told_in_csv_terms(jobs, s3_client, line, message):
    client = jobs.configure()
    header, rows = sonar_rows()
    bad = list(rows[0])
    bad[4] = line
    created = _create(client)
    done = _run(jobs, client, created, csv_bytes(header + ["Class", ""], [row + ["R", ""] for row in [bad, rows[1]]]))
    assert done["state"] == "succeeded", done
    got = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    assert got[0]["error"]["field"] == "V5" and message in got[0]["error"]["message"], got[0]
    assert "quotes" not in got[0]["error"]["message"]
    assert done["notes"] == ["ignoring CSV column(s) not in the model's input: Class",
                             "ignoring 1 CSV column(s) with no name"]


def test_old_mac_line_endings_fail_the_job_saying_so(jobs):
    client = jobs.configure()
    header, rows = sonar_rows()
    created = _create(client)
    done = _run(jobs, client, created, csv_bytes(header, rows[:3]).replace(b"\n", b"\r"))
    assert done["state"] == "failed" and "\\r" in done["reason"] and "universal-newline" not in done["reason"], done


def test_a_json_lines_file_may_start_with_a_byte_order_mark(jobs, s3_client):
    client = jobs.configure()
    header, rows = sonar_rows()
    lines = [json.dumps({name: float(value) for name, value in zip(header[:60], row[:60], strict=True)})
             for row in rows[:3]]
    created = _create(client, "jsonl")
    done = _run(jobs, client, created, b"\xef\xbb\xbf" + "\n".join(lines).encode())
    assert done["state"] == "succeeded" and done["rows"]["failed"] == 0, done
