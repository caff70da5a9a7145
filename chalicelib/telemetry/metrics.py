"""CloudWatch metrics per model and version, in the embedded metric format, through powertools' Metrics.

Each call writes its metrics as one JSON line on stdout, which CloudWatch Logs turns into metrics
(namespace ``POWERTOOLS_METRICS_NAMESPACE``, default ``PfaServing``; dimensions ``model`` and
``version``, and ``code`` for errors). Every line is its own metric set (``EphemeralMetrics``), so
concurrent requests for different models never share dimensions.

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
from typing import Dict, Optional

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE_VARIABLE = "POWERTOOLS_METRICS_NAMESPACE"
DEFAULT_NAMESPACE = "PfaServing"
SERVICE = "pfa-serving"
NO_MODEL = "-"
_MODEL_EVENTS = {"model_loaded": "ModelLoads", "model_updated": "ModelUpdates",
                 "model_update_failed": "FailedUpdates", "model_load_failed": "LoadFailures",
                 "model_removed": "ModelRemovals"}


class ServiceMetrics:
    """Emits the service's metrics; ``namespace`` defaults to the environment's, then ``PfaServing``."""

    def __init__(self, namespace: Optional[str] = None) -> None:
        self.namespace = namespace or os.environ.get(NAMESPACE_VARIABLE) or DEFAULT_NAMESPACE
        self._cold = True
        self._lock = threading.Lock()

    def request(self, model: Optional[str], version: Optional[str], latency_ms: float,
                error_code: Optional[str]) -> None:
        with self._lock:
            cold, self._cold = self._cold, False
        metrics = self._set(model, version)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if cold:
            metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        if error_code is not None:
            self._count("Errors", model, version, code=error_code)

    def scored(self, model: str, version: str, records: int, engine_ms: float,
               record_errors: Dict[str, int]) -> None:
        metrics = self._set(model, version)
        metrics.add_metric(name="Records", unit=MetricUnit.Count, value=records)
        metrics.add_metric(name="EngineTime", unit=MetricUnit.Milliseconds, value=engine_ms)
        metrics.flush_metrics()
        for code, count in record_errors.items():
            self._count("RecordErrors", model, version, count, code=code)

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
