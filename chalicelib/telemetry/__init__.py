"""What operators see without reading code: one JSON log line per request and per model event
(aws-lambda-powertools' Logger), and CloudWatch metrics in the embedded metric format (its Metrics)."""

from .logs import RequestLog
from .metrics import ServiceMetrics

__all__ = ["RequestLog", "ServiceMetrics"]
