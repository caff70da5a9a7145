"""Lambda's event source mappings for SQS and Kinesis, emulated: poll a real (local) queue or stream and call a
handler with the events Lambda would send it. Local use only; nothing deployed imports this.

Contract: `SqsDelivery(handler, sqs, SqsMapping(...), function)` and `KinesisDelivery(handler, kinesis,
KinesisMapping(...), function)` poll from threads between `start()` and `stop()` and call
`handler(event, context)` one batch at a time, as one Lambda poller would:

- SQS: ReceiveMessage (at most 10 a call, every attribute), gathered up to `batch_size` messages or until
  `maximum_batching_window_in_seconds` has passed since the first (window 0: what one call returned), and at
  most Lambda's 6 MB payload. The event is Lambda's (`Records` of messageId, receiptHandle, body,
  attributes, messageAttributes, md5OfBody, eventSource, eventSourceARN, awsRegion). A raise, a timeout
  (longer than the function's timeout) or a response that is not JSON deletes nothing: the messages come
  back after the queue's visibility timeout, and the queue's redrive policy moves them to its dead-letter
  queue. Otherwise, with `report_batch_item_failures`, every message but those in `batchItemFailures` is
  deleted; a malformed response or an itemIdentifier that is not in the batch fails the whole batch.
  Without it, any return deletes them all.
- Kinesis: one poller per shard, from the mapping's starting position (LATEST: after `start()`; a restart
  continues where the delivery was), GetRecords up to `batch_size` with the same window and payload rules,
  once a second while the shard has nothing new (`idle_poll_seconds`, as Lambda). A failed batch (raise,
  timeout, malformed response, unknown itemIdentifier) is retried as it was after `retry_backoff_seconds`;
  reported failures resume at the lowest reported sequence number (compared as integers).
  `maximum_retry_attempts` (-1: until it succeeds, Lambda's default) bounds the retries of a batch, after
  which it is skipped. Otherwise the poller continues after the batch.

The context is the Python runtime's (`get_remaining_time_in_millis()` from the function's timeout,
`function_name`, `aws_request_id`, `memory_limit_in_mb` (a string, as on Lambda), `invoked_function_arn`).
`delivery_for(app, handler, client)` reads the mapping from the Chalice app's `event_sources` and the
function's timeout and memory from .chalice/config.json, so the local run batches as the deployed one does;
`source=` points it at another queue or stream with the same settings (tests use their own). `counters`
counts records received, invocations, records delivered, reported failures, whole-batch failures and
redeliveries. `wait_until_idle(timeout)` waits until everything sent before the call has been delivered and
settled (SQS: the queue holds nothing, visible or in flight; Kinesis: each shard read to its end since).
A handler's exception is logged in one line and never stops a poller; nor does an error from the queue or
stream (logged, retried after a second).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError
from chalice.app import Chalice, KinesisEventConfig, SQSEventConfig

from devtools.chalice_stage import PROJECT_DIR, FunctionSettings, function_settings

LOG = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any], Any], Any]
ClientFactory = Callable[[str], BaseClient]

ACCOUNT_ID = "123456789012"  # moto's account
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload
SQS_MAX_MESSAGES_PER_RECEIVE = 10
SQS_DELETE_BATCH = 10
MAX_BATCH_SIZE = 10000
MAX_BATCHING_WINDOW_SECONDS = 300
STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST")
_ERROR_PAUSE_SECONDS = 1.0
_NO_QUEUE = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class EventDeliveryError(RuntimeError):
    """A mapping Lambda would refuse, or a handler without an SQS or Kinesis event source in its app."""


@dataclass(frozen=True)
class FunctionInfo:
    """What Lambda tells a function about itself: its name, timeout, memory size, region and role."""

    name: str
    timeout_seconds: float
    memory_mb: int
    region: str
    account_id: str = ACCOUNT_ID
    role_name: str = "lambda-role"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.name}"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"

    @classmethod
    def from_settings(cls, settings: FunctionSettings, region: str) -> FunctionInfo:
        # Chalice names the stage's role <app_name>-<stage>, the function <app_name>-<stage>-<handler>.
        role = settings.name.removesuffix(f"-{settings.handler_name}")
        return cls(name=settings.name, timeout_seconds=settings.timeout_seconds, memory_mb=settings.memory_mb,
                   region=region, role_name=role)


class LambdaContext:
    """The `context` of the Python runtime (awslambdaric's LambdaContext), for one invocation."""

    def __init__(self, function: FunctionInfo, request_id: str | None = None) -> None:
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = str(function.memory_mb)  # the runtime reads it from the environment: a string
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.time() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


@dataclass
class DeliveryCounters:
    """What a delivery has done so far."""

    records_received: int = 0  # messages received from the queue, records read from the stream
    invocations: int = 0
    records_delivered: int = 0  # records in invocations, redeliveries included
    failures_reported: int = 0  # itemIdentifiers in accepted batchItemFailures
    whole_batch_failures: int = 0  # invocations that raised, timed out or answered a malformed response
    redeliveries: int = 0  # records delivered again after an earlier delivery


@dataclass(frozen=True)
class Outcome:
    """How an invocation ended: `failed` is None when the whole batch failed, else the reported identifiers."""

    failed: tuple[str, ...] | None

    @property
    def whole_batch_failed(self) -> bool:
        return self.failed is None


def batch_item_failures(response: Any, identifiers: list[str]) -> tuple[str, ...] | None:
    """The identifiers a handler reported as failed, or None when its response fails the whole batch.

    As Lambda reads it: no response, no `batchItemFailures` or an empty list is success; a response that is
    not an object, a list that is not a list, an item without a non-empty string `itemIdentifier`, or an
    identifier that is not in the batch is a failure of the whole batch.
    """
    if response is None:
        return ()
    if not isinstance(response, dict):
        return None
    items = response.get("batchItemFailures")
    if items is None:
        return ()
    if not isinstance(items, list):
        return None
    known = set(identifiers)
    failed: list[str] = []
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.append(identifier)
    return tuple(failed)


def invoke(handler: Handler, event: dict[str, Any], function: FunctionInfo, identifiers: list[str],
           report_batch_item_failures: bool) -> Outcome:
    """Call `handler` as Lambda does and read its answer; a failure is logged in one line."""
    context = LambdaContext(function)
    started = time.monotonic()
    count = len(event["Records"])
    try:
        # Lambda serialises the response: one that is not JSON is a failed invocation (Runtime.MarshalError).
        response = json.loads(json.dumps(handler(event, context)))
    except Exception as error:  # any exception fails the invocation, as on Lambda
        LOG.error("%s (request %s) raised %s: %s; the whole batch of %d failed", function.name,
                  context.aws_request_id, type(error).__name__, str(error).splitlines()[0] if str(error) else "",
                  count)
        return Outcome(failed=None)
    elapsed = time.monotonic() - started
    if elapsed > function.timeout_seconds:
        LOG.error("%s (request %s) timed out: %.1f s, its timeout is %s s; the whole batch of %d failed",
                  function.name, context.aws_request_id, elapsed, function.timeout_seconds, count)
        return Outcome(failed=None)
    if not report_batch_item_failures:
        return Outcome(failed=())
    failed = batch_item_failures(response, identifiers)
    if failed is None:
        LOG.error("%s (request %s) answered a malformed batchItemFailures response (%.200s); the whole batch "
                  "of %d failed", function.name, context.aws_request_id, json.dumps(response), count)
    return Outcome(failed=failed)


def _event_size(records: list[dict[str, Any]]) -> int:
    return sum(len(json.dumps(record)) + 2 for record in records) + len('{"Records": []}')


def _check_batching(batch_size: int, window: float) -> None:
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise EventDeliveryError(f"batch size must be 1 to {MAX_BATCH_SIZE}, got {batch_size}")
    if not 0 <= window <= MAX_BATCHING_WINDOW_SECONDS:
        raise EventDeliveryError(f"the batching window must be 0 to {MAX_BATCHING_WINDOW_SECONDS} s, got {window}")


def run_until_stopped(stopping: threading.Event, target: Callable[[], None]) -> None:
    """Call ``target`` again and again until ``stopping`` is set; an AWS error or a bug pauses, then goes on."""
    while not stopping.is_set():
        try:
            target()
        except (ClientError, BotoCoreError) as error:
            LOG.warning("%s: %s; polling again in %.0f s", threading.current_thread().name, error,
                        _ERROR_PAUSE_SECONDS)
            stopping.wait(_ERROR_PAUSE_SECONDS)
        except Exception:  # a bug here must not end the delivery silently
            LOG.exception("%s failed; polling again in %.0f s", threading.current_thread().name, _ERROR_PAUSE_SECONDS)
            stopping.wait(_ERROR_PAUSE_SECONDS)


class _Delivery:
    """Threads, counters and idle detection shared by the SQS and Kinesis deliveries."""

    def __init__(self, handler: Handler, function: FunctionInfo) -> None:
        self.handler = handler
        self.function = function
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._counters = DeliveryCounters()

    @property
    def counters(self) -> DeliveryCounters:
        """A snapshot of the counters."""
        with self._lock:
            return replace(self._counters)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        if self.running:
            raise EventDeliveryError("this delivery is already running")
        self._stopping.clear()
        self._threads = [threading.Thread(target=self._run_poller, args=(target,), name=name, daemon=True)
                         for name, target in self._pollers()]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop polling; an invocation in progress finishes first (up to `timeout`). Idempotent."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wait_until_idle(self, timeout: float = 30) -> bool:
        """True once everything sent before this call has been delivered and settled, False after `timeout`."""
        if not self.running:
            raise EventDeliveryError("wait_until_idle() needs a started delivery")
        since = time.monotonic()
        deadline = since + timeout
        while not self._idle(since):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _count(self, **increments: int) -> None:
        with self._lock:
            for name, increment in increments.items():
                setattr(self._counters, name, getattr(self._counters, name) + increment)

    def _run_poller(self, target: Callable[[], None]) -> None:
        run_until_stopped(self._stopping, target)

    def _pollers(self) -> list[tuple[str, Callable[[], None]]]:
        raise NotImplementedError

    def _idle(self, since: float) -> bool:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------------------------
# SQS
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqsMapping:
    """An SQS event source mapping: the queue and how to batch its messages."""

    queue_url: str
    queue_arn: str
    batch_size: int = 10
    maximum_batching_window_in_seconds: float = 0
    report_batch_item_failures: bool = True  # FunctionResponseTypes ReportBatchItemFailures (the template's)


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message as a record of Lambda's SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {name: _message_attribute(value)
                              for name, value in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message["MD5OfBody"],
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record.update({"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region})
    return record


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute in the lower-camel shape of Lambda's event; binary values base64-encoded."""
    shaped: dict[str, Any] = {}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = _b64(value["BinaryValue"])
    shaped["stringListValues"] = list(value.get("StringListValues", []))
    shaped["binaryListValues"] = [_b64(item) for item in value.get("BinaryListValues", [])]
    shaped["dataType"] = value["DataType"]
    return shaped


class SqsDelivery(_Delivery):
    """One SQS event source mapping with one poller; see the module's contract."""

    def __init__(self, handler: Handler, sqs: BaseClient, mapping: SqsMapping, function: FunctionInfo, *,
                 poll_wait_seconds: int = 1) -> None:
        _check_batching(mapping.batch_size, mapping.maximum_batching_window_in_seconds)
        if mapping.batch_size > SQS_MAX_MESSAGES_PER_RECEIVE and mapping.maximum_batching_window_in_seconds < 1:
            # CreateEventSourceMapping refuses it too.
            raise EventDeliveryError("an SQS batch size over 10 needs a batching window of at least 1 s")
        super().__init__(handler, function)
        self.sqs = sqs
        self.mapping = mapping
        self.poll_wait_seconds = poll_wait_seconds
        self._carried: list[dict[str, Any]] = []  # received, but over the payload limit of the last batch
        self._busy = False

    def _pollers(self) -> list[tuple[str, Callable[[], None]]]:
        return [(f"sqs-delivery:{self.mapping.queue_url.rsplit('/', 1)[-1]}", self._poll_once)]

    def _poll_once(self) -> None:
        batch = self._gather()
        if batch:
            self._deliver(batch)
        self._busy = bool(self._carried)

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(QueueUrl=self.mapping.queue_url, MaxNumberOfMessages=count,
                                            WaitTimeSeconds=wait, AttributeNames=["All"],
                                            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
        return list(response.get("Messages", []))

    def _gather(self) -> list[dict[str, Any]]:
        window = self.mapping.maximum_batching_window_in_seconds
        batch, self._carried = self._carried, []
        records = [self._record(message) for message in batch]
        deadline = time.monotonic() + window
        while not self._stopping.is_set() and len(batch) < self.mapping.batch_size:
            if batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or window == 0:
                    break
                wait = min(self.poll_wait_seconds, int(remaining))
            else:
                wait = self.poll_wait_seconds
            messages = self._receive(min(SQS_MAX_MESSAGES_PER_RECEIVE, self.mapping.batch_size - len(batch)), wait)
            if not messages:
                if not batch:
                    return []
                if wait == 0:
                    self._stopping.wait(min(0.05, max(0.0, deadline - time.monotonic())))
                continue
            if not batch:
                self._busy = True
                deadline = time.monotonic() + window
            self._count(records_received=len(messages))
            for message in messages:
                record = self._record(message)
                if records and _event_size([*records, record]) > MAX_PAYLOAD_BYTES:
                    self._carried.append(message)
                else:
                    batch.append(message)
                    records.append(record)
            if self._carried:
                break
        return batch

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return sqs_record(message, self.mapping.queue_arn, self.function.region)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        ids = [message["MessageId"] for message in batch]
        event = {"Records": [self._record(message) for message in batch]}
        again = sum(int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1")) > 1 for message in batch)
        outcome = invoke(self.handler, event, self.function, ids, self.mapping.report_batch_item_failures)
        self._count(invocations=1, records_delivered=len(batch), redeliveries=again,
                    whole_batch_failures=int(outcome.whole_batch_failed),
                    failures_reported=len(outcome.failed or ()))
        if outcome.failed is None:
            return  # nothing deleted: every message comes back after the visibility timeout
        failed = set(outcome.failed)
        self._delete([message for message in batch if message["MessageId"] not in failed])

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_DELETE_BATCH):
            chunk = messages[start:start + SQS_DELETE_BATCH]
            entries = [{"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                       for number, message in enumerate(chunk)]
            try:
                response = self.sqs.delete_message_batch(QueueUrl=self.mapping.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as error:
                LOG.warning("%s: could not delete %d messages (%s); they will be delivered again",
                            self.function.name, len(chunk), error)
                continue
            for failure in response.get("Failed", []):
                LOG.warning("%s: could not delete a message (%s: %s); it will be delivered again",
                            self.function.name, failure.get("Code"), failure.get("Message"))

    def _idle(self, since: float) -> bool:
        if self._busy:
            return False
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.mapping.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                            "ApproximateNumberOfMessagesDelayed"])["Attributes"]
        return not self._busy and all(int(value) == 0 for value in attributes.values())


# ---------------------------------------------------------------------------------------------------------------
# Kinesis
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KinesisMapping:
    """A Kinesis event source mapping: the stream, where to start, how to batch, how often to retry."""

    stream_name: str
    stream_arn: str
    batch_size: int = 100
    starting_position: str = "LATEST"
    maximum_batching_window_in_seconds: float = 0
    report_batch_item_failures: bool = True
    maximum_retry_attempts: int = -1  # -1: until the batch succeeds (Lambda: until the records expire)


def kinesis_record(record: dict[str, Any], shard_id: str, stream_arn: str, region: str,
                   invoke_identity_arn: str) -> dict[str, Any]:
    """A GetRecords record as a record of Lambda's Kinesis event."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": _b64(record["Data"]),
            "approximateArrivalTimestamp": round(record["ApproximateArrivalTimestamp"].timestamp(), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": invoke_identity_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class _ShardPoller:
    """The poller of one shard: its iterator, its pending retry and what it has delivered."""

    def __init__(self, delivery: KinesisDelivery, shard_id: str, iterator: str | None) -> None:
        self.delivery = delivery
        self.shard_id = shard_id
        self.iterator = iterator
        self.last_read: str | None = None  # sequence number of the last record read
        self.highest_delivered = -1
        self.retry: list[dict[str, Any]] | None = None  # a batch to invoke again as it was
        self.attempts = 0  # failed invocations of the batch that starts at `failing_from`
        self.failing_from: str | None = None
        self.busy = False  # records read and not yet settled
        self.empty_read_started = float("-inf")  # when the last GetRecords that found nothing left to do began

    def poll_once(self) -> None:
        delivery = self.delivery
        if self.iterator is None and self.retry is None:  # a closed shard, read to its end
            delivery._stopping.wait(delivery.idle_poll_seconds)
            self.empty_read_started = time.monotonic()
            return
        batch = self.retry if self.retry is not None else self._gather()
        if not batch:
            return
        self.retry = None
        ids = [record["SequenceNumber"] for record in batch]
        event = {"Records": [self._record(record) for record in batch]}
        again = sum(int(number) <= self.highest_delivered for number in ids)
        self.highest_delivered = max(self.highest_delivered, *(int(number) for number in ids))
        mapping = delivery.mapping
        outcome = invoke(delivery.handler, event, delivery.function, ids, mapping.report_batch_item_failures)
        delivery._count(invocations=1, records_delivered=len(batch), redeliveries=again,
                        whole_batch_failures=int(outcome.whole_batch_failed),
                        failures_reported=len(outcome.failed or ()))
        if outcome.failed == ():
            self._settled()
            return
        retry_from = ids[0] if outcome.failed is None else min(outcome.failed, key=int)
        self.attempts = self.attempts + 1 if retry_from == self.failing_from else 1
        self.failing_from = retry_from
        if 0 <= mapping.maximum_retry_attempts < self.attempts:
            LOG.error("%s: %s, records %s to %s failed %d times: skipped (MaximumRetryAttempts %d)",
                      delivery.function.name, self.shard_id, retry_from, ids[-1], self.attempts,
                      mapping.maximum_retry_attempts)
            self._settled()
            return
        if outcome.failed is None:
            self.retry = batch
        else:
            self.iterator = delivery._iterator(self.shard_id, "AT_SEQUENCE_NUMBER", retry_from)
        delivery._stopping.wait(delivery.retry_backoff_seconds)

    def _settled(self) -> None:
        self.attempts = 0
        self.failing_from = None
        self.busy = False

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        delivery = self.delivery
        return kinesis_record(record, self.shard_id, delivery.mapping.stream_arn, delivery.function.region,
                              delivery.function.role_arn)

    def _get_records(self, limit: int) -> list[dict[str, Any]]:
        delivery = self.delivery
        while True:
            assert self.iterator is not None
            try:
                response = delivery.kinesis.get_records(ShardIterator=self.iterator, Limit=limit)
                break
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                    raise
            # Iterators expire after five minutes: continue where this poller was.
            if self.last_read is not None:
                self.iterator = delivery._iterator(self.shard_id, "AFTER_SEQUENCE_NUMBER", self.last_read)
            else:
                self.iterator = delivery._iterator(self.shard_id, delivery.mapping.starting_position)
        self.iterator = response.get("NextShardIterator")
        records = list(response.get("Records", []))
        if records:
            self.last_read = records[-1]["SequenceNumber"]
            delivery._count(records_received=len(records))
        return records

    def _gather(self) -> list[dict[str, Any]]:
        delivery = self.delivery
        mapping = delivery.mapping
        window = mapping.maximum_batching_window_in_seconds
        batch: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + window
        while not delivery._stopping.is_set() and self.iterator is not None:
            started = time.monotonic()
            records = self._get_records(mapping.batch_size - len(batch))
            if not records and not batch:
                self.busy = False
                self.empty_read_started = started
                delivery._stopping.wait(delivery.idle_poll_seconds)
                return []
            if records and not batch:
                self.busy = True
                deadline = time.monotonic() + window
            for record in records:
                event_record = self._record(record)
                if events and _event_size([*events, event_record]) > MAX_PAYLOAD_BYTES:
                    # The rest goes into the next batch, read again from here.
                    self.iterator = delivery._iterator(self.shard_id, "AT_SEQUENCE_NUMBER", record["SequenceNumber"])
                    return batch
                batch.append(record)
                events.append(event_record)
            remaining = deadline - time.monotonic()
            if len(batch) >= mapping.batch_size or window == 0 or remaining <= 0:
                break
            if not records:
                delivery._stopping.wait(min(delivery.idle_poll_seconds, remaining))
        return batch


class KinesisDelivery(_Delivery):
    """One Kinesis event source mapping: one poller per shard; see the module's contract."""

    def __init__(self, handler: Handler, kinesis: BaseClient, mapping: KinesisMapping, function: FunctionInfo, *,
                 idle_poll_seconds: float = 1.0, retry_backoff_seconds: float = 0.5) -> None:
        _check_batching(mapping.batch_size, mapping.maximum_batching_window_in_seconds)
        if mapping.starting_position not in STARTING_POSITIONS:
            raise EventDeliveryError(f"starting position must be one of {', '.join(STARTING_POSITIONS)}, "
                                     f"got {mapping.starting_position!r}")
        super().__init__(handler, function)
        self.kinesis = kinesis
        self.mapping = mapping
        self.idle_poll_seconds = idle_poll_seconds
        self.retry_backoff_seconds = retry_backoff_seconds
        self._shards: list[_ShardPoller] = []

    def start(self) -> None:
        # Iterators are taken here, not in the threads: LATEST then means "after start() returned". A shard
        # polled before (start after stop) continues where it was, as a mapping's checkpoint does.
        known = {shard.shard_id: shard for shard in self._shards}
        shards = self.kinesis.list_shards(StreamName=self.mapping.stream_name)["Shards"]
        self._shards = [known.get(shard["ShardId"])
                        or _ShardPoller(self, shard["ShardId"],
                                        self._iterator(shard["ShardId"], self.mapping.starting_position))
                        for shard in shards]
        super().start()

    def _iterator(self, shard_id: str, kind: str, sequence_number: str | None = None) -> str:
        options = {"StartingSequenceNumber": sequence_number} if sequence_number is not None else {}
        return str(self.kinesis.get_shard_iterator(StreamName=self.mapping.stream_name, ShardId=shard_id,
                                                   ShardIteratorType=kind, **options)["ShardIterator"])

    def _pollers(self) -> list[tuple[str, Callable[[], None]]]:
        return [(f"kinesis-delivery:{self.mapping.stream_name}:{shard.shard_id}", shard.poll_once)
                for shard in self._shards]

    def _idle(self, since: float) -> bool:
        # A GetRecords begun after `since` found nothing, and nothing read is unsettled.
        return all(not shard.busy and shard.retry is None and shard.empty_read_started >= since
                   for shard in self._shards)


# ---------------------------------------------------------------------------------------------------------------
# From a Chalice app
# ---------------------------------------------------------------------------------------------------------------


def event_source(app: Chalice, handler: Handler) -> SQSEventConfig | KinesisEventConfig:
    """The SQS or Kinesis event source the app registered for `handler` (matched by its function name)."""
    names = {name for name, registered in app.handler_map.items() if registered is handler}
    for config in app.event_sources:
        if config.name in names and isinstance(config, (SQSEventConfig, KinesisEventConfig)):
            return config
    raise EventDeliveryError(f"{getattr(handler, '__name__', handler)!r} has no SQS or Kinesis event source in "
                             f"the app {app.app_name!r}")


def delivery_for(app: Chalice, handler: Handler, client: ClientFactory, *, stage: str = "dev",
                 project_dir: Path = PROJECT_DIR, report_batch_item_failures: bool = True,
                 function: FunctionInfo | None = None, source: str | None = None,
                 **options: Any) -> SqsDelivery | KinesisDelivery:
    """The delivery of `handler`'s event source in `app`, with the deployed function's timeout and memory.

    `client(service)` builds the sqs or kinesis client (e.g. LocalAws.client). `source` (a queue URL, or a
    stream name) polls another queue or stream than the decorator names, with the same settings. `options` go
    to the delivery (poll_wait_seconds, idle_poll_seconds, retry_backoff_seconds).
    """
    config = event_source(app, handler)
    if isinstance(config, SQSEventConfig):
        sqs = client("sqs")
        try:
            if source is not None:
                url = source
            elif config.queue_arn:
                name = config.queue_arn.rsplit(":", 1)[-1]
                owner = config.queue_arn.split(":")[4]
                url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=owner)["QueueUrl"]
            else:
                url = sqs.get_queue_url(QueueName=config.queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _NO_QUEUE:
                raise
            raise EventDeliveryError(f"{config.name}: there is no queue {source or config.queue or config.queue_arn} "
                                     f"at {sqs.meta.endpoint_url}") from None
        function = function or FunctionInfo.from_settings(function_settings(stage, config.name, project_dir),
                                                          sqs.meta.region_name)
        mapping = SqsMapping(queue_url=url, queue_arn=arn, batch_size=config.batch_size,
                             maximum_batching_window_in_seconds=config.maximum_batching_window_in_seconds,
                             report_batch_item_failures=report_batch_item_failures)
        return SqsDelivery(handler, sqs, mapping, function, **options)
    kinesis = client("kinesis")
    stream = source or config.stream
    try:
        arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        raise EventDeliveryError(f"{config.name}: there is no stream {stream} at {kinesis.meta.endpoint_url}") from None
    function = function or FunctionInfo.from_settings(function_settings(stage, config.name, project_dir),
                                                      kinesis.meta.region_name)
    stream_mapping = KinesisMapping(stream_name=stream, stream_arn=arn, batch_size=config.batch_size,
                                    starting_position=config.starting_position,
                                    maximum_batching_window_in_seconds=config.maximum_batching_window_in_seconds,
                                    report_batch_item_failures=report_batch_item_failures)
    return KinesisDelivery(handler, kinesis, stream_mapping, function, **options)
