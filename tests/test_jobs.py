"""Jobs end to end against the local servers: a CSV and a JSON-lines file scored as jobs, row for row equal to
/predict, through the real handlers (the routes through chalice.test.Client; the upload's S3 event and the chunk
queue delivered as Lambda would)."""

from __future__ import annotations

import json
import os
import random

import pytest
from chalice.test import Client

import app as app_module
from chalicelib.jobs import layout
from chalicelib.wiring import build_runtime
from devtools.event_delivery import FunctionInfo, LambdaContext, delivery_for
from tests.jobs_support import create_jobs_resources, csv_bytes, post_upload, read_lines, s3_event, sonar_rows, wait_for

STREAMS_MODEL_KEY = "models/sonar_naive_bayes.pfa"
FUNCTION = FunctionInfo(name="pfa-serving-dev-score_chunk", timeout_seconds=300, memory_mb=512, region="us-east-1")
START = FunctionInfo(name="pfa-serving-dev-start_job", timeout_seconds=300, memory_mb=512, region="us-east-1")


@pytest.fixture
def jobs(aws, s3_client, streams_bucket, scratch_bucket):
    """A container for the dev stage with jobs on: models and job files in the scratch bucket."""
    settings = {"MODEL_BUCKET": streams_bucket, "MODEL_KEY": STREAMS_MODEL_KEY,
                "LOAD_RETRY_MIN_SECONDS": "0.2", "LOAD_RETRY_MAX_SECONDS": "0.4",
                **create_jobs_resources(s3_client, scratch_bucket)}

    class Jobs:
        bucket = scratch_bucket
        env = settings

        def configure(self, **overrides: str) -> Client:
            self.env = {**settings, **overrides}
            app_module.runtime.configure(lambda: build_runtime({**os.environ, **self.env}))
            app_module.runtime.warm()
            return Client(app_module.app, stage_name="dev")

        def start(self, job_id: str) -> dict:
            event = s3_event(s3_client, scratch_bucket, layout.input_key(job_id))
            return app_module.start_job(event, LambdaContext(START))

        def chunks(self):
            return delivery_for(app_module.app, app_module.score_chunk, aws.client, source=self.env["JOBS_QUEUE"],
                                function=FUNCTION, poll_wait_seconds=1)

    yield Jobs()
    app_module.runtime.configure(lambda: build_runtime(os.environ))


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
