"""What the jobs routes and handlers do: create a job, start it when its file arrives, score a chunk, and let
the last chunk assemble the output and close the job.

The order of writes is what keeps every row exactly once:

- the upload's event claims the job (``waiting_for_upload`` -> ``queued``) once; a duplicate event finds it
  claimed. Should the planner die, a later event (Lambda retries a failed one) may take it over once its
  lease has run out, and cuts the same chunks again (the chunk size is kept once decided);
- the plan is stored (``running``, the row and chunk counts, the model version) before any chunk is sent;
- a chunk writes its parts, then counts itself in one conditional write (its entry in the ``chunks`` map must
  not exist, and the row counters are added in the same write). A chunk scored twice writes the same parts
  twice and is counted once;
- the write that counts the last chunk says so, and that invocation joins the parts, then closes the job
  (``running`` -> ``succeeded``). A duplicate of the last chunk's message joins them again if the job is still
  open, so a join that died half-way is done over.
"""

import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from ..errors import InvalidModelName, InvalidRequest, ModelLoadError, ModelNotFound, ModelNotReady, ServiceError
from ..model_loader import LoadedModel
from ..model_names import check_model_name
from ..model_store import DocumentMissing, VersionFailed
from ..scoring import ScoringService
from ..validation import shown
from . import layout
from .chunks import ChunkMismatch, score_chunk
from .files import InputGone, JobFiles, Segment, iso
from .planning import Chunk, Planner
from .queue import ChunkQueue
from .reading import FORMATS, FileRefused
from .settings import JobSettings
from .status import job_answer
from .store import Change, JobStore

WAITING, QUEUED, RUNNING, SUCCEEDED, FAILED = "waiting_for_upload", "queued", "running", "succeeded", "failed"
# How long a planner holds a claimed job before another event may take it over: start_job's time left, or this
# when it is not known. A planner that fails gives the lease back at once, for Lambda's retry of the event.
PLANNER_LEASE_SECONDS = 300
# A job not started this long after its last planner's lease ran out has lost its upload's event for good
# (Lambda drops an asynchronous event after its retries, and the template's MaximumEventAgeInSeconds is an hour).
START_GIVE_UP_SECONDS = 3600
# A chunk that failed for a transient reason comes back after 10 s, then 20 s, 40 s, ... at most 5 minutes.
RETRY_FIRST_SECONDS = 10
RETRY_MAX_SECONDS = 300
# Of a chunk invocation's time, what is kept back to write its parts and count it.
CHUNK_RESERVE_MS = 15_000
_FIELDS = ("model", "format")

EventLog = Callable[..., None]


class JobNotFound(ServiceError):
    status = 404
    code = "job_not_found"


class JobsNotConfigured(ServiceError):
    status = 503
    code = "jobs_not_configured"


