"""Building the service from settings: the one place that makes real AWS clients."""

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import boto3
from botocore.config import Config

from .errors import ModelNotReady
from .jobs.files import JobFiles
from .jobs.planning import Planner
from .jobs.queue import ChunkQueue
from .jobs.service import JobService
from .jobs.settings import JobSettings
from .jobs.store import JobStore
from .limits.memory import MB, apply_budget
from .model_loader import Background, EventSink, ModelLoader, in_thread
from .model_registry import ModelRegistry
from .model_store import ModelStore
from .scoring import ScoringService
from .settings import Settings, SettingsError
from .streams.results import ResultsQueue
from .telemetry import RequestLog, ServiceMetrics
from .telemetry.metrics import NAMESPACE_VARIABLE

# Fail fast: a slow S3 must not eat a request's whole time budget; nor a slow results queue a batch's.
_S3_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
# The results queue's client does not retry by itself: ResultsQueue retries, while the invocation has time.
# Jobs' tables and files: fail fast too, with a few retries (every write there is conditional, so safe to redo).
_JOBS_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
_SQS_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1, "mode": "standard"})


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    service: ScoringService
    # Where the queue and stream handlers send results; by default none (every send says RESULTS_QUEUE is unset).
    results: ResultsQueue = field(default_factory=lambda: ResultsQueue(lambda: None, None))
    # Files of records as jobs; None until JOBS_BUCKET and JOBS_TABLE are set (``jobs_off`` names the missing one).
    jobs: Optional[JobService] = None
    jobs_off: Optional[str] = None
    close: Callable[[], None] = lambda: None


def build_runtime(environ: Mapping[str, str], s3_client: Optional[Any] = None,
                  background: Background = in_thread, on_event: Optional[EventSink] = None,
                  metrics: Optional[ServiceMetrics] = None, sqs_client: Optional[Any] = None,
                  dynamodb_client: Optional[Any] = None) -> Runtime:
    settings = Settings.from_mapping(environ)
    apply_budget(settings.memory_limit_mb * MB if settings.memory_limit_mb else None)
    client = s3_client if s3_client is not None else boto3.client("s3", config=_S3_CONFIG)
    store = ModelStore(client, settings.model_bucket, settings.max_model_bytes)
    metrics = metrics or ServiceMetrics(environ.get(NAMESPACE_VARIABLE))
    log_event = on_event or RequestLog().event

    def events(event: str, **fields: Any) -> None:
        log_event(event, **fields)
        metrics.model_event(event, fields.get("model"), fields.get("version"))

    def make_loader(key: str, name: str, missing_is_not_found: bool) -> ModelLoader:
        return ModelLoader(
            store, key, name, timeout_ms=settings.model_timeout_ms, engine=settings.pfa_engine,
            retry_min_seconds=settings.load_retry_min_seconds, retry_max_seconds=settings.load_retry_max_seconds,
            refresh_seconds=settings.model_refresh_seconds, missing_is_not_found=missing_is_not_found,
            background=background, on_event=events)

    registry = ModelRegistry(make_loader, settings.models_prefix, settings.model_key,
                             settings.max_loaded_models, settings.max_loaded_model_bytes,
                             refresh_seconds=settings.model_refresh_seconds)
    service = ScoringService(registry, store, settings.max_batch_records, timeout_ms=settings.model_timeout_ms,
                             memory_limit_mb=settings.memory_limit_mb, metrics=metrics)
    results = ResultsQueue(lambda: sqs_client if sqs_client is not None else boto3.client("sqs", config=_SQS_CONFIG),
                           settings.results_queue)
    job_settings = JobSettings.from_mapping(environ)
    jobs = None
    if job_settings.missing is None:
        assert job_settings.bucket is not None and job_settings.table is not None
        db = dynamodb_client if dynamodb_client is not None else boto3.client("dynamodb", config=_JOBS_CONFIG)
        jobs_s3 = s3_client if s3_client is not None else boto3.client("s3", config=_JOBS_CONFIG)
        planner = Planner(max_row_bytes=settings.max_body_bytes, chunk_rows=job_settings.chunk_rows,
                          max_chunks=job_settings.max_chunks, chunk_seconds=job_settings.chunk_seconds,
                          timeout_ms=settings.model_timeout_ms)
        jobs = JobService(
            job_settings, JobStore(db, job_settings.table),
            JobFiles(jobs_s3, job_settings.bucket, job_settings.max_bytes, job_settings.upload_seconds,
                     job_settings.link_seconds),
            ChunkQueue(lambda: sqs_client if sqs_client is not None else boto3.client("sqs", config=_JOBS_CONFIG),
                       job_settings.queue),
            service, planner, log_event)
    return Runtime(settings, service, results, jobs=jobs, jobs_off=job_settings.missing, close=registry.close)


class LazyRuntime:
    """Builds the runtime on first use, once per container.

    Settings are read then, not at import: the Chalice CLI imports ``app.py`` without
    them, and the test client applies a stage's environment only during calls. A
    misconfigured service stays up and answers 503 naming the setting.
    """

    def __init__(self, factory: Callable[[], Runtime]) -> None:
        self._lock = threading.Lock()
        self.configure(factory)

    def configure(self, factory: Callable[[], Runtime]) -> None:
        """Use ``factory`` from now on (a fresh container, as far as this app can tell)."""
        with self._lock:
            previous = getattr(self, "_runtime", None)
            if previous is not None:
                previous.close()
            self._factory = factory
            self._runtime: Optional[Runtime] = None
            self._error: Optional[str] = None

    def get(self) -> Runtime:
        runtime = self._runtime
        if runtime is not None:
            return runtime
        with self._lock:
            if self._runtime is None and self._error is None:
                try:
                    self._runtime = self._factory()
                except SettingsError as error:
                    self._error = f"service misconfigured: {error}"
            if self._runtime is None:
                raise ModelNotReady(str(self._error))
            return self._runtime

    def warm(self) -> None:
        """At cold start: read settings and load the default model; failures are remembered, not raised."""
        try:
            self.get().service.warm()
        except ModelNotReady:
            pass
