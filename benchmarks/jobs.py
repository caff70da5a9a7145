"""`make bench-jobs`: a 200,000-row Sonar CSV scored as a job on the local run, end to end over HTTP, with one chunk
worker and with as many as the cores; every output line checked; the measured invocations priced on Lambda beside
`POST /predict/batch` and SageMaker asynchronous inference.

    python -m benchmarks.jobs                        # 200,000 rows, a few minutes: .local/bench/jobs.md and .json
    python -m benchmarks.jobs --rows 20000           # a shorter one
    python -m benchmarks.jobs --workers 1 4          # other worker counts (default: 1 and os.cpu_count())
    python -m benchmarks.jobs --chunk-rows 5000      # JOB_CHUNK_ROWS for the run (default 10,000)
    python -m benchmarks.jobs --chunk-seconds 60     # JOB_CHUNK_SECONDS for the run (default 600, the most)
    python -m benchmarks.jobs --out DIR              # write the input, jobs.md and jobs.json into DIR

The input is tests/data/sonar.csv's header and its 208 rows repeated, the `Class` column kept (the job leaves it out
and says so in its notes), written under the output folder. `JOB_CHUNK_SECONDS` is set to its most, 600, so that
every run cuts the same chunks of JOB_CHUNK_ROWS: the planner sizes a chunk by the slowest of its 50 sampled rows,
and one row slowed down by a pause (8 ms instead of 0.3 in a trial run) would otherwise cut smaller chunks for that
run alone.

It starts what `make run` starts (devtools/run_local.py: the dev S3 with the Sonar model, in a scratch folder;
`chalice local`; moto's SQS, Kinesis and DynamoDB with the dev stage's queues, jobs table and chunk queue;
devtools/deliver_events.py delivering the jobs bucket's uploads to `start_job` through the S3 notification
stand-in), and, for each worker count, that many more deliver_events processes delivering only the chunk queue to
`score_chunk` (processes, not threads: scoring is CPU-bound Python). Every delivery process records each
invocation's wall-clock and CPU time and the AWS requests its handler sent (`--timings`,
devtools/invocation_timings.py).

Before the clock: `POST /predict/batch` answers each of the 208 distinct rows, and a sample of rows read back from
the generated file (all of them up to SAMPLE_ROWS); one small job (the 208 rows) warms `start_job` and the jobs
routes, with a chunk worker of its own. Then, per worker count, with fresh chunk workers (each loads the model on
its first chunk, as a new Lambda container would): `POST /jobs`, the upload as the presigned POST, `GET /jobs/{id}`
until it has succeeded, the results read through their link and checked line by line. A job that is not exact
(a line missing, out of order, or not `/predict/batch`'s answer for its row) fails the benchmark (exit code 1).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.client
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

# `python benchmarks/jobs.py` (not -m) would not see chalicelib, devtools or the benchmarks package.
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

import boto3  # noqa: E402

from benchmarks import cost, prices  # noqa: E402
from benchmarks.environment import environment  # noqa: E402
from benchmarks.examples import DATA_DIR  # noqa: E402
from benchmarks.results_paths import LATEST_DIR, REFERENCE_DIR, RESULTS_JSON, shown  # noqa: E402
from chalicelib.jobs.settings import JOB_CHUNK_ROWS, JOB_CHUNK_SECONDS, JobSettings  # noqa: E402
from devtools.chalice_stage import function_settings, stage_environment  # noqa: E402
from devtools.local_aws import free_port  # noqa: E402
from devtools.local_s3 import HOST  # noqa: E402
from devtools.run_local import deliver_events_command, local_run, stop_process_group  # noqa: E402

JOBS_JSON, JOBS_MD = "jobs.json", "jobs.md"
SONAR_CSV = DATA_DIR / "sonar.csv"
ROWS = 200_000
CHUNK_ROWS = 10_000
CHUNK_SECONDS = 600  # JOB_CHUNK_SECONDS's most: the sampled row cost then never cuts chunks below CHUNK_ROWS
SAMPLE_ROWS = 2_000  # rows of the generated file sent to /predict/batch as they are, beside the 208 distinct ones
SAMPLE_SEED = 20261202
FIRST_POLL_S = 0.05  # GET /jobs/{id} this often until the job shows queued or running
POLL_S = 0.25  # then this often until it ends
UPLOAD_BLOCK = 1024 * 1024
WORKER_READY_S = 120.0
START_FUNCTION, CHUNK_FUNCTION = "start_job", "score_chunk"
# Lambda's SQS poller, per chunk delivered (batch size 1): one ReceiveMessage that returns it, one delete.
POLLER_REQUESTS_PER_MESSAGE = 2
# What a caller sends to the API per job at the least: POST /jobs, and one GET /jobs/{id} that finds it succeeded.
API_CALLS = (("POST", "/jobs"), ("GET", "/jobs/{job_id}"))
S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}
S3_PUT_CLASS = {"PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy",
                "CompleteMultipartUpload", "ListObjects", "ListObjectsV2", "ListParts", "ListMultipartUploads",
                "PostObject"}
GIB = 1024 ** 3
DAYS_PER_MONTH = Decimal(prices.HOURS_PER_MONTH) / 24


def _progress(message: str) -> None:
    print(f"[jobs] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------
# The input and the answers it must get
# ----------------------------------------------------------------------------------------------------------


def source_rows(path: Path = SONAR_CSV) -> Tuple[str, List[str]]:
    """The CSV's header line and its data lines, as written (each ending in a newline)."""
    lines = [line if line.endswith("\n") else line + "\n" for line in path.read_text().splitlines(keepends=True)
             if line.strip()]
    return lines[0], lines[1:]


def write_input(path: Path, rows: int, source: Path = SONAR_CSV) -> Dict[str, Any]:
    """``rows`` data rows (the source's in turn, Class kept) under its header; what was written."""
    header, lines = source_rows(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        out.write(header)
        for index in range(rows):
            out.write(lines[index % len(lines)])
    return {"path": shown(path), "rows": rows, "bytes": path.stat().st_size, "distinct_rows": len(lines)}


def records_of(path: Path, wanted: Sequence[int]) -> Dict[int, Dict[str, float]]:
    """The records at the given row numbers (1-based, after the header) as read back from the file, without Class."""
    wanted_set, found = set(wanted), {}
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            if number in wanted_set:
                found[number] = {name: float(value) for name, value in row.items() if name != "Class"}
    return found


class Service:
    """The local `chalice local` over HTTP (no proxy), and S3's presigned links."""

    def __init__(self, port: int) -> None:
        self.base = f"http://{HOST}:{port}"
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None) -> Tuple[int, Any]:
        url = path if path.startswith("http") else self.base + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data is not None else {})
        try:
            with self._opener.open(request, timeout=120) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def lines(self, url: str) -> Iterator[bytes]:
        with self._opener.open(url, timeout=300) as response:
            yield from response