class JobService:
    def __init__(self, settings: JobSettings, store: JobStore, files: JobFiles, queue: ChunkQueue,
                 scoring: ScoringService, planner: Planner, log_event: EventLog,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._store = store
        self._files = files
        self._queue = queue
        self._scoring = scoring
        self._planner = planner
        self._log = log_event
        self._clock = clock
        self._pinned: Dict[Tuple[str, str], LoadedModel] = {}

    # ---- the API ------------------------------------------------------------------------------------------

    def create(self, body: Any, status_url: Callable[[str], str]) -> Dict[str, Any]:
        fmt, name = _job_request(body)
        try:
            model = self._scoring.model(name)
        except ModelNotFound as error:
            raise ModelNotFound(error.message, field="model") from None
        now = self._now()
        job_id = layout.new_job_id()
        upload = self._files.upload_form(layout.input_key(job_id), now)
        item = {"job_id": job_id, "state": WAITING, "format": fmt, "model_name": model.name,
                "created_at": iso(now), "upload_expires_at": upload["expires_at"],
                "expires_at": int(self._clock()) + self.settings.retention_days * 86400,
                "chunks": {}, "chunks_done": 0, "rows_scored": 0, "rows_failed": 0}
        self._store.create(item)
        self._log("job_created", job=job_id, model=model.name, format=fmt)
        return {**job_answer(item, self._now(), None), "status_url": status_url(job_id), "upload": upload}

    def status(self, job_id: str) -> Dict[str, Any]:
        job = self._store.get(job_id) if layout.is_job_id(job_id) else None
        # DynamoDB deletes an expired item within a day or two, not at once; the bucket's rule its files.
        if job is None or int(job.get("expires_at") or 0) < self._clock():
            shown_id = job_id if len(job_id) <= 40 else job_id[:37] + "..."
            raise JobNotFound(f"no job {shown_id!r}: it never existed, or it expired", field="job_id")
        now = self._now()
        if job["state"] == WAITING and iso(now) > job["upload_expires_at"] \
                and not self._files.exists(layout.input_key(job_id)):
            job = self._fail(job_id, f"no file was uploaded before the upload link expired at "
                                     f"{job['upload_expires_at']}; create a new job", states=(WAITING,)) \
                or self._store.get(job_id) or job
        elif job["state"] in (QUEUED, RUNNING) and not job.get("chunks_sent") \
                and int(job.get("planner_until") or 0) + START_GIVE_UP_SECONDS < self._clock():
            # Every attempt to start it failed, and Lambda gives an upload's event up after an hour.
            job = self._fail(job_id, "the job could not be started" + (
                f" ({job['last_error']})" if job.get("last_error") else "") + "; create a new job",
                states=(QUEUED, RUNNING)) or self._store.get(job_id) or job
        links = None
        if job["state"] == SUCCEEDED:
            links = (self._files.link(layout.results_key(job_id)), self._files.link(layout.errors_key(job_id)),
                     iso(datetime.fromtimestamp(self._clock() + self._files.link_seconds, timezone.utc)))
        return job_answer(job, now, links)

    # ---- the upload's event -------------------------------------------------------------------------------

    def on_upload(self, bucket: str, key: str, etag: str, size: int,
                  time_left_ms: Callable[[], Optional[float]] = lambda: None) -> str:
        """Start the job that ``key`` is the upload of; what happened, for the log. Raises a transient
        ServiceError for Lambda to retry the event."""
        job_id = layout.job_of_input(key)
        if job_id is None or bucket != self._files.bucket:
            return "not a job's upload"
        job = self._store.get(job_id)
        if job is None:
            return "no such job"
        left = time_left_ms()
        claimed = self._claim(job_id, etag, size, PLANNER_LEASE_SECONDS if left is None else int(left / 1000) + 1)
        if claimed is None:
            return f"already {job['state']}"
        try:
            return self._start(job_id, claimed, etag, size, time_left_ms)
        except Exception as error:
            # Give the lease back, so that Lambda's retry of this event can start the job at once.
            reason = error.message if isinstance(error, ServiceError) else "an internal error (see the log)"
            try:
                self._store.update(job_id, Change(
                    set={"planner_until": int(self._clock()), "last_error": reason},
                    condition="#state IN (:queued, :running) AND attribute_not_exists(#chunks_sent)",
                    values={":queued": QUEUED, ":running": RUNNING}))
            except ServiceError:
                pass  # the lease then runs out by itself
            raise

    def _start(self, job_id: str, claimed: Dict[str, Any], etag: str, size: int,
               time_left_ms: Callable[[], Optional[float]]) -> str:
        if size > self._files.max_bytes:
            self._fail(job_id, f"the file is {size} bytes, over the limit of {self._files.max_bytes} (JOB_MAX_BYTES)")
            return FAILED
        try:
            model = self._model(claimed)
            blocks = self._blocks(job_id, etag)
            plan = self._planner.plan(claimed["format"], model, blocks, claimed.get("chunk_rows"), time_left_ms)
        except (FileRefused, InputGone, ModelNotFound) as error:
            self._fail(job_id, _reason(error))
            return FAILED
        except _VersionGone as error:
            self._fail(job_id, str(error))
            return FAILED
        started = self._store.update(job_id, Change(
            set={"state": RUNNING, "started_at": iso(self._now()), "model_version": model.version,
                 "model_version_id": model.version_id or "", "rows_total": plan.rows_total,
                 "chunks_total": len(plan.chunks), "chunk_rows": plan.chunk_rows, "data_start": plan.data_start,
                 "notes": plan.notes},
            condition="#state IN (:queued, :running) AND #input_etag = :etag",
            values={":queued": QUEUED, ":running": RUNNING, ":etag": etag}))
        if started is None:
            return "taken over"
        self._log("job_started", job=job_id, model=model.name, version=model.version, rows=plan.rows_total,
                  chunks=len(plan.chunks), chunk_rows=plan.chunk_rows,
                  row_cost_ms=None if plan.row_cost_ms is None else round(plan.row_cost_ms, 3))
        if not plan.chunks:
            self._assemble(started)
            return SUCCEEDED
        self._queue.send([chunk.message(job_id) for chunk in plan.chunks])
        self._store.update(job_id, Change(set={"chunks_sent": True}))
        return RUNNING

    def _claim(self, job_id: str, etag: str, size: int, lease_seconds: int) -> Optional[Dict[str, Any]]:
        now = self._clock()
        lease = int(now) + lease_seconds
        first = self._store.update(job_id, Change(
            set={"state": QUEUED, "input_etag": etag, "input_bytes": size, "queued_at": iso(self._now()),
                 "planner_until": lease},
            condition="#state = :waiting", values={":waiting": WAITING}))
        if first is not None:
            return first
        # A planner that died: its job is still queued or running with no chunks sent, and its lease is over.
        return self._store.update(job_id, Change(
            set={"planner_until": lease},
            condition="#state IN (:queued, :running) AND #input_etag = :etag AND #planner_until <= :now "
                      "AND attribute_not_exists(#chunks_sent)",
            values={":queued": QUEUED, ":running": RUNNING, ":etag": etag, ":now": int(now)}))

    # ---- a chunk ------------------------------------------------------------------------------------------

    def on_chunk(self, message: Mapping[str, Any], receive_count: int,
                 time_left_ms: Callable[[], Optional[float]]) -> str:
        chunk = _chunk(message)
        if chunk is None:
            return "not a chunk message"
        job_id = str(message["job"])
        job = self._store.get(job_id)
        if job is None or job["state"] in (SUCCEEDED, FAILED):
            return "job closed" if job else "no such job"
        counted = _entry(chunk.index) in job.get("chunks", {})
        if receive_count > self.settings.chunk_attempts:
            what = "joined into the results" if counted else "scored"
            self._fail(job_id, f"rows {chunk.first_row} to {chunk.first_row + chunk.rows - 1} could not be {what} "
                               f"after {self.settings.chunk_attempts} attempts"
                               + (f" (last: {job['last_error']})" if job.get("last_error") else ""))
            return FAILED
        try:
            if counted:
                return self._assemble_if_complete(job) or "duplicate"
            return self._chunk(job, chunk, time_left_ms)
        except ServiceError as error:
            if error.transient:
                self._store.update(job_id, Change(set={"last_error": error.message}))
            raise

    def _chunk(self, job: Dict[str, Any], chunk: Chunk, time_left_ms: Callable[[], Optional[float]]) -> str:
        job_id = job["job_id"]
        reserve = min(CHUNK_RESERVE_MS, (time_left_ms() or CHUNK_RESERVE_MS * 4) / 4)

        def left() -> Optional[float]:
            remaining = time_left_ms()
            return None if remaining is None else remaining - reserve

        try:
            counted = self._score(job, chunk, left)
        except (FileRefused, InputGone, ChunkMismatch, ModelNotFound) as error:
            self._fail(job_id, _reason(error))
            return FAILED
        except _VersionGone as error:
            self._fail(job_id, str(error))
            return FAILED
        if counted is None:
            return self._assemble_if_complete(self._store.get(job_id) or job) or "duplicate"
        return self._assemble_if_complete(counted) or "scored"

    def retry_later(self, receipt_handle: str, attempt: int) -> None:
        """After a transient failure of a chunk's ``attempt``-th delivery: when to try it again."""
        delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** max(0, attempt - 1))
        self._queue.retry_in(receipt_handle, delay)

    def _score(self, job: Dict[str, Any], chunk: Chunk, left: Callable[[], Optional[float]]) -> Optional[dict]:
        job_id = job["job_id"]
        model = self._model(job)
        blocks = self._blocks(job_id, job["input_etag"])
        reader = self._planner.chunk_reader(job["format"], model, blocks, int(job.get("data_start") or 0))
        output = score_chunk(chunk, blocks(chunk.start, chunk.end), reader, model, self._scoring.timeout_ms, left,
                             lambda error: self._log("job_row_bug", level="ERROR", job=job_id,
                                                     exception=f"{type(error).__name__}: {error}"))
        # Each attempt writes parts of its own: two attempts of one chunk may answer differently (a row that
        # ran out of time once), and the join must take the parts of the attempt that was counted.
        attempt = layout.new_attempt_id()
        try:
            self._files.put(layout.part_key(job_id, chunk.index, attempt=attempt), output.output)
            if output.errors_bytes:  # an empty part is not written (nor read by the join)
                self._files.put(layout.part_key(job_id, chunk.index, errors=True, attempt=attempt), output.errors)
        finally:
            output.close()
        entry = _entry(chunk.index)
        return self._store.update(job_id, Change(
            set={f"chunks.{entry}": {"rows": chunk.rows, "scored": output.scored, "failed": output.failed,
                                     "bytes": output.output_bytes, "errors_bytes": output.errors_bytes,
                                     "attempt": attempt}},
            add={"chunks_done": 1, "rows_scored": output.scored, "rows_failed": output.failed},
            condition=f"attribute_not_exists(#chunks.#{entry}) AND #state = :running",
            values={":running": RUNNING}))

    # ---- closing ------------------------------------------------------------------------------------------

    def _assemble_if_complete(self, job: Dict[str, Any]) -> Optional[str]:
        if job["state"] == RUNNING and job.get("chunks_done") == job.get("chunks_total"):
            self._assemble(job)
            return SUCCEEDED
        return None

    def _assemble(self, job: Dict[str, Any]) -> None:
        job_id = job["job_id"]
        chunks = job.get("chunks", {})
        entries = [chunks[_entry(index)] for index in range(int(job.get("chunks_total") or 0))]
        outputs = [Segment(layout.part_key(job_id, index, attempt=entry["attempt"]), entry["bytes"])
                   for index, entry in enumerate(entries)]
        errors = [Segment(layout.part_key(job_id, index, errors=True, attempt=entry["attempt"]), entry["errors_bytes"])
                  for index, entry in enumerate(entries)]
        results_bytes = self._files.join(layout.results_key(job_id), outputs, f"{job_id}-results.jsonl")
        errors_bytes = self._files.join(layout.errors_key(job_id), errors, f"{job_id}-errors.jsonl")
        closed = self._store.update(job_id, Change(
            set={"state": SUCCEEDED, "finished_at": iso(self._now()), "results_bytes": results_bytes,
                 "errors_bytes": errors_bytes},
            condition="#state = :running", values={":running": RUNNING}))
        if closed is not None:
            self._log("job_succeeded", job=job_id, rows=closed.get("rows_total"), scored=closed.get("rows_scored"),
                      failed=closed.get("rows_failed"))
            self._files.delete([segment.key for segment in outputs + errors if segment.size])

    def _fail(self, job_id: str, reason: str, states: Tuple[str, ...] = (WAITING, QUEUED, RUNNING)) \
            -> Optional[Dict[str, Any]]:
        values = {f":s{index}": state for index, state in enumerate(states)}
        failed = self._store.update(job_id, Change(
            set={"state": FAILED, "reason": reason, "finished_at": iso(self._now())},
            condition=f"#state IN ({', '.join(values)})", values=values))
        if failed is not None:
            self._log("job_failed", level="WARNING", job=job_id, reason=reason)
        return failed

    # ---- helpers ------------------------------------------------------------------------------------------

    def _model(self, job: Mapping[str, Any]) -> LoadedModel:
        """The job's model: at the version it started with, once it has started."""
        name = job["model_name"]
        current = self._scoring.model(name)
        version = job.get("model_version")
        if not version or current.version == version:
            return current
        pinned = self._pinned.get((name, version))
        if pinned is not None:
            return pinned
        version_id = job.get("model_version_id")
        if not version_id:
            raise _VersionGone(f"model {name!r} changed while the job ran (version {version} is now "
                               f"{current.version}) and its bucket keeps no earlier versions")
        try:
            pinned = self._scoring.model_version(name, version_id)
        except (DocumentMissing, VersionFailed) as error:
            raise _VersionGone(f"model {name!r} version {version}, which the job started with, cannot be loaded: "
                               f"{error}") from None
        except ModelLoadError as error:
            raise ModelNotReady(f"model {name!r} version {version} cannot be loaded now: {error}") from None
        if len(self._pinned) >= 2:
            self._pinned.clear()
        self._pinned[(name, version)] = pinned
        return pinned

    def _blocks(self, job_id: str, etag: str) -> Callable[[int, Optional[int]], Any]:
        key = layout.input_key(job_id)
        return lambda start, end: self._files.blocks(key, etag, start, end)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)


