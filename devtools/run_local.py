"""`make run`: serve the example Sonar model at http://127.0.0.1:8000 against a local S3, and score from a local
SQS queue and Kinesis stream.

Contract: starts the dev S3 of devtools/dev_s3.py (data in the project's state folder outside the project,
the dev stage's bucket, the Sonar model at MODEL_KEY unless the same content is already there, and
<project>/.local/s3.json for pfactl while it runs), runs `chalice local --stage dev --no-autoreload` pointed at
it, prints a curl line that scores Sonar row 1, and waits. It also starts a local SQS/Kinesis (moto, on
127.0.0.1; its log is <state folder>/run/aws.log), creates the dev stage's records queue (with its dead-letter
queue), results queue and records stream there (devtools/local_streams.py), names them in
<project>/.local/streams.json while it runs, and runs devtools/deliver_events.py, which calls the app's
`score_queue` and `score_stream` as Lambda's event source mappings would; it then prints two lines that send
Sonar row 1 to the queue and read its result (with the AWS CLI if it is on the PATH, else with this Python).
For jobs it creates the dev stage's jobs bucket in the local S3 (CORS for the page on http://127.0.0.1:<port> and
http://localhost:<port>), and its jobs table and chunk queue (with its dead-letter queue) in the local AWS
(devtools/local_jobs.py), names them in <project>/.local/jobs.json while it runs, and deliver_events also calls
`score_chunk` from the chunk queue and `start_job` for each upload of a job's input (devtools/s3_notifications.py
stands in for the bucket's notification); it prints where to open the page that scores a file as a job. The
names (JOBS_BUCKET, ...) are the stage's, which chalice local and deliver_events read from .chalice/config.json;
the local endpoints (AWS_ENDPOINT_URL_S3, ..._SQS, ..._KINESIS, ..._DYNAMODB) and credentials are in both
processes' environment.
chalice's and the delivery's output go to the terminal and to <state folder>/run/service.log (its path is
printed). Ctrl-C or SIGTERM stops everything it started. Exit code 1 with a one-line message if the port is
taken or something fails to start.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from botocore.exceptions import ClientError

from devtools.chalice_stage import function_settings, stage_environment
from devtools.dev_s3 import DevS3, dev_s3, raise_on_stop_signals
from devtools.dev_s3 import dev_model_location as dev_model_location  # tests and tools import it from here
from devtools.dev_s3 import publish_local_s3 as publish_local_s3
from devtools.dev_s3 import withdraw_local_s3 as withdraw_local_s3
from devtools.local_aws import LocalAws, LocalAwsError
from devtools.local_jobs import (
    LOCAL_JOBS_FILE,
    JobsNames,
    LocalJobsError,
    StageJobs,
    create_stage_jobs,
    local_origins,
    publish_local_jobs,
    withdraw_local_jobs,
)
from devtools.local_s3 import CONFLICTING_CLIENT_ENV, HOST, LocalS3Error, port_is_free
from devtools.local_state import state_dir
from devtools.local_streams import (
    LOCAL_STREAMS_FILE,
    LocalStreamsError,
    StageStreams,
    StreamNames,
    create_stage_streams,
    publish_local_streams,
    withdraw_local_streams,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
SONAR_CSV = Path("tests") / "data" / "sonar.csv"


class _Stop(Exception):
    """Raised by the signal handler so that cleanup runs in the `finally` blocks."""


def sonar_row(project_dir: Path = PROJECT_DIR, row: int = 1) -> dict[str, float]:
    """Sonar data row `row` (1-based) as {"V1": ..., "V60": ...}, without the Class column."""
    with open(project_dir / SONAR_CSV, newline="") as handle:
        for number, record in enumerate(csv.DictReader(handle), start=1):
            if number == row:
                return {name: float(value) for name, value in record.items() if name != "Class"}
    raise ValueError(f"{SONAR_CSV} has fewer than {row} rows")


def chalice_command(port: int) -> list[str]:
    """`chalice local` from this venv; chalice 1.34 has no `python -m chalice` entry point."""
    script = Path(sys.executable).parent / "chalice"
    return [str(script), "local", "--stage", "dev", "--host", HOST, "--port", str(port), "--no-autoreload"]


def wait_until_serving(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Return once anything answers HTTP on the port; raise if chalice exits or times out."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"chalice local exited with code {process.returncode} (see its output above)")
        try:
            opener.open(f"http://{HOST}:{port}/health", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP status means the server is up
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"chalice local did not answer on port {port} within {timeout}s")
        time.sleep(0.2)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM the process group, SIGKILL it if still alive after `grace` seconds, and reap it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def curl_line(port: int, record: dict[str, float]) -> str:
    """A copy-pasteable curl command that POSTs `record` to /predict."""
    body = json.dumps(record, separators=(",", ":"))
    # -w '\n': the answer is one JSON line without a newline, which would run into the shell's prompt.
    return (f"curl -sS -w '\\n' http://{HOST}:{port}/predict -H 'Content-Type: application/json' "
            f"-d {shlex.quote(body)}")


def default_log_path(project_dir: Path = PROJECT_DIR) -> Path:
    """Where `make run` writes the service's log: <state folder>/run/service.log, outside the project."""
    return state_dir(project_dir) / "run" / "service.log"


