"""CloudWatch metrics per model and version, in the embedded metric format, through powertools' Metrics.

Each request writes its metrics as one JSON line on stdout, which CloudWatch Logs turns into metrics
(namespace ``POWERTOOLS_METRICS_NAMESPACE``, default ``PfaServing``; dimensions ``model`` and
``version``, and ``code`` for errors, which take lines of their own). Every line is its own metric set
(``EphemeralMetrics``), so concurrent requests for different models never share dimensions. What the
scoring reports (``scored``) waits, per thread, for the request's own line (``request``), or for
``flush`` where there is no request.

| metric | unit | when |
| --- | --- | --- |
| ``Requests``, ``Latency`` | count, ms | every request (``model`` ``-`` when none answered it) |
| ``Errors`` | count | every error answer, with ``code`` |
| ``Records``, ``EngineTime`` | count, ms | records a model scored in a request, and the engine's time on them |
| ``RecordErrors`` | count | records of a batch that got an error, with ``code`` |
| ``ColdStart`` | count | the first request of a container |
| ``ModelLoads``, ``ModelUpdates``, ``FailedUpdates``, ``LoadFailures``, ``ModelRemovals`` | count | model events |
"""

import os
import threading
from typing import Dict, Optional, Tuple

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "PfaServing"
SERVICE = "pfa-serving"
NO_MODEL = "-"
_MODEL_EVENTS = {"model_loaded": "ModelLoads", "model_updated": "ModelUpdates",
                 "model_update_failed": "FailedUpdates", "model_load_failed": "LoadFailures",
                 "model_removed": "ModelRemovals"}


# What scoring reported, per thread, until the request's line: shared by every instance, since the routes'
# middleware and the scoring service may each have their own.
_PENDING = threading.local()


class ServiceMetrics:
    """Emits the service's metrics; ``namespace`` defaults to the environment's, then ``PfaServing``."""

    def __init__(self, namespace: Optional[str] = None) -> None:
        self.namespace = namespace or os.environ.get(NAMESPACE_VARIABLE) or DEFAULT_NAMESPACE
        self._cold = True
        self._lock = threading.Lock()
        self._pending = _PENDING

    def request(self, model: Optional[str], version: Optional[str], latency_ms: float,
                error_code: Optional[str]) -> None:
        with self._lock:
            cold, self._cold = self._cold, False
        scored = self._take_scored()
        metrics = self._set(model, version)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if cold:
            metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
        if scored is not None and scored[:2] == (model, version):
            self._add_scored(metrics, *scored[2:])
            scored = None
        metrics.flush_metrics()
        if scored is not None:
            self._write_scored(*scored)
        if error_code is not None:
            self._count("Errors", model, version, code=error_code)

    def scored(self, model: str, version: str, records: int, engine_ms: float,
               record_errors: Dict[str, int]) -> None:
        """Records a model scored and the engine's time on them; written with this thread's next request
        line. Records that got an error are written at once, by code."""
        previous = self._take_scored()
        if previous is not None and previous[:2] == (model, version):
            records, engine_ms = records + previous[2], engine_ms + previous[3]
        elif previous is not None:
            self._write_scored(*previous)
        self._pending.scored = (model, version, records, engine_ms)
        for code, count in record_errors.items():
            self._count("RecordErrors", model, version, count, code=code)

    def flush(self) -> None:
        """Write what ``scored`` holds for this thread (for callers without a request line)."""
        scored = self._take_scored()
        if scored is not None:
            self._write_scored(*scored)

    def _take_scored(self) -> Optional[Tuple[str, str, int, float]]:
        scored = getattr(self._pending, "scored", None)
        self._pending.scored = None
        return scored

    def _write_scored(self, model: str, version: str, records: int, engine_ms: float) -> None:
        metrics = self._set(model, version)
        self._add_scored(metrics, records, engine_ms)
        metrics.flush_metrics()

    @staticmethod
    def _add_scored(metrics: EphemeralMetrics, records: int, engine_ms: float) -> None:
        metrics.add_metric(name="Records", unit=MetricUnit.Count, value=records)
        metrics.add_metric(name="EngineTime", unit=MetricUnit.Milliseconds, value=engine_ms)

    def model_event(self, event: str, model: Optional[str], version: Optional[str]) -> None:
        name = _MODEL_EVENTS.get(event)
        if name is not None:
            self._count(name, model, version)

    def _count(self, name: str, model: Optional[str], version: Optional[str], value: float = 1,
               code: Optional[str] = None) -> None:
        metrics = self._set(model, version)
        if code is not None:
            metrics.add_dimension(name="code", value=code)
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        metrics.flush_metrics()

    def _set(self, model: Optional[str], version: Optional[str]) -> EphemeralMetrics:
        metrics = EphemeralMetrics(namespace=self.namespace, service=SERVICE)
        metrics.add_dimension(name="model", value=model or NO_MODEL)
        metrics.add_dimension(name="version", value=version or NO_MODEL)
        return metrics
