"""What the app's SQS and Kinesis handlers do with an event: score it, log one line, answer Lambda.

The answer is ``{"batchItemFailures": [...]}``, naming only the deliveries to retry. That answer only counts
when the event source mapping has ``ReportBatchItemFailures``; otherwise Lambda would take it as "all done"
and drop the failed messages. So unless ``BATCH_ITEM_FAILURES=reported`` says the mapping reports them (the
packaged template sets both), a batch with any failure raises :class:`BatchIncomplete` instead, and Lambda
retries the whole batch: its results that were sent are sent again, but nothing is lost.
"""

from typing import Any, Callable, List, Mapping, Optional

from ..errors import ServiceError
from ..telemetry import RequestLog, ServiceMetrics
from ..wiring import Runtime
from .batch import BatchReport, BatchScorer, timed
from .sources import Delivery, kinesis_deliveries, sqs_deliveries


class BatchIncomplete(Exception):
    """Raised to make Lambda retry the whole batch (the mapping does not report batch item failures)."""


def handle_queue_event(event: Mapping[str, Any], context: Any, runtime: Callable[[], Runtime],
                       log: RequestLog, metrics: ServiceMetrics) -> dict:
    return _handle("sqs", sqs_deliveries(event), context, runtime, log, metrics, in_order=False)


def handle_stream_event(event: Mapping[str, Any], context: Any, runtime: Callable[[], Runtime],
                        log: RequestLog, metrics: ServiceMetrics) -> dict:
    return _handle("kinesis", kinesis_deliveries(event), context, runtime, log, metrics, in_order=True)


def _handle(kind: str, deliveries: List[Delivery], context: Any, runtime: Callable[[], Runtime],
            log: RequestLog, metrics: ServiceMetrics, in_order: bool) -> dict:
    elapsed = timed()
    reported = False
    try:
        served = runtime()
    except ServiceError as error:
        report = BatchReport(deliveries=len(deliveries), reason=error.message,
                             failed=[delivery.item_id for delivery in deliveries][:1 if in_order else None])
    else:
        reported = served.settings.batch_item_failures_reported
        scorer = BatchScorer(served.service, served.results, served.settings.max_batch_body_bytes,
                             served.settings.max_batch_records, log)
        report = scorer.score(deliveries, _time_left(context), in_order=in_order)
    metrics.flush()
    log.event("batch_scored", level="WARNING" if report.failed else "INFO", source=kind,
              request_id=getattr(context, "aws_request_id", None), deliveries=report.deliveries,
              records=report.records, predictions=report.predictions, errors=report.errors,
              retried=len(report.failed), reason=report.reason, duration_ms=round(elapsed(), 3))
    if report.failed and not reported:
        raise BatchIncomplete(
            f"{len(report.failed)} of {len(deliveries)} deliveries must be retried ({report.reason}); "
            f"BATCH_ITEM_FAILURES is not 'reported', so the whole batch is failed and will be retried")
    return report.response()


def _time_left(context: Any) -> Callable[[], Optional[float]]:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: None
    return lambda: float(remaining())
