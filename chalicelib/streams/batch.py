"""Scoring one Lambda batch of deliveries: every record answered once, only transient failures retried.

For each delivery (an SQS message or a Kinesis record), in order:

- a message that cannot be read, a record the model refuses, an unknown model, a model error: the record's
  (or the message's) error goes to the results queue, and the delivery is done - retrying would not change it;
- a transient failure (the model cannot be loaded now, the invocation's time ran out, the results queue did
  not take its results): the delivery is *failed*, none of its results are sent by this attempt, and it is
  reported back so that Lambda delivers it again.

Results are sent as they accumulate, ten to a call. Once a delivery has failed to send, the ones after it are
failed as well without being scored. ``in_order`` (Kinesis) also stops scoring at the first failed delivery:
Lambda resumes a shard from it, so everything after it comes again anyway; only the first is reported.

Why not aws-lambda-powertools' ``BatchProcessor``: it decides each record's fate when its handler returns, but
here a message is only done once its results are on the results queue, and those are sent in batches across
messages after the handler would have returned; and for Kinesis it goes on processing records after a
failure, whose results would then all be sent twice. The response shape is the same
(``{"batchItemFailures": [{"itemIdentifier": ...}]}``).
"""

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

from ..errors import InternalError, MalformedJson, ServiceError
from ..model_loader import LoadedModel
from ..scoring import ScoringService
from ..telemetry import RequestLog
from .messages import MODEL, read_message
from .results import BATCH_ENTRIES, RETRY_NEEDS_MS, Outgoing, ResultsQueue, result_message
from .sources import Delivery

# Of the invocation's remaining time, what is kept back for the last results and the answer to Lambda: enough
# for one results call to time out (RETRY_NEEDS_MS), or a third of what the invocation had, if less.
SEND_RESERVE_MS = RETRY_NEEDS_MS
PENDING_LIMIT = BATCH_ENTRIES


@dataclass
class BatchReport:
    """What became of a batch: the deliveries to retry (their ids, in order) and counts for the log."""

    failed: List[str] = field(default_factory=list)
    reason: Optional[str] = None
    deliveries: int = 0
    records: int = 0
    predictions: int = 0
    errors: int = 0

    def response(self) -> Dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": item} for item in self.failed]}


class _Transient(Exception):
    """This delivery cannot be finished now; the message says why."""


@dataclass
class BatchScorer:
    """Scores deliveries with ``service`` and sends their results to ``results``."""

    service: ScoringService
    results: ResultsQueue
    max_message_bytes: int
    max_records: int
    log: RequestLog

    def score(self, deliveries: List[Delivery], time_left_ms: Callable[[], Optional[float]],
              in_order: bool = False) -> BatchReport:
        report = BatchReport(deliveries=len(deliveries))
        models: Dict[Optional[str], Union[LoadedModel, ServiceError]] = {}
        pending: List[Outgoing] = []
        failed: Dict[int, str] = {}
        at_start = time_left_ms()
        reserve = SEND_RESERVE_MS if at_start is None else min(SEND_RESERVE_MS, at_start / 3)

        def scoring_time() -> Optional[float]:
            left = time_left_ms()
            return None if left is None else left - reserve

        send_broken = False

        def flush() -> bool:
            nonlocal send_broken
            unsent, why = self.results.send(pending, time_left_ms)
            for owner in unsent:
                failed.setdefault(owner, why or "the results were not sent")
            pending.clear()
            send_broken = send_broken or bool(unsent)
            return not unsent

        stopped: Optional[str] = None
        first = True
        for position, delivery in enumerate(deliveries):
            if stopped is not None:
                failed[position] = stopped
                continue
            left = scoring_time()
            if left is not None and left <= 0:
                stopped = failed[position] = "the invocation's time ran out before this message was scored"
                continue
            counts = [0, 0, 0]
            try:
                for text, is_error in self._answers(delivery, models, scoring_time, first):
                    pending.append(Outgoing(position, text))
                    counts[0] += 1
                    counts[2 if is_error else 1] += 1
                    if len(pending) >= PENDING_LIMIT and not flush():
                        raise _Transient("the results queue did not take this message's results")
            except _Transient as error:
                pending[:] = [entry for entry in pending if entry.owner != position]
                failed.setdefault(position, str(error))
                if in_order:
                    stopped = "an earlier record of the shard is to be retried first"
                elif send_broken:
                    stopped = "the results queue did not take an earlier message's results"
                continue
            finally:
                first = False
            report.records += counts[0]
            report.predictions += counts[1]
            report.errors += counts[2]
        if pending:
            flush()
        order = sorted(failed)
        if in_order and order:
            order = order[:1]
        report.failed = [deliveries[position].item_id for position in order]
        report.reason = failed[order[0]] if order else None
        return report

    def _answers(self, delivery: Delivery, models: Dict[Optional[str], Union[LoadedModel, ServiceError]],
                 time_left_ms: Callable[[], Optional[float]], first: bool) -> Iterator[Tuple[str, bool]]:
        """Each result text of one delivery, as it is scored, and whether it is an error; raises _Transient."""
        source = delivery.source
        if delivery.unreadable:
            yield result_message(source, None, None, None, error=MalformedJson(delivery.unreadable)), True
            return
        message = read_message(delivery.body, self.max_message_bytes, self.max_records)
        if message.error is not None:
            yield result_message(source, message.id, None, None, error=message.error), True
            return
        model = models.get(message.model)
        if model is None:
            try:
                model = self.service.model(message.model, time_left_ms())
            except ServiceError as error:
                model = _as_envelope_error(error)
            models[message.model] = model
        if isinstance(model, ServiceError):
            if model.transient:
                raise _Transient(model.message)
            for index in range(len(message.records)):
                yield result_message(source, message.id, index, None, error=model), True
            return
        identity = model.identity()
        outcomes = self.service.score_each(model, message.records, time_left_ms, first=first)
        index = 0
        while index < len(message.records):
            try:
                outcome = next(outcomes)
            except StopIteration:
                break
            except Exception as error:  # a bug: answered, never retried, so that it cannot block a queue or shard
                self.log.exception(str(source.get("message_id") or source.get("sequence_number")), error)
                for later in range(index, len(message.records)):
                    yield result_message(source, message.id, later, identity,
                                         error=InternalError("internal error while scoring this record")), True
                return
            if isinstance(outcome, ServiceError):
                if outcome.transient:
                    outcomes.close()
                    raise _Transient(outcome.message)
                yield result_message(source, message.id, index, identity, error=outcome), True
            else:
                yield result_message(source, message.id, index, identity, prediction=outcome), False
            index += 1


def _as_envelope_error(error: ServiceError) -> ServiceError:
    """A model error as a message's: it is the envelope's ``model`` field, not a route's ``name``."""
    if error.field == "name":
        error = copy.copy(error)
        error.field = MODEL
    return error


def timed(clock: Callable[[], float] = time.monotonic) -> Callable[[], float]:
    """Milliseconds since this call."""
    started = clock()
    return lambda: (clock() - started) * 1000
