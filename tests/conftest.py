"""Shared pytest fixtures. Test data lives in tests/data; nothing here reads outside the repo."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.client import BaseClient

PROJECT_DIR = Path(__file__).resolve().parent.parent
# `pytest` run as a script (not `python -m pytest`) would not see app.py, chalicelib or devtools.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from chalice.test import Client  # noqa: E402

import app as app_module  # noqa: E402
from chalicelib.jobs import layout  # noqa: E402
from chalicelib.wiring import build_runtime  # noqa: E402
from devtools.event_delivery import LambdaContext, delivery_for  # noqa: E402
from devtools.local_aws import LocalAws  # noqa: E402
from devtools.local_jobs import JobsNames, StageJobs, create_stage_jobs, local_origins  # noqa: E402
from devtools.local_s3 import CONFLICTING_CLIENT_ENV, LocalS3, create_bucket  # noqa: E402
from devtools.run_local import dev_model_location  # noqa: E402
from tests.jobs_support import (  # noqa: E402
    SCORE_CHUNK_FUNCTION,
    START_JOB_FUNCTION,
    create_jobs_resources,
    s3_event,
)

# ---------------------------------------------------------------------------------------------
# Local S3: a real SeaweedFS server on 127.0.0.1 for the whole session (devtools/local_s3.py).
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def project_dir() -> Path:
    """The repository root."""
    return PROJECT_DIR


# autouse: no test may reach real AWS, even one that builds a boto3 client without asking for S3.
@pytest.fixture(scope="session", autouse=True)
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalS3]:
    """The running LocalS3; its client environment is in os.environ for the whole session.

    Tests may kill() and restart() it (same ports and data), but must leave it running.
    """
    server = LocalS3(tmp_path_factory.mktemp("s3"))
    server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in CONFLICTING_CLIENT_ENV:
                patch.delenv(name, raising=False)
            for name, value in server.client_environment().items():
                patch.setenv(name, value)
            yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_client(s3: LocalS3) -> BaseClient:
    """A boto3 S3 client for the local server, built from the session environment."""
    return boto3.client("s3")


@pytest.fixture(scope="session")
def model_bucket(s3_client: BaseClient, project_dir: Path) -> str:
    """The dev stage's MODEL_BUCKET (versioned), holding models/sonar_naive_bayes.pfa at MODEL_KEY."""
    bucket, key = dev_model_location(project_dir)
    create_bucket(s3_client, bucket, versioned=True)
    s3_client.upload_file(str(project_dir / "models" / "sonar_naive_bayes.pfa"), bucket, key)
    return bucket


@pytest.fixture
def scratch_bucket(s3_client: BaseClient) -> str:
    """A new, empty, versioned bucket with a unique name, for this test only."""
    name = f"scratch-{uuid.uuid4().hex[:16]}"
    create_bucket(s3_client, name, versioned=True)
    return name


@pytest.fixture(scope="session")
def aws(s3: LocalS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAws]:
    """A real local SQS/Kinesis/DynamoDB (moto server) for the session; its endpoints are in os.environ.

    Tests create their own queues and streams with unique names. A test may kill() and restart() it, but
    must leave it running (restart() comes back empty).
    """
    server = LocalAws(log_path=tmp_path_factory.mktemp("aws") / "moto.log", region=s3.region,
                      access_key=s3.access_key, secret_key=s3.secret_key)
    server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in server.client_environment().items():
                patch.setenv(name, value)
            yield server
    finally:
        server.stop()


# ----- end of local S3 fixtures; chalice Client fixtures go below -----------------------------


@pytest.fixture(scope="session")
def client(model_bucket: str) -> Iterator[Client]:
    """Chalice's test client for the dev stage, serving the Sonar model from the local S3.

    The app starts as a fresh container would: its runtime is built on the first call.
    """
    app_module.runtime.configure(lambda: build_runtime(os.environ))
    with Client(app_module.app, stage_name="dev") as test_client:
        yield test_client


# ----- the queue and stream handlers: a bucket of models, a results queue, a container pointed at both ---------