def batch_answers(service: Service, records: Sequence[Mapping[str, float]], batch: int) -> Dict[str, Any]:
    """``POST /predict/batch`` of the records, ``batch`` at a time: each one's prediction and the model."""
    predictions: List[Any] = []
    model = None
    sizes = []
    for first in range(0, len(records), batch):
        sent = list(records[first:first + batch])
        status, body = service.call("POST", "/predict/batch", {"records": sent})
        if status != 200 or body.get("errors"):
            raise RuntimeError(f"POST /predict/batch answered {status}: {json.dumps(body)[:300]}")
        predictions += body["predictions"]
        model = body["model"]
        sizes.append(len(sent))
    return {"predictions": predictions, "model": model, "calls": sizes}


# ----------------------------------------------------------------------------------------------------------
# One job, as a caller runs it
# ----------------------------------------------------------------------------------------------------------


def upload(form: Mapping[str, Any], path: Path) -> Tuple[int, bytes]:
    """The presigned POST of ``path``: every field, then the file, streamed (never whole in memory)."""
    url = urllib.parse.urlsplit(form["url"])
    boundary = f"pfa-bench-{uuid.uuid4().hex}"
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
                    for name, value in form["fields"].items())
    head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{form["file_field"]}"; '
             f'filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection(url.hostname or HOST, url.port, timeout=600)
    try:
        connection.putrequest("POST", url.path + (f"?{url.query}" if url.query else ""))
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
        connection.endheaders()
        connection.send(head)
        with path.open("rb") as handle:
            while block := handle.read(UPLOAD_BLOCK):
                connection.send(block)
        connection.send(tail)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def epoch(iso_time: Optional[str]) -> Optional[float]:
    return None if not iso_time else datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()


def run_job(service: Service, path: Path, timeout_s: float) -> Dict[str, Any]:
    """Create a job, upload ``path``, and poll it until it ends; when each step was done (epoch seconds)."""
    posted = time.time()
    status, job = service.call("POST", "/jobs", {"format": "csv"})
    created = time.time()
    if status != 201:
        raise RuntimeError(f"POST /jobs answered {status}: {json.dumps(job)[:300]}")
    upload_status, upload_body = upload(job["upload"], path)
    uploaded = time.time()
    if upload_status not in (200, 201, 204):
        raise RuntimeError(f"the upload answered {upload_status}: {upload_body[:300]!r}")
    first_status: Optional[Tuple[float, str]] = None
    polls, state = 0, job
    while True:
        status, state = service.call("GET", job["status_url"])
        seen = time.time()
        polls += 1
        if status != 200:
            raise RuntimeError(f"GET /jobs/{job['id']} answered {status}: {json.dumps(state)[:300]}")
        if first_status is None and state["state"] != "waiting_for_upload":
            first_status = (seen, state["state"])
        if state["state"] in ("succeeded", "failed"):
            break
        if seen - posted > timeout_s:
            raise RuntimeError(f"job {job['id']} still {state['state']} after {timeout_s:.0f} s")
        time.sleep(FIRST_POLL_S if first_status is None else POLL_S)
    assert first_status is not None
    return {"id": job["id"], "posted": posted, "created": created, "uploaded": uploaded,
            "first_status": first_status[0], "first_state": first_status[1], "ended_seen": seen, "polls": polls,
            "upload_status": upload_status, "status": state}


def timing(job: Mapping[str, Any], rows: int, input_bytes: int) -> Dict[str, Any]:
    """A job's durations in seconds: the caller's clock and the job's own timestamps (the same machine's clock)."""
    status = job["status"]
    queued, started, finished = (epoch(status[name]) for name in ("queued_at", "started_at", "finished_at"))
    assert queued is not None and started is not None and finished is not None
    upload_s = job["uploaded"] - job["created"]
    end_to_end = finished - job["posted"]
    scoring = finished - started
    return {"post_s": job["created"] - job["posted"], "upload_s": upload_s,
            "upload_mb_per_s": input_bytes / 1e6 / upload_s if upload_s > 0 else None,
            "first_status_s": job["first_status"] - job["created"],
            "first_status_after_upload_s": job["first_status"] - job["uploaded"], "first_state": job["first_state"],
            "notified_after_upload_s": queued - job["uploaded"], "planning_s": started - queued,
            "scoring_s": scoring, "end_to_end_s": end_to_end, "seen_succeeded_s": job["ended_seen"] - job["posted"],
            "rows_per_s": rows / end_to_end, "scoring_rows_per_s": rows / scoring if scoring > 0 else None,
            "polls": job["polls"]}


def check_output(service: Service, status: Mapping[str, Any], rows: int, distinct: Sequence[Any],
                 sample: Mapping[int, Any], model: Mapping[str, Any]) -> Dict[str, Any]:
    """Every results line against its row: once each, in order, each /predict/batch's answer for the row (the
    distinct rows' answers, row r being source row (r - 1) mod 208), and the sample's own answers again."""
    lines = out_of_order = mismatches = errors = sample_checked = 0
    results_bytes = 0
    examples: List[str] = []
    if status["state"] == "succeeded":
        for raw in service.lines(status["results_url"]):
            results_bytes += len(raw)
            line = json.loads(raw)
            lines += 1
            row = line.get("row")
            if row != lines:
                out_of_order += 1
            if "prediction" not in line:
                errors += 1
                continue
            expected = distinct[(row - 1) % len(distinct)] if isinstance(row, int) and row >= 1 else None
            wrong = line["prediction"] != expected
            if row in sample:
                sample_checked += 1
                wrong = wrong or line["prediction"] != sample[row]
            if wrong:
                mismatches += 1
                if len(examples) < 5:
                    examples.append(f"row {row}: {line['prediction']!r}, expected {expected!r}")
    errors_bytes = sum(len(raw) for raw in service.lines(status["errors_url"])) if status.get("errors_url") else None
    notes = status.get("notes") or []
    counts = status.get("rows") or {}
    exact = (status["state"] == "succeeded" and lines == rows and not out_of_order and not mismatches
             and not errors and sample_checked == len(sample) and errors_bytes == 0
             and counts.get("total") == rows and counts.get("scored") == rows and not counts.get("failed")
             and status["model"] == model and any("Class" in note for note in notes))
    return {"state": status["state"], "reason": status.get("reason"), "lines": lines, "expected_lines": rows,
            "out_of_order": out_of_order, "mismatches": mismatches, "error_lines": errors,
            "sample_checked": sample_checked, "sample_size": len(sample), "examples": examples,
            "results_bytes": results_bytes, "errors_bytes": errors_bytes, "notes": notes,
            "model": status["model"], "expected_model": dict(model), "exact": exact}


