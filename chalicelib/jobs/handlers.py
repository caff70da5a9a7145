"""What the jobs' Lambda handlers do with an event: log one line per upload or chunk, and raise on a transient
failure so that Lambda runs the event again (S3's asynchronous invoke retries twice; the chunk queue redelivers
after its visibility timeout). A caller's or a file's mistake fails the job instead, with its reason."""

import json
import time
import urllib.parse
from typing import Any, Callable, Mapping, Optional

from ..errors import ServiceError
from ..telemetry import RequestLog, ServiceMetrics
from ..wiring import Runtime
from .service import JobService, JobsNotConfigured


class JobEventFailed(Exception):
    """Raised so that Lambda retries the event; the message says why (it is in the log line too)."""


def handle_upload_event(event: Mapping[str, Any], context: Any, runtime: Callable[[], Runtime],
                        log: RequestLog, metrics: ServiceMetrics) -> dict:
    started = time.perf_counter()
    records = event.get("Records") if isinstance(event, Mapping) else None
    outcomes = []
    try:
        jobs = _jobs(runtime)
        for record in records if isinstance(records, list) else []:
            s3 = record.get("s3", {}) if isinstance(record, Mapping) else {}
            bucket = str(s3.get("bucket", {}).get("name", ""))
            obj = s3.get("object", {})
            key = urllib.parse.unquote_plus(str(obj.get("key", "")))
            outcome = jobs.on_upload(bucket, key, str(obj.get("eTag", "")).strip('"'), int(obj.get("size") or 0),
                                     _time_left(context))
            outcomes.append(outcome)
            log.event("job_upload", key=key, outcome=outcome, request_id=getattr(context, "aws_request_id", None),
                      duration_ms=round((time.perf_counter() - started) * 1000, 3))
    except ServiceError as error:
        _failed(log, metrics, "job_upload_failed", error, context)
    metrics.flush()
    return {"outcomes": outcomes}


def handle_chunk_event(event: Mapping[str, Any], context: Any, runtime: Callable[[], Runtime],
                       log: RequestLog, metrics: ServiceMetrics) -> dict:
    started = time.perf_counter()
    outcomes = []
    try:
        jobs = _jobs(runtime)
        for record in event.get("Records", []):
            try:
                message = json.loads(record.get("body") or "null")
            except ValueError:
                message = None
            receives = int(record.get("attributes", {}).get("ApproximateReceiveCount") or 1)
            try:
                outcome = jobs.on_chunk(message if isinstance(message, dict) else {}, receives, _time_left(context))
            except Exception:  # transient (a caller's or a file's mistake fails the job instead), or a bug
                if record.get("receiptHandle"):
                    jobs.retry_later(str(record["receiptHandle"]), receives)
                raise
            outcomes.append(outcome)
            log.event("job_chunk", job=(message or {}).get("job") if isinstance(message, dict) else None,
                      chunk=(message or {}).get("chunk") if isinstance(message, dict) else None, outcome=outcome,
                      attempt=receives, request_id=getattr(context, "aws_request_id", None),
                      duration_ms=round((time.perf_counter() - started) * 1000, 3))
    except ServiceError as error:
        _failed(log, metrics, "job_chunk_failed", error, context)
    metrics.flush()
    return {"outcomes": outcomes}


def _jobs(runtime: Callable[[], Runtime]) -> JobService:
    served = runtime()
    if served.jobs is None:
        raise JobsNotConfigured(f"jobs are not set up on this function: {served.jobs_off} is not set")
    return served.jobs


def _failed(log: RequestLog, metrics: ServiceMetrics, event: str, error: ServiceError, context: Any) -> None:
    log.event(event, level="WARNING", reason=error.message, code=error.code,
              request_id=getattr(context, "aws_request_id", None))
    metrics.flush()
    raise JobEventFailed(error.message)


def _time_left(context: Any) -> Callable[[], Optional[float]]:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if not callable(remaining):
        return lambda: None
    return lambda: float(remaining())