class _VersionGone(ValueError):
    """The job's model version cannot be had any more (final for the job)."""


def _entry(index: int) -> str:
    return f"c{index}"


def _reason(error: Exception) -> str:
    return error.message if isinstance(error, ServiceError) else str(error)


def _chunk(message: Mapping[str, Any]) -> Optional[Chunk]:
    try:
        job = message["job"]
        numbers = [message[name] for name in ("chunk", "first_row", "rows", "start", "end")]
    except (KeyError, TypeError):
        return None
    if not (isinstance(job, str) and layout.is_job_id(job)) or not all(type(n) is int and n >= 0 for n in numbers):
        return None
    return Chunk(*numbers)


def _job_request(body: Any) -> Tuple[str, Optional[str]]:
    if type(body) is not dict:
        raise InvalidRequest(f'expected an object {{"format": "csv" | "jsonl", "model": <name, optional>}}, '
                             f"got {shown(body)}")
    unknown = sorted(key for key in body if key not in _FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}; expected fields: {', '.join(_FIELDS)}", field=unknown[0])
    fmt = body.get("format")
    if fmt not in FORMATS:
        got = "nothing" if "format" not in body else shown(fmt)
        raise InvalidRequest(f"expected format {' or '.join(repr(choice) for choice in FORMATS)}, got {got}",
                             field="format")
    name = body.get("model")
    if name is not None:
        if not isinstance(name, str):
            raise InvalidRequest(f"expected model to be a model's name (a string), got {shown(name)}", field="model")
        try:
            check_model_name(name)
        except InvalidModelName as error:
            raise InvalidModelName(error.message, field="model") from None
    return fmt, name