# ----------------------------------------------------------------------------------------------------------
# The chunk workers and what their logs say
# ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def chunk_workers(env: Mapping[str, str], count: int, folder: Path, label: str) -> Iterator[List[Dict[str, Path]]]:
    """``count`` deliver_events processes delivering only the chunk queue to score_chunk, each with its own log and
    timings file; yields once each says it delivers, stops them (SIGTERM: an invocation under way ends first)."""
    folder.mkdir(parents=True, exist_ok=True)
    workers: List[Tuple[subprocess.Popen[bytes], Dict[str, Path]]] = []
    try:
        for number in range(count):
            files = {"log": folder / f"{label}-worker-{number}.log",
                     "timings": folder / f"{label}-worker-{number}.jsonl"}
            with open(files["log"], "wb") as log:
                process = subprocess.Popen(deliver_events_command(extra=[CHUNK_FUNCTION, "--timings",
                                                                         str(files["timings"])]),
                                           cwd=_PROJECT_ROOT, env={**env, "PYTHONUNBUFFERED": "1"},
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            workers.append((process, files))
        deadline = time.monotonic() + WORKER_READY_S
        for process, files in workers:
            while f"delivering to {CHUNK_FUNCTION}" not in files["log"].read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    output = files["log"].read_text(errors="replace")[-800:]
                    raise RuntimeError(f"a chunk worker did not start: {output}")
                time.sleep(0.1)
        yield [files for _, files in workers]
    finally:
        for process, _ in workers:
            stop_process_group(process)


def log_events(text: str, names: Sequence[str]) -> List[Dict[str, Any]]:
    """The app's JSON log lines of the given events, in order."""
    found = []
    for line in text.splitlines():
        if not line.startswith("{") or not any(f'"{name}"' in line for name in names):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") in names:
            found.append(entry)
    return found


def read_timings(path: Path) -> List[Dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _median(values: Sequence[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def invocations(job_id: str, starts: Sequence[Mapping[str, Any]], upload_lines: Sequence[Mapping[str, Any]],
                chunks: Sequence[Mapping[str, Any]], chunk_lines: Sequence[Mapping[str, Any]],
                chunk_failures: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
    """The job's invocations: start_job's (matched by request id to its job_upload line) and every score_chunk
    invocation of its workers, with their durations and the handler's own log lines."""
    start_ids = {line.get("request_id") for line in upload_lines if job_id in str(line.get("key"))}
    start = [entry for entry in starts if entry["request_id"] in start_ids]
    mine = [line for line in chunk_lines if line.get("job") == job_id]
    outcomes: Dict[str, int] = {}
    for line in mine:
        outcomes[str(line.get("outcome"))] = outcomes.get(str(line.get("outcome")), 0) + 1
    walls = [entry["wall_ms"] for entry in chunks]
    cpus = [cpu_ms(entry) for entry in chunks]
    warm = [cpu_ms(entry) for entry in chunks if not entry["first"]]
    return {"start_job": start, "score_chunk": list(chunks), "chunk_invocations": len(chunks),
            "chunk_cold": sum(entry["first"] for entry in chunks),
            "chunk_raised": sum(entry["raised"] is not None for entry in chunks),
            "chunk_failed_lines": len(chunk_failures), "outcomes": outcomes,
            "chunk_wall_ms_median": _median(walls), "chunk_wall_ms_max": max(walls, default=None),
            "chunk_cpu_ms_median": _median(cpus), "chunk_cpu_ms_warm_median": _median(warm),
            "chunk_cpu_ms_total": sum(cpus), "chunk_wall_ms_total": sum(walls),
            "handler_duration_ms_median": _median([float(line["duration_ms"]) for line in mine]),
            "start_wall_ms": sum(entry["wall_ms"] for entry in start),
            "start_cpu_ms": sum(cpu_ms(entry) for entry in start)}


def cpu_ms(entry: Mapping[str, Any]) -> float:
    """An invocation's CPU time: the whole worker process's while it ran (the model's load runs off the request)."""
    return float(entry.get("process_cpu_ms", entry["cpu_ms"]))


def requests_of(entry: Mapping[str, Any]) -> Dict[str, int]:
    """The AWS requests the app sent during an invocation, from the handler's thread and the others."""
    counted: Dict[str, int] = {}
    for calls in (entry.get("calls") or {}, entry.get("other_calls") or {}):
        for name, count in calls.items():
            counted[name] = counted.get(name, 0) + int(count)
    return counted


def item_bytes(item: Mapping[str, Any]) -> int:
    """A DynamoDB item's size as DynamoDB counts it for capacity units (attribute names plus values), from its
    typed JSON; numbers are about half a byte a significant digit plus one."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: Mapping[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(name.encode()) + _value_bytes(member) + 1 for name, member in inner.items())
    if kind == "L":
        return 3 + sum(_value_bytes(member) + 1 for member in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(_value_bytes({kind[0]: member}) for member in inner)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


# ----------------------------------------------------------------------------------------------------------
# Prices
# ----------------------------------------------------------------------------------------------------------


def lambda_invocation(entry: Mapping[str, Any], memory_mb: int) -> Tuple[float, int, Decimal]:
    """One invocation as Lambda would bill it at ``memory_mb``: its CPU time at the memory's CPU share (cost.py's
    projection) plus the rest of its wall-clock time (waiting on S3, DynamoDB, SQS: not projected)."""
    cpu, wall = cpu_ms(entry), float(entry["wall_ms"])
    duration = cost.projected_ms(cpu, memory_mb) + max(0.0, wall - cpu)
    billed = cost.billed_ms(duration)
    return duration, billed, cost.duration_cost(billed, memory_mb)


def request_charges(requests: Mapping[str, int], deliveries: int, item_size: int) -> Dict[str, Any]:
    """The SQS, DynamoDB and S3 charges of the AWS requests an app's invocations sent, counted by
    ``"<service>.<Operation>"``, plus Lambda's poller's receive and delete for each of ``deliveries`` chunk
    messages; DynamoDB's units at ``item_size`` bytes for every read and write (an upper bound: the item grows)."""
    sqs = sum(count for name, count in requests.items() if name.startswith("sqs.")) \
        + POLLER_REQUESTS_PER_MESSAGE * deliveries
    write_units = math.ceil(item_size / prices.DYNAMODB_WRITE_UNIT_BYTES)
    read_units = math.ceil(item_size / prices.DYNAMODB_READ_UNIT_BYTES)
    writes = sum(count for name, count in requests.items() if name in ("dynamodb.UpdateItem", "dynamodb.PutItem"))
    reads = requests.get("dynamodb.GetItem", 0)
    s3_put = sum(count for name, count in requests.items() if name.startswith("s3.") and name[3:] in S3_PUT_CLASS)
    s3_get = sum(count for name, count in requests.items()
                 if name.startswith("s3.") and name[3:] not in S3_PUT_CLASS | S3_FREE)
    return {"sqs_requests": sqs, "dynamodb_writes": writes, "dynamodb_reads": reads, "write_units_each": write_units,
            "read_units_each": read_units, "s3_put_class": s3_put, "s3_get_class": s3_get,
            "sqs": prices.SQS_STANDARD_PER_REQUEST * sqs,
            "dynamodb": prices.DYNAMODB_PER_WRITE_REQUEST_UNIT * writes * write_units
            + prices.DYNAMODB_PER_READ_REQUEST_UNIT * reads * read_units,
            "s3_requests": prices.S3_PUT_CLASS_PER_REQUEST * s3_put + prices.S3_GET_CLASS_PER_REQUEST * s3_get}


def total_requests(entries: Sequence[Mapping[str, Any]]) -> Dict[str, int]:
    requests: Dict[str, int] = {}
    for entry in entries:
        for name, count in requests_of(entry).items():
            requests[name] = requests.get(name, 0) + count
    return dict(sorted(requests.items()))


def price_job(calls: Mapping[str, Any], memory_mb: int, rows: int, item_size: int, input_bytes: int,
              results_bytes: int, errors_bytes: int, api_ms: Mapping[str, Optional[float]],
              retention_days: int) -> Dict[str, Any]:
    """What one job costs on AWS from its measured invocations and their AWS requests, per job and per million
    rows, in US dollars; every price from benchmarks/prices.py."""
    entries = list(calls["start_job"]) + list(calls["score_chunk"])
    billed = [lambda_invocation(entry, memory_mb) for entry in entries]
    api_billed = [cost.billed_ms(cost.projected_ms(ms or 1.0, memory_mb)) for ms in api_ms.values()]
    requests = total_requests(entries)
    # The caller's part: the API's PutItem (create) and one GetItem (GET /jobs/{id}); the upload and the download.
    caller = {"dynamodb.PutItem": 1, "dynamodb.GetItem": 1, "s3.PostObject": 1, "s3.GetObject": 1}
    charges = request_charges({name: requests.get(name, 0) + caller.get(name, 0) for name in {*requests, *caller}},
                              len(calls["score_chunk"]), item_size)
    parts = {
        "lambda_duration": sum((charge for _, _, charge in billed), Decimal(0))
        + sum((cost.duration_cost(ms, memory_mb) for ms in api_billed), Decimal(0)),
        "lambda_requests": prices.LAMBDA_PER_REQUEST * (len(entries) + len(api_billed)),
        "api_gateway": prices.API_GATEWAY_REST_PER_REQUEST * len(api_billed),
        "sqs": charges["sqs"], "dynamodb": charges["dynamodb"], "s3_requests": charges["s3_requests"],
    }
    total = sum(parts.values(), Decimal(0))
    stored_gb = Decimal(input_bytes + results_bytes + errors_bytes) / GIB
    storage = stored_gb * prices.S3_STANDARD_PER_GB_MONTH * retention_days / DAYS_PER_MONTH
    scale = Decimal(prices.MILLION) / rows
    return {"memory_mb": memory_mb, "invocations": len(entries), "api_calls": len(api_billed),
            "billed_ms": sum(ms for _, ms, _ in billed), "duration_ms": sum(ms for ms, _, _ in billed),
            "requests": requests, "caller_requests": caller,
            **{name: value for name, value in charges.items() if name not in parts}, "item_bytes": item_size,
            "stored_gb": stored_gb, "retention_days": retention_days,
            "per_job": {**parts, "total": total, "storage": storage},
            "per_million": {**{name: value * scale for name, value in parts.items()}, "total": total * scale,
                            "storage": storage * scale}}


def chunk_economics(calls: Mapping[str, Any], memory_mb: int, item_size: int) -> Dict[str, Any]:
    """What a chunk costs whatever its rows (its requests and Lambda's request charge, from the median warm chunk
    but the last, which also joins the parts), and what a cold start adds to a chunk's billed duration."""
    chunks = list(calls["score_chunk"])
    plain = [entry for entry in chunks if not entry["first"] and len(requests_of(entry)) and
             "s3.DeleteObjects" not in requests_of(entry)]
    fixed = None
    if plain:
        charges = [request_charges(requests_of(entry), 1, item_size) for entry in plain]
        totals = sorted(charge["sqs"] + charge["dynamodb"] + charge["s3_requests"] for charge in charges)
        fixed = totals[len(totals) // 2] + prices.LAMBDA_PER_REQUEST
    billed = {first: sorted(lambda_invocation(entry, memory_mb)[1] for entry in chunks if entry["first"] == first)
              for first in (True, False)}
    cold_extra = None
    if billed[True] and billed[False]:
        cold_extra = statistics.median(billed[True]) - statistics.median(billed[False])
    return {"fixed_per_chunk": fixed, "cold_extra_billed_ms": cold_extra,
            "cold_extra_per_chunk": cost.duration_cost(max(0, int(cold_extra)), memory_mb) if cold_extra else None}


def predict_batch_prices(memory_mb: int, sizes: Sequence[int], path: Path = REFERENCE_DIR / RESULTS_JSON) \
        -> Dict[str, Any]:
    """``POST /predict/batch`` per million records from a bench run's results (the reference run's by default):
    cost.py's arithmetic (the whole handler's CPU time at the memory's CPU share, Lambda and API Gateway requests),
    on the engine the service runs."""
    results = json.loads(path.read_text())
    engine = cost.served_engine(results, results["batch"]["model"], cost.engine_setting())
    measured = {row["size"]: row for row in results[cost.BATCH_BLOCKS[engine]]["sizes"]}
    rows = [_batch_row(size, float(measured[size]["request_cpu_ms"]), memory_mb) for size in sizes if size in measured]
    env = results.get("environment", {})
    return {"results": shown(path), "measured": env.get("date_utc"), "commit": env.get("git_commit"),
            "engine": engine, "rows": rows}


def _batch_row(size: int, ms: float, memory_mb: int) -> Dict[str, Any]:
    priced = cost.per_million(cost.projected_ms(ms, memory_mb), size, memory_mb)
    return {"batch": size, "measured_ms": ms, "billed_ms": priced.billed_ms, "lambda_duration": priced.lambda_duration,
            "lambda_requests": priced.lambda_requests, "api_gateway": priced.api_gateway, "total": priced.total}


def predict_batch_here(service_log: str, sizes: Sequence[int], batch: int, memory_mb: int) -> Optional[Dict[str, Any]]:
    """``POST /predict/batch`` of ``batch`` records as this run's calls took it (the API's own logged latency: the
    whole request in the app, parse to encode, one thread on an idle machine, so about its CPU time), priced the
    same way; None when no call had that many records. ``sizes``: the records of each call, in the order sent."""
    lines = [line for line in log_events(service_log, ["request"])
             if line.get("method") == "POST" and line.get("route") == "/predict/batch"]
    if len(lines) != len(sizes):
        return None
    latencies = [float(line["latency_ms"]) for line, size in zip(lines, sizes, strict=True) if size == batch]
    if not latencies:
        return None
    return {**_batch_row(batch, statistics.median(latencies), memory_mb), "calls": len(latencies)}


def sagemaker_prices(rows_per_s: float) -> List[Dict[str, Any]]:
    """SageMaker asynchronous inference scoring a million rows at ``rows_per_s`` (one worker's, measured), billed
    only while it runs."""
    hours = Decimal(prices.MILLION) / Decimal(rows_per_s) / 3600
    return [{"instance": instance, "per_hour": per_hour, "hours_per_million": hours, "total": per_hour * hours,
             "price_note": note}
            for instance, per_hour, note in (
                (prices.ALWAYS_ON_INSTANCE, prices.ALWAYS_ON_PER_HOUR,
                 "the published comparison's hourly price, not re-checked"),
                (prices.SAGEMAKER_ASYNC_INSTANCE, prices.SAGEMAKER_ASYNC_PER_HOUR,
                 "a list price not verified here"))]


# ----------------------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------------------


def run(rows: int, worker_counts: Sequence[int], chunk_rows: int, out: Path, timeout_s: float,
        chunk_seconds: int = CHUNK_SECONDS) -> Dict[str, Any]:
    """The whole benchmark; returns what jobs.json holds."""
    settings = JobSettings.from_mapping({JOB_CHUNK_ROWS: str(chunk_rows), JOB_CHUNK_SECONDS: str(chunk_seconds)})
    memory = {name: function_settings("dev", name).memory_mb for name in (START_FUNCTION, CHUNK_FUNCTION)}
    stage = stage_environment("dev")
    max_batch = int(stage.get("MAX_BATCH_RECORDS", "1000"))
    input_path = out / f"jobs-sonar-{rows}.csv"
    _progress(f"writing {rows:,} rows to {shown(input_path)}")
    written = write_input(input_path, rows)
    result: Dict[str, Any] = {"rows": rows, "input": written, "chunk_rows_setting": chunk_rows,
                              "chunk_seconds_setting": chunk_seconds,
                              "workers": list(worker_counts), "cores": os.cpu_count(), "memory_mb": memory,
                              "environment": environment(), "poll_s": {"first": FIRST_POLL_S, "then": POLL_S}}
    port = free_port()
    # chalice local and every delivery process inherit them
    os.environ.update({JOB_CHUNK_ROWS: str(chunk_rows), JOB_CHUNK_SECONDS: str(chunk_seconds)})
    with tempfile.TemporaryDirectory(prefix="pfa-bench-jobs-") as scratch_name:
        scratch = Path(scratch_name)
        log_path, start_timings = scratch / "service.log", scratch / "start_job.jsonl"
        with open(log_path, "wb") as log:
            _progress(f"starting the local run (chalice local on port {port}, S3, SQS/DynamoDB, start_job's "
                      f"delivery); its log: {log_path}")
            with local_run(port, data_dir=scratch / "s3", publish=False, output=log, streams=True,
                           aws_log_path=scratch / "aws.log",
                           delivery_args=[START_FUNCTION, "--timings", str(start_timings)]) as local:
                assert local.jobs is not None
                service = Service(port)
                _progress("asking POST /predict/batch for the 208 distinct rows and a sample of the file's rows")
                distinct_records = records_of(SONAR_CSV, range(1, written["distinct_rows"] + 1))
                distinct = batch_answers(service, [distinct_records[n] for n in sorted(distinct_records)], max_batch)
                sample_rows = sorted(random.Random(SAMPLE_SEED).sample(range(1, rows + 1), min(SAMPLE_ROWS, rows)))
                sample_records = records_of(input_path, sample_rows)
                sampled = batch_answers(service, [sample_records[n] for n in sample_rows], max_batch)
                sample = dict(zip(sample_rows, sampled["predictions"], strict=True))
                if sampled["model"] != distinct["model"]:
                    raise RuntimeError(f"/predict/batch changed model while asked: {distinct['model']}, "
                                       f"{sampled['model']}")
                _, described = service.call("GET", "/model")
                result["engine"] = described.get("engine") if isinstance(described, dict) else None
                result["model"] = distinct["model"]
                _progress("warm-up: the 208-row file as a job, with a chunk worker of its own")
                with chunk_workers(local.environment, 1, scratch, "warmup"):
                    warm = run_job(service, SONAR_CSV, timeout_s)
                result["warmup"] = {"id": warm["id"], "state": warm["status"]["state"],
                                    "timing": timing(warm, written["distinct_rows"], SONAR_CSV.stat().st_size)}
                if warm["status"]["state"] != "succeeded":
                    raise RuntimeError(f"the warm-up job failed: {warm['status'].get('reason')}")
                runs = []
                for count in worker_counts:
                    label = f"workers-{count}"
                    _progress(f"{rows:,} rows with {count} chunk worker(s), JOB_CHUNK_ROWS={chunk_rows:,}")
                    with chunk_workers(local.environment, count, scratch, label) as workers:
                        job = run_job(service, input_path, timeout_s)
                    _progress(f"  {job['status']['state']} in {timing(job, rows, written['bytes'])['end_to_end_s']:.1f}"
                              " s; checking every line")
                    check = check_output(service, job["status"], rows, distinct["predictions"], sample,
                                         distinct["model"])
                    _progress(f"  {'exact' if check['exact'] else 'NOT exact'}: {check['lines']:,} lines, "
                              f"{check['mismatches']} mismatches, {check['out_of_order']} out of order")
                    chunk_logs = "\n".join(files["log"].read_text(errors="replace") for files in workers)
                    chunk_timings = [entry for files in workers for entry in read_timings(files["timings"])]
                    runs.append({"workers": count, "job_id": job["id"], "status": job["status"],
                                 "timing": timing(job, rows, written["bytes"]), "check": check,
                                 "chunk_log": chunk_logs, "chunk_timings": chunk_timings,
                                 "item": _job_item(local.jobs, job["id"])})
        service_log = log_path.read_text(errors="replace")
        starts = read_timings(start_timings)
    result["runs"] = [_finish(run_, service_log, starts, rows, written["bytes"], memory, settings) for run_ in runs]
    one = next((run_ for run_ in result["runs"] if run_["workers"] == 1), result["runs"][0])
    for run_ in result["runs"]:
        run_["speed_up"] = run_["timing"]["rows_per_s"] / one["timing"]["rows_per_s"]
        scoring, base = run_["timing"]["scoring_rows_per_s"], one["timing"]["scoring_rows_per_s"]
        run_["scoring_speed_up"] = scoring / base if scoring and base else None
    result["predict_batch"] = predict_batch_prices(memory[CHUNK_FUNCTION], (100, max_batch))
    result["predict_batch_here"] = predict_batch_here(service_log, distinct["calls"] + sampled["calls"], max_batch,
                                                      memory[CHUNK_FUNCTION])
    result["sagemaker"] = {"rows_per_s": one["timing"]["rows_per_s"], "workers": one["workers"],
                           "rows": sagemaker_prices(one["timing"]["rows_per_s"])}
    result["requests_api"] = _api_latencies(service_log)
    result["environment"]["load_average_end"] = list(os.getloadavg())
    result["exact"] = all(run_["check"]["exact"] for run_ in result["runs"])
    return result


def _job_item(jobs: Any, job_id: str) -> Dict[str, Any]:
    """The job's DynamoDB item, typed, as the table holds it at the end (read by the benchmark itself)."""
    client = boto3.session.Session().client("dynamodb", endpoint_url=jobs.aws_endpoint_url, region_name=jobs.region,
                                            aws_access_key_id="local", aws_secret_access_key="local")
    return dict(client.get_item(TableName=jobs.table.name, Key={"job_id": {"S": job_id}},
                                ConsistentRead=True).get("Item", {}))


def _api_latencies(text: str) -> Dict[str, Optional[float]]:
    """The API function's own latency (its request log lines) for each call a job needs, median over the run."""
    lines = log_events(text, ["request"])
    return {f"{method} {route}": _median([float(line["latency_ms"]) for line in lines
                                          if line.get("method") == method and line.get("route") == route])
            for method, route in API_CALLS}


def _finish(run_: Dict[str, Any], service_log: str, starts: Sequence[Mapping[str, Any]], rows: int,
            input_bytes: int, memory: Mapping[str, int], settings: JobSettings) -> Dict[str, Any]:
    job_id = run_["job_id"]
    started = [line for line in log_events(service_log, ["job_started"]) if line.get("job") == job_id]
    chunk_log = run_.pop("chunk_log")
    calls = invocations(job_id, starts, log_events(service_log, ["job_upload"]), run_.pop("chunk_timings"),
                        log_events(chunk_log, ["job_chunk"]), log_events(chunk_log, ["job_chunk_failed"]))
    check = run_["check"]
    item = run_.pop("item")
    api = _api_latencies(service_log)
    run_["plan"] = {"chunks": run_["status"]["chunks"]["total"],
                    "chunk_rows": started[0].get("chunk_rows") if started else None,
                    "row_cost_ms": started[0].get("row_cost_ms") if started else None}
    run_["invocations"] = calls
    run_["cost"] = price_job(calls, memory[CHUNK_FUNCTION], rows, item_bytes(item), input_bytes,
                             check["results_bytes"], check["errors_bytes"] or 0, api, settings.retention_days)
    run_["chunk_cost"] = chunk_economics(calls, memory[CHUNK_FUNCTION], item_bytes(item))
    return run_


# ----------------------------------------------------------------------------------------------------------
# The report
# ----------------------------------------------------------------------------------------------------------


def _s(value: Optional[float], digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f} s"


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _rate(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.0f}"


def render(result: Dict[str, Any]) -> str:
    env = result["environment"]
    runs = result["runs"]
    dirty = " (dirty tree)" if env.get("git_dirty") else ""
    written = result["input"]
    lines = [
        "# A file scored as a job, end to end on the local run",
        "",
        f"Written by `make bench-jobs` (`python -m benchmarks.jobs`) on {env['date_utc']} at commit "
        f"`{env['git_commit']}`{dirty}: {env['cpu_model']}, {env['cores']} cores, load average "
        f"{env['load_average_start'][0]:.2f} at start, {env['load_average_end'][0]:.2f} at end. How it runs: "
        "`benchmarks/README.md`.",
        "",
        f"{result['rows']:,} Sonar rows ({written['bytes'] / 1e6:,.1f} MB of CSV: tests/data/sonar.csv's "
        f"{written['distinct_rows']} rows repeated, its Class column kept) scored as one job on the local run: "
        f"`POST /jobs` to `chalice local`, the upload as its presigned POST to the local S3, `GET /jobs/{{id}}` "
        f"every {FIRST_POLL_S * 1000:.0f} ms until it showed queued or running, then every {POLL_S * 1000:.0f} ms. "
        f"`JOB_CHUNK_ROWS={result['chunk_rows_setting']:,}` for the run (the default is 50,000), so that each "
        f"worker gets several chunks, and `JOB_CHUNK_SECONDS={result['chunk_seconds_setting']}` (the default is 60), "
        "so that every run cuts the same chunks: the planner sizes chunks by the 90th percentile of 50 sampled rows, "
        "and a few rows slowed by a pause would cut smaller ones for one run alone (its sampled cost is in the table); "
        f"engine: {_engine(result)}. A chunk worker is one process delivering the chunk "
        "queue to `score_chunk` (devtools/deliver_events.py); each run has fresh ones, which load the model on their "
        "first chunk as a new Lambda container would. `start_job` was warmed by a 208-row job first.",
        "",
        "## Rows per second",
        "",
        "| chunk workers | chunks (rows each; sampled row cost) | upload "
        "| first status after `POST /jobs` (after the upload) "
        "| planning (queued to started) | scoring (started to finished) | end to end | rows/s end to end "
        "| rows/s scoring | speed-up end to end (scoring) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run_ in runs:
        t, plan = run_["timing"], run_["plan"]
        each = f"{plan['chunk_rows']:,}" if plan["chunk_rows"] else "?"
        if plan["row_cost_ms"] is not None:
            each += f"; {plan['row_cost_ms']:.2f} ms"
        scoring_speed = f"{run_['scoring_speed_up']:.2f}x" if run_["scoring_speed_up"] else "-"
        lines.append(
            f"| {run_['workers']} | {plan['chunks']} ({each}) | {_s(t['upload_s'], 2)} "
            f"({t['upload_mb_per_s']:,.0f} MB/s) | {_s(t['first_status_s'], 2)} "
            f"({_s(t['first_status_after_upload_s'], 2)}, {t['first_state']}) | {_s(t['planning_s'], 2)} | "
            f"{_s(t['scoring_s'])} | {_s(t['end_to_end_s'])} | "
            f"**{_rate(t['rows_per_s'])}** | {_rate(t['scoring_rows_per_s'])} | {run_['speed_up']:.2f}x "
            f"({scoring_speed}) |")
    warm = result["warmup"]["timing"]
    lines += [
        "",
        "End to end: from `POST /jobs` sent to the job's `finished_at` (the same machine's clock). Planning is "
        "`start_job` reading the file through once to cut it (the queued state); the first status comes once the S3 "
        "notification stand-in has listed the upload (every 0.5 s) and `start_job` has claimed the job "
        f"({_s(statistics.median([run_['timing']['notified_after_upload_s'] for run_ in runs]), 2)} after the upload, "
        f"median). The warm-up job (208 rows, `start_job` cold: it loaded the model first) showed its first status "
        f"{_s(warm['first_status_s'], 2)} after `POST /jobs`. Speed-up: rows/s against the one-worker run, same run of "
        f"the benchmark; this machine has {result['cores']} cores, shared with the local S3, moto, `chalice local` "
        "and `start_job`'s process, so the workers do not have them to themselves.",
        "",
        "## Invocations",
        "",
        "| chunk workers | `start_job`: wall / CPU ms | `score_chunk` invocations (cold) | CPU ms per chunk, median "
        "(warm) | wall ms per chunk, median / max | the handler's `duration_ms`, median | raised / retried |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run_ in runs:
        calls = run_["invocations"]
        lines.append(
            f"| {run_['workers']} | {_ms(calls['start_wall_ms'])} / {_ms(calls['start_cpu_ms'])} | "
            f"{calls['chunk_invocations']} ({calls['chunk_cold']}) | {_ms(calls['chunk_cpu_ms_median'])} "
            f"({_ms(calls['chunk_cpu_ms_warm_median'])}) | {_ms(calls['chunk_wall_ms_median'])} / "
            f"{_ms(calls['chunk_wall_ms_max'])} | {_ms(calls['handler_duration_ms_median'])} | "
            f"{calls['chunk_raised']} / {calls['chunk_failed_lines']} |")
    lines += [
        "",
        "Wall and CPU time of each invocation as the delivery timed it around the handler (`--timings`); a cold "
        "invocation is a worker's first, which builds the app's runtime and loads the model. The last chunk also "
        "joins the parts (an S3 multipart upload) and closes the job.",
        "",
        "## Exact",
        "",
        "| chunk workers | lines | in order | equal to `/predict/batch` | sampled rows sent as they are | errors file "
        "| notes |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run_ in runs:
        check = run_["check"]
        lines.append(
            f"| {run_['workers']} | {check['lines']:,} of {check['expected_lines']:,} | "
            f"{check['lines'] - check['out_of_order']:,} | "
            f"{check['lines'] - check['mismatches'] - check['error_lines']:,} | "
            f"{check['sample_checked']:,} of {check['sample_size']:,} | {check['errors_bytes']} bytes | "
            f"{'; '.join(check['notes'])} |")
    exact = result["exact"]
    lines += [
        "",
        ("**Exact**: every run's results have one line per row, rows 1 to "
         f"{result['rows']:,} in order, each the prediction `POST /predict/batch` gives for that row (the "
         f"{written['distinct_rows']} distinct rows asked before the clock, and {runs[0]['check']['sample_size']:,} "
         "rows of the generated file sent as they are), with the same model version."
         if exact else "**Not exact**: " + "; ".join(
             f"{run_['workers']} worker(s): {run_['check']['state']}, {run_['check']['mismatches']} mismatches, "
             f"{run_['check']['out_of_order']} out of order, {run_['check']['lines']} lines "
             + ", ".join(run_["check"]["examples"]) for run_ in runs if not run_["check"]["exact"])),
        "",
    ]
    lines += render_cost(result)
    return "\n".join(lines) + "\n"


def _engine(result: Mapping[str, Any]) -> str:
    engine = result.get("engine")
    if isinstance(engine, dict):
        return f"{engine.get('name', engine.get('engine', '?'))} ({engine.get('reason', '')})".replace(" ()", "")
    return str(engine)


def _money(value: Decimal) -> str:
    return cost.dollars(value)


def render_cost(result: Dict[str, Any]) -> List[str]:
    runs = result["runs"]
    one = next((run_ for run_ in runs if run_["workers"] == 1), runs[0])
    priced = one["cost"]
    batch, sagemaker = result["predict_batch"], result["sagemaker"]
    memory = priced["memory_mb"]
    lines = [
        "## Cost per million rows",
        "",
        f"Each invocation of `start_job` and `score_chunk` priced as Lambda bills it at {memory} MB "
        f"(.chalice/config.json): its CPU time (the worker process's, all threads, while it ran) divided by "
        f"{cost.cpu_share(memory):.3f} (the memory's share of a vCPU, as `make cost` "
        "projects), plus the rest of its wall-clock time (its waits on S3, DynamoDB and SQS, here the local servers', "
        "not projected), rounded up to the millisecond; plus Lambda's per-request charge; the AWS requests each "
        "handler sent, counted as they were sent (`--timings`): S3 (PUT-class and GET-class; deletes are free), "
        "DynamoDB on demand (the job's item is "
        f"{priced['item_bytes']:,} bytes at the end: {priced['write_units_each']} write unit(s) a write and "
        f"{priced['read_units_each']} read unit(s) a strongly consistent read, counted at that size for every call), "
        "the chunk queue's sends and, per chunk, Lambda's poller's receive and delete; and the caller's part: "
        "`POST /jobs` and one `GET /jobs/{id}` (Lambda at the API function's own logged latency, API Gateway), the "
        "upload (one POST) and the download (one GET). S3 storage of the input and the results for the job's "
        f"retention ({priced['retention_days']} days, the bucket's lifecycle rule) is its own column.",
        "",
        "| chunk workers | invocations | billed Lambda s | Lambda duration | Lambda requests | SQS | DynamoDB "
        "| S3 requests | API Gateway | **total** | S3 storage, retention |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run_ in runs:
        per, c = run_["cost"]["per_million"], run_["cost"]
        lines.append(f"| {run_['workers']} | {c['invocations'] + c['api_calls']} | {c['billed_ms'] / 1000:,.1f} | "
                     f"{_money(per['lambda_duration'])} | {_money(per['lambda_requests'])} | {_money(per['sqs'])} | "
                     f"{_money(per['dynamodb'])} | {_money(per['s3_requests'])} | {_money(per['api_gateway'])} | "
                     f"**{_money(per['total'])}** | {_money(per['storage'])} |")
    lines += [
        "",
        "Invocations and billed seconds are the job's (one job of "
        f"{result['rows']:,} rows); the dollars are per million rows (the job's x "
        f"{prices.MILLION / result['rows']:g}). The one-worker run is the price to read: with more workers than "
        "the machine can give a core each, an invocation's wall-clock time also counts its waits for a core.",
        "",
        *_chunk_notes(result, one),
        "",
        "Beside it, per million rows:",
        "",
        "| how | per million rows | from |",
        "| --- | ---: | --- |",
        f"| a job, {one['workers']} chunk worker(s) (above), all but storage | "
        f"**{_money(one['cost']['per_million']['total'])}** | this run |",
        f"| a job, with S3 storage for {priced['retention_days']} days | "
        f"{_money(one['cost']['per_million']['total'] + one['cost']['per_million']['storage'])} | this run |",
    ]
    here = result.get("predict_batch_here")
    if here is not None:
        lines.append(f"| `POST /predict/batch` of {here['batch']:,} records, in this run (Lambda + API Gateway) | "
                     f"{_money(here['total'])} | the API's logged latency, median of {here['calls']} calls: "
                     f"{here['measured_ms']:,.1f} ms a call, billed {here['billed_ms']:,} ms |")
    for row in batch["rows"]:
        lines.append(f"| `POST /predict/batch` of {row['batch']:,} records, reference run, {batch['engine']} engine "
                     f"(Lambda + API Gateway) | {_money(row['total'])} | `{batch['results']}` ({batch['measured']}): "
                     f"{row['measured_ms']:,.1f} ms CPU a call, billed {row['billed_ms']:,} ms |")
    for row in sagemaker["rows"]:
        lines.append(f"| SageMaker asynchronous inference, one {row['instance']} at {_money(row['per_hour'])}/hour "
                     f"({row['price_note']}), for {float(row['hours_per_million']) * 60:,.1f} min | "
                     f"{_money(row['total'])} | one worker's {sagemaker['rows_per_s']:,.0f} rows/s end to end |")
    lines += [
        "",
        "SageMaker asynchronous inference: one instance scoring at the rate one chunk worker reached here end to end, "
        "billed only for the job's duration: a lower bound (no time to scale up from zero or to scale in after, the "
        "instance's own S3 requests and storage of input and output left out, and its cores assumed as fast as this "
        "machine's). `/predict/batch` at the same memory and with the same projection: the API's own latency for the "
        "calls this run made to learn the answers (wall clock, on an otherwise idle machine), and the reference "
        "run's whole-handler CPU time (`make cost`'s arithmetic, another run: compare the two "
        "`/predict/batch` rows to see how far apart the runs are); the job's rows are scored by the same engine.",
        "",
        f"Prices: AWS public list prices, {prices.REGION}, to re-check before relying on these figures: Lambda "
        f"{cost.money(prices.LAMBDA_PER_GB_SECOND, 10)} per GB-second and "
        f"{cost.money(prices.LAMBDA_PER_REQUEST * prices.MILLION)} per million requests, API Gateway REST "
        f"{cost.money(prices.API_GATEWAY_REST_PER_REQUEST * prices.MILLION)} per million (as of {prices.AS_OF}); SQS "
        f"{cost.money(prices.SQS_STANDARD_PER_REQUEST * prices.MILLION)} per million requests (as of "
        f"{prices.SQS_AS_OF}); DynamoDB on demand "
        f"{cost.money(prices.DYNAMODB_PER_WRITE_REQUEST_UNIT * prices.MILLION, 3)} per million write units, "
        f"{cost.money(prices.DYNAMODB_PER_READ_REQUEST_UNIT * prices.MILLION, 3)} per "
        f"million read units (as of {prices.DYNAMODB_AS_OF}); S3 Standard "
        f"{cost.money(prices.S3_PUT_CLASS_PER_REQUEST * 1000, 3)} per 1,000 PUT-class and "
        f"{cost.money(prices.S3_GET_CLASS_PER_REQUEST * 1000, 4)} per 1,000 GET-class requests, "
        f"{cost.money(prices.S3_STANDARD_PER_GB_MONTH, 3)} per GB-month (as of {prices.S3_AS_OF}); SageMaker "
        f"{prices.SAGEMAKER_ASYNC_INSTANCE} {cost.money(prices.SAGEMAKER_ASYNC_PER_HOUR, 3)}/hour "
        f"({prices.SAGEMAKER_ASYNC_AS_OF}) and {prices.ALWAYS_ON_INSTANCE} "
        f"{cost.money(prices.ALWAYS_ON_PER_HOUR)}/hour (the published comparison's). Sources and dates: "
        "`benchmarks/prices.py`. Left out: free tiers, data "
        "transfer, CloudWatch Logs, the chunk queue's empty receives while idle, the status polls beyond one "
        "(each is an API Gateway request, a short Lambda invocation and a read: about $4 per million polls).",
        "",
    ]
    return lines


def _chunk_notes(result: Mapping[str, Any], run_: Mapping[str, Any]) -> List[str]:
    economics, plan = run_["chunk_cost"], run_["plan"]
    notes = []
    fixed = economics["fixed_per_chunk"]
    if fixed is not None and plan["chunk_rows"]:
        default = JobSettings().chunk_rows
        notes.append(
            f"A chunk costs {_money(fixed)} whatever its rows (its S3, DynamoDB and SQS requests and Lambda's request "
            f"charge: the median chunk of this run but the cold ones and the last): "
            f"{_money(fixed * prices.MILLION / plan['chunk_rows'])} per million rows at this run's "
            f"{plan['chunk_rows']:,} rows a chunk, {_money(fixed * prices.MILLION / default)} at the default "
            f"JOB_CHUNK_ROWS of {default:,}.")
    if economics["cold_extra_billed_ms"] is not None:
        extra = economics["cold_extra_per_chunk"]
        chunks = plan["chunks"] or 1
        notes.append(
            f"A cold start (a worker's first chunk: the runtime built, the clients created, the model loaded) added "
            f"{economics['cold_extra_billed_ms']:,.0f} billed ms to its chunk here ({_money(extra)}). Lambda starts "
            "containers as its SQS pollers scale with the queue, up to one per chunk: were every one of the "
            f"{chunks} chunks cold, that would add {_money(extra * chunks * prices.MILLION / result['rows'])} per "
            "million rows.")
    return [" ".join(notes), ""] if notes else []


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _jsonable(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(inner) for inner in value]
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"rows in the job's file (default {ROWS:,})")
    parser.add_argument("--workers", type=int, nargs="+", default=None,
                        help="chunk worker counts, one job each (default: 1 and the number of cores)")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS,
                        help=f"JOB_CHUNK_ROWS for the run (default {CHUNK_ROWS:,}; the service's default is 50,000)")
    parser.add_argument("--chunk-seconds", type=int, default=CHUNK_SECONDS,
                        help=f"JOB_CHUNK_SECONDS for the run (default {CHUNK_SECONDS}, so that the chunks are "
                             "JOB_CHUNK_ROWS each; the service's default is 60)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on a job after this many seconds")
    parser.add_argument("--out", type=Path, default=LATEST_DIR,
                        help=f"where to write the input, {JOBS_MD} and {JOBS_JSON} (default {shown(LATEST_DIR)})")
    args = parser.parse_args(argv)
    workers = args.workers or sorted({1, os.cpu_count() or 1})
    if args.rows < 1 or args.chunk_rows < 1 or min(workers) < 1 or not 1 <= args.chunk_seconds <= 600:
        parser.error("--rows, --chunk-rows and --workers must be at least 1, --chunk-seconds 1 to 600")
    result = run(args.rows, list(dict.fromkeys(workers)), args.chunk_rows, args.out, args.timeout, args.chunk_seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = args.out / JOBS_JSON, args.out / JOBS_MD
    json_path.write_text(json.dumps(_jsonable(result), indent=2, sort_keys=True) + "\n")
    text = render(result)
    md_path.write_text(text)
    print(text)
    print(f"Wrote {md_path} and {json_path}")
    return 0 if result["exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