STREAMS_MODEL_KEY = "models/sonar_naive_bayes.pfa"
BROKEN_DOCUMENT = b'{"input": "double", "output": "double", "action": [{"no.such.function": ["input"]}]}'


@pytest.fixture
def streams_bucket(s3_client, scratch_bucket):
    s3_client.upload_file(str(PROJECT_DIR / "models" / "sonar_naive_bayes.pfa"), scratch_bucket, STREAMS_MODEL_KEY)
    s3_client.upload_file(str(PROJECT_DIR / "models" / "iris_decision_tree.pfa"), scratch_bucket, "models/iris.pfa")
    s3_client.put_object(Bucket=scratch_bucket, Key="models/broken.pfa", Body=BROKEN_DOCUMENT)
    return scratch_bucket


@pytest.fixture
def results(aws):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"results-{uuid.uuid4().hex[:12]}")["QueueUrl"]

    def drain() -> list[dict]:
        got = []
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return got
            got.extend(json.loads(message["Body"]) for message in messages)
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])

    drain.url = url  # type: ignore[attr-defined]
    return drain


@pytest.fixture
def serve_streams(streams_bucket, results):
    """A fresh container for the dev stage, reading the scratch bucket and sending to the test's results queue."""

    def configure(warm: bool = True, **overrides: str) -> Client:
        """``warm``: load the default model now, as Lambda's init phase does (app.py), not within the first
        invocation's time (which chalice.test.Client makes 3 s)."""
        settings = {"MODEL_BUCKET": streams_bucket, "MODEL_KEY": STREAMS_MODEL_KEY, "RESULTS_QUEUE": results.url,
                    "BATCH_ITEM_FAILURES": "reported",
                    "LOAD_RETRY_MIN_SECONDS": "0.2", "LOAD_RETRY_MAX_SECONDS": "0.4", **overrides}
        app_module.runtime.configure(lambda: build_runtime({**os.environ, **settings}))
        if warm:
            app_module.runtime.warm()
        return Client(app_module.app, stage_name="dev")

    yield configure
    app_module.runtime.configure(lambda: build_runtime(os.environ))


# ----- jobs: a jobs bucket, table and chunk queue of the test's own (devtools/local_jobs.py) ----------------------

JOBS_PAGE_PORT = 8000


@pytest.fixture
def jobs_resources(s3: LocalS3, aws: LocalAws) -> StageJobs:
    """The stage's jobs resources, as `make run` creates them but with unique names, for this test only: the bucket
    (CORS for a page on http://127.0.0.1:8000 or http://localhost:8000), the table, the chunk queue (visibility
    timeout 2 s: a failed chunk is back within seconds) and its dead-letter queue. `environment()` gives the app's
    JOBS_BUCKET, JOBS_TABLE and JOBS_QUEUE for them (e.g. as serve_streams overrides)."""
    tag = uuid.uuid4().hex[:12]
    names = JobsNames(bucket=f"jobs-{tag}", table=f"jobs-{tag}", queue=f"chunks-{tag}")
    return create_stage_jobs(s3, aws, names, origins=local_origins(JOBS_PAGE_PORT), visibility_timeout=2)


@pytest.fixture
def jobs(aws, s3_client, streams_bucket, scratch_bucket):
    """A container for the dev stage with jobs on: models and job files in the scratch bucket, a jobs table and
    chunk queue of the test's own. ``configure(**overrides)`` builds (and warms) the container and returns its
    test client; ``start(job_id)`` delivers the upload's S3 event to start_job; ``with chunks():`` delivers the
    chunk queue to score_chunk meanwhile."""
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
            return app_module.start_job(event, LambdaContext(START_JOB_FUNCTION))

        def chunks(self):
            return delivery_for(app_module.app, app_module.score_chunk, aws.client, source=self.env["JOBS_QUEUE"],
                                function=SCORE_CHUNK_FUNCTION, poll_wait_seconds=1)

    yield Jobs()
    app_module.runtime.configure(lambda: build_runtime(os.environ))