class LogTee:
    """Copies a process's output, line by line, to a log file and to this process's stdout, from a thread."""

    def __init__(self, source: IO[bytes], log: IO[bytes]) -> None:
        self._source = source
        self._log = log
        self._thread = threading.Thread(target=self._copy, name="log-tee", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        for line in iter(self._source.readline, b""):
            self._log.write(line)
            self._log.flush()
            sys.stdout.buffer.write(line)
            sys.stdout.flush()

    def join(self, timeout: float = 5) -> None:
        """Wait until the process's output has ended (it has exited) and everything is written."""
        self._thread.join(timeout)


def deliver_events_command(stage: str = "dev", notify_since: datetime | None = None,
                           extra: Sequence[str] = ()) -> list[str]:
    """The process that delivers the stage's queues, stream and bucket notifications to the app's handlers
    (devtools/deliver_events.py); uploads from `notify_since` on (when the bucket was set up) are notified.
    `extra` are more of its arguments (the handlers to deliver to, `--timings FILE`)."""
    since = ["--notify-since", notify_since.isoformat()] if notify_since is not None else []
    return [sys.executable, "-m", "devtools.deliver_events", "--stage", stage, *since, *extra]


def sqs_lines(streams: StageStreams, record: dict[str, float], aws_cli: bool | None = None) -> tuple[str, str]:
    """Two copy-pasteable commands: send `record` to the records queue (with the AWS CLI when it is on the PATH,
    or `aws_cli`, else this Python), and print one result from the results queue and delete it (waiting up to
    20 s for it; with this Python, since the CLI needs a second command to delete what it received)."""
    body = json.dumps(record, separators=(",", ":"))
    client = (f'boto3.client("sqs", endpoint_url="{streams.endpoint_url}", region_name="{streams.region}", '
              f'aws_access_key_id="local", aws_secret_access_key="local")')
    python = shlex.quote(sys.executable)
    read = (f'import boto3; sqs = {client}; m = sqs.receive_message(QueueUrl="{streams.results_queue.url}", '
            f'WaitTimeSeconds=20).get("Messages"); print(m[0]["Body"] if m else "no result yet"); '
            f'm and sqs.delete_message(QueueUrl="{streams.results_queue.url}", '
            f'ReceiptHandle=m[0]["ReceiptHandle"])')
    if aws_cli if aws_cli is not None else shutil.which("aws") is not None:
        # Any credentials do for the local server, but the CLI wants some; the region names the queue's.
        aws = (f"AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION={streams.region} "
               f"aws --endpoint-url {streams.endpoint_url} sqs")
        send = f"{aws} send-message --queue-url {streams.records_queue.url} --message-body {shlex.quote(body)}"
        return send, f"{python} -c {shlex.quote(read)}"
    send = f'import boto3, sys; {client}.send_message(QueueUrl="{streams.records_queue.url}", MessageBody=sys.argv[1])'
    return f"{python} -c {shlex.quote(send)} {shlex.quote(body)}", f"{python} -c {shlex.quote(read)}"


@dataclass(frozen=True)
class LocalRun:
    """What `make run` started: `chalice local`, the dev S3, and (with streams) the queues, stream, jobs resources
    and delivery; `environment` is what chalice and the delivery were started with (the local endpoints and
    credentials), for more processes against the same servers."""

    chalice: subprocess.Popen[bytes]
    s3: DevS3
    streams: StageStreams | None = None
    delivery: subprocess.Popen[bytes] | None = None
    jobs: StageJobs | None = None
    environment: Mapping[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def local_run(port: int, s3_port: int | None = None, *, data_dir: Path | None = None, publish: bool = True,
              output: IO[bytes] | None = None, log_path: Path | None = None, streams: bool = True,
              aws_log_path: Path | None = None, delivery_args: Sequence[str] = ()) -> Iterator[LocalRun]:
    """Start what `make run` serves and yield it once `chalice local` answers on `port`.

    S3 data lives in `data_dir` (default: the dev S3's, outside the project); `publish` writes .local/s3.json
    for pfactl (and, with `streams`, .local/streams.json and .local/jobs.json). chalice's output, and the
    delivery's, go to `output`, or to `log_path` and this process's stdout, or by default to this process's stdout
    and stderr. `streams` also starts the local SQS/Kinesis/DynamoDB (its log at `aws_log_path`, default aws.log
    beside `log_path`, else in the state folder), the dev stage's queues and stream, its jobs bucket, table and
    chunk queue, and the delivery process (`delivery_args`: more of its arguments, e.g. the handlers to deliver
    to). On exit everything started here is stopped.
    """
    if not port_is_free(port):
        raise RuntimeError(f"port {port} on {HOST} is already in use; stop whatever uses it or pass --port")
    with dev_s3(s3_port, data_dir=data_dir, publish=publish, project_dir=PROJECT_DIR) as s3, \
            contextlib.ExitStack() as cleanup:
        print(f"local S3 at {s3.server.endpoint_url}, data in {s3.server.data_dir}"
              + (" (pfactl in this folder uses it)" if publish else "") + f"\n{s3.model_note}", flush=True)
        env = {name: value for name, value in os.environ.items() if name not in CONFLICTING_CLIENT_ENV}
        env.update(s3.server.client_environment())
        for name in ("MODEL_REFRESH_SECONDS", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"):
            env.setdefault(name, s3.client_environment()[name])
        stdout: IO[bytes] | int | None = output
        log: IO[bytes] | None = None
        if log_path is not None and output is None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = cleanup.enter_context(open(log_path, "ab"))
            stdout = subprocess.PIPE
            env["PYTHONUNBUFFERED"] = "1"  # each log line reaches the file and the terminal when written
        stage_streams = stage_jobs = notify_since = None
        if streams:
            aws = _start_aws(s3, cleanup, aws_log_path or (log_path or default_log_path()).with_name("aws.log"), env)
            stage_streams = _create_streams(aws, cleanup, publish)
            notify_since = datetime.now(UTC)
            stage_jobs = _create_jobs(s3, aws, cleanup, publish, port)
        processes: list[tuple[subprocess.Popen[bytes], LogTee | None]] = []
        try:
            # The bucket's notification is set once its resources exist: an upload made before deliver_events
            # watches (the page may be opened as soon as chalice answers) is notified all the same.
            delivery_command = deliver_events_command(notify_since=notify_since, extra=delivery_args)
            for command in [chalice_command(port)] + ([delivery_command] if streams else []):
                process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL,
                                           stdout=stdout, stderr=subprocess.STDOUT if stdout is not None else None,
                                           start_new_session=True)
                processes.append((process, LogTee(process.stdout, log) if process.stdout and log else None))
            chalice = processes[0][0]
            delivery = processes[1][0] if streams else None
            wait_until_serving(chalice, port, timeout=60)
            if delivery is not None and delivery.poll() is not None:
                raise RuntimeError(f"deliver_events exited with code {delivery.returncode} (see its output above)")
            yield LocalRun(chalice=chalice, s3=s3, streams=stage_streams, delivery=delivery, jobs=stage_jobs,
                           environment=dict(env))
        finally:
            for process, _ in processes:
                stop_process_group(process)
            for _, tee in processes:
                if tee is not None:
                    tee.join()


def _start_aws(s3: DevS3, cleanup: contextlib.ExitStack, aws_log: Path, env: dict[str, str]) -> LocalAws:
    """Start the local SQS/Kinesis/DynamoDB and add its endpoints to `env`."""
    aws = LocalAws(log_path=aws_log, region=s3.server.region, access_key=s3.server.access_key,
                   secret_key=s3.server.secret_key)
    aws.start()
    cleanup.callback(aws.stop)
    env.update(aws.client_environment())
    print(f"local SQS, Kinesis and DynamoDB at {aws.endpoint_url} (its log: {aws_log})", flush=True)
    return aws


def local_visibility_timeout(function: str) -> int:
    """The chunk or records queue's visibility timeout for `make run`: the shortest AWS accepts for a mapping, the
    function's timeout (deployed: six times it). See devtools/local_jobs.py."""
    return function_settings("dev", function, PROJECT_DIR).timeout_seconds


def _create_streams(aws: LocalAws, cleanup: contextlib.ExitStack, publish: bool) -> StageStreams:
    """Create the dev stage's queues and stream, and name them in .local/streams.json."""
    resources = create_stage_streams(aws, StreamNames.from_environment(stage_environment("dev", PROJECT_DIR)),
                                     visibility_timeout=local_visibility_timeout("score_queue"))
    if publish:
        path = PROJECT_DIR / LOCAL_STREAMS_FILE
        publish_local_streams(resources, path)
        cleanup.callback(withdraw_local_streams, path)
    print(f"queues {resources.records_queue.name} (dead letters to {resources.dead_letter_queue.name}) and "
          f"{resources.results_queue.name}, stream {resources.stream.name}"
          + (f", named in {LOCAL_STREAMS_FILE}" if publish else ""), flush=True)
    return resources


def _create_jobs(s3: DevS3, aws: LocalAws, cleanup: contextlib.ExitStack, publish: bool, port: int) -> StageJobs:
    """Create the dev stage's jobs bucket (CORS for the page on `port`), table and chunk queue, and name them in
    .local/jobs.json."""
    names = JobsNames.from_environment(stage_environment("dev", PROJECT_DIR))
    resources = create_stage_jobs(s3.server, aws, names, origins=local_origins(port),
                                  visibility_timeout=local_visibility_timeout("score_chunk"))
    if publish:
        path = PROJECT_DIR / LOCAL_JOBS_FILE
        publish_local_jobs(resources, path)
        cleanup.callback(withdraw_local_jobs, path)
    print(f"jobs: bucket {resources.bucket.name} (CORS for {' and '.join(resources.bucket.cors_origins)}), table "
          f"{resources.table.name}, queue {resources.queue.name} (visibility timeout {resources.visibility_timeout} s, "
          f"dead letters to {resources.dead_letter_queue.name})"
          + (f", named in {LOCAL_JOBS_FILE}" if publish else ""), flush=True)
    return resources


@contextlib.contextmanager
def local_service(port: int, s3_port: int | None = None, *, data_dir: Path | None = None, publish: bool = True,
                  output: IO[bytes] | None = None, log_path: Path | None = None,
                  streams: bool = False) -> Iterator[subprocess.Popen[bytes]]:
    """Start what `make run` serves (without the queues and stream unless `streams`) and yield the running
    `chalice local` once it answers on `port`; see local_run."""
    with local_run(port, s3_port, data_dir=data_dir, publish=publish, output=output, log_path=log_path,
                   streams=streams) as run:
        yield run.chalice


def _wait_for_exit(run: LocalRun) -> int:
    """Wait until chalice or the delivery exits; say which, and return its exit code (as a shell reports it)."""
    processes = [("chalice local", run.chalice)] + ([("deliver_events", run.delivery)] if run.delivery else [])
    while True:
        for name, process in processes:
            code = process.poll()
            if code is not None:
                print(f"run_local: {name} exited with code {code}", file=sys.stderr)
                return code if code >= 0 else 128 - code
        time.sleep(0.5)


def serve(port: int, s3_port: int | None) -> int:
    """Run everything until chalice or the delivery exits (its exit code) or a stop signal arrives (0)."""
    log_path = default_log_path()
    print(f"the service's log: {log_path}", flush=True)
    with local_run(port, s3_port, log_path=log_path) as run:
        # chalice local has printed "Serving on ..." itself.
        print(f"\nReady (Ctrl-C stops). Try:\n\n{curl_line(port, sonar_row())}\n", flush=True)
        if run.streams is not None:
            send, read = sqs_lines(run.streams, sonar_row())
            print(f"Send the same record to the records queue, then read its result from the results queue:\n\n"
                  f"{send}\n{read}\n", flush=True)
        if run.jobs is not None:
            print(f"To score a file of records as a job, open the page at http://{HOST}:{port}/\n", flush=True)
        return _wait_for_exit(run)


def main(argv: list[str] | None = None) -> int:
    """Parse options, serve, and turn SIGINT/SIGTERM and startup failures into a quiet exit."""
    parser = argparse.ArgumentParser(prog="python -m devtools.run_local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="HTTP port for chalice local (default 8000)")
    parser.add_argument("--s3-port", type=int, default=None, help="S3 port (default: a free one)")
    args = parser.parse_args(argv)

    raise_on_stop_signals(_Stop)
    try:
        return serve(args.port, args.s3_port)
    except _Stop:
        print("stopped", file=sys.stderr)
        return 0
    except (RuntimeError, LocalS3Error, LocalAwsError, LocalStreamsError, LocalJobsError, OSError,
            ClientError) as error:
        print(f"run_local: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
