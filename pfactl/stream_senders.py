"""Sending envelopes to an SQS queue or a Kinesis stream in batches, retrying the entries that fail.

- SQS: SendMessageBatch of at most 10 messages and 256 KiB in all (SQS's limit for one message, so a
  message over it cannot be sent);
- Kinesis: PutRecords of at most 500 records and 5 MiB, each at most 1 MiB with its partition key (the
  envelope's id).

An entry the service reports as failed (SendMessageBatch's ``Failed``, PutRecords' records with an
``ErrorCode``) is sent again, with backoff, up to :data:`ATTEMPTS` times in all; SQS entries failed by the
sender's fault (a retry cannot help) are not. What still fails is reported by its rows and counted. A call
that fails as a whole (no such queue, no credentials, no connection) stops the run with a PfactlError.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, List, Protocol

from .envelopes import Envelope
from .streams_target import Target, aws_errors

ATTEMPTS = 5
FIRST_DELAY_SECONDS = 0.2  # doubles after each attempt
SQS_BATCH_ENTRIES = 10
SQS_MESSAGE_BYTES = 256 * 1024  # also the limit of a whole batch
KINESIS_BATCH_RECORDS = 500
KINESIS_BATCH_BYTES = 5 * 1024 * 1024
KINESIS_RECORD_BYTES = 1024 * 1024  # data and partition key


@dataclass(frozen=True)
class Failure:
    envelope: Envelope
    reason: str
    retryable: bool


class Destination(Protocol):
    """Where envelopes go, and its batch limits."""

    target: Target
    max_entries: int
    max_batch_bytes: int
    max_message_bytes: int

    def size(self, envelope: Envelope) -> int: ...

    def put(self, batch: List[Envelope]) -> List[Failure]:
        """Send ``batch`` in one call; the entries that failed."""
        ...


class SqsQueue:
    max_entries = SQS_BATCH_ENTRIES
    max_batch_bytes = SQS_MESSAGE_BYTES
    max_message_bytes = SQS_MESSAGE_BYTES

    def __init__(self, sqs: Any, url: str, target: Target) -> None:
        self._sqs = sqs
        self._url = url
        self.target = target

    def size(self, envelope: Envelope) -> int:
        return len(envelope.body)

    def put(self, batch: List[Envelope]) -> List[Failure]:
        entries = [{"Id": str(index), "MessageBody": envelope.body.decode("utf-8")}
                   for index, envelope in enumerate(batch)]
        with aws_errors(self.target, "send to"):
            response = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
        return [Failure(batch[int(failed["Id"])], f"{failed.get('Code', 'error')}: {failed.get('Message', '')}",
                        retryable=not failed.get("SenderFault"))
                for failed in response.get("Failed", [])]


class KinesisStream:
    max_entries = KINESIS_BATCH_RECORDS
    max_batch_bytes = KINESIS_BATCH_BYTES
    max_message_bytes = KINESIS_RECORD_BYTES

    def __init__(self, kinesis: Any, target: Target) -> None:
        self._kinesis = kinesis
        self.target = target

    def size(self, envelope: Envelope) -> int:
        return len(envelope.body) + len(str(envelope.id).encode("utf-8"))

    def put(self, batch: List[Envelope]) -> List[Failure]:
        records = [{"Data": envelope.body, "PartitionKey": str(envelope.id)} for envelope in batch]
        with aws_errors(self.target, "send to"):
            response = self._kinesis.put_records(StreamName=self.target.address, Records=records)
        if not response.get("FailedRecordCount"):
            return []
        return [Failure(envelope, f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}", retryable=True)
                for envelope, result in zip(batch, response.get("Records", []), strict=False)
                if result.get("ErrorCode")]


@dataclass
class SendCounts:
    records: int = 0  # sent
    messages: int = 0  # sent
    unsent_rows: int = 0  # rows of messages that could not be sent


class Sender:
    """Batches envelopes to ``destination`` within its limits; :meth:`add` each, then :meth:`flush` once.

    ``report`` gets one line per message that could not be sent; ``sleep`` waits between attempts.
    """

    def __init__(self, destination: Destination, report: Callable[[str], None],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._destination = destination
        self._report = report
        self._sleep = sleep
        self._batch: List[Envelope] = []
        self._batch_bytes = 0
        self.counts = SendCounts()

    def add(self, envelope: Envelope) -> None:
        destination = self._destination
        size = destination.size(envelope)
        if size > destination.max_message_bytes:
            self._unsent(envelope, f"the message is {size:,} bytes, over the {destination.target.kind}'s limit "
                                   f"of {destination.max_message_bytes:,}"
                                   + ("; lower --records-per-message" if envelope.rows > 1 else ""))
            return
        if len(self._batch) == destination.max_entries or self._batch_bytes + size > destination.max_batch_bytes:
            self.flush()
        self._batch.append(envelope)
        self._batch_bytes += size

    def flush(self) -> None:
        """Send what is batched, retrying failed entries."""
        pending, self._batch, self._batch_bytes = self._batch, [], 0
        delay = FIRST_DELAY_SECONDS
        for attempt in range(1, ATTEMPTS + 1):
            if not pending:
                return
            failures = self._destination.put(pending)
            failed = {id(failure.envelope) for failure in failures}
            for envelope in pending:
                if id(envelope) not in failed:
                    self.counts.records += envelope.rows
                    self.counts.messages += 1
            pending = []
            for failure in failures:
                if failure.retryable and attempt < ATTEMPTS:
                    pending.append(failure.envelope)
                else:
                    tries = f" (after {attempt} attempts)" if failure.retryable else ""
                    self._unsent(failure.envelope, f"{failure.reason}{tries}")
            if pending:
                self._sleep(delay)
                delay *= 2

    def _unsent(self, envelope: Envelope, reason: str) -> None:
        self.counts.unsent_rows += envelope.rows
        self._report(f"{envelope.which_rows()} not sent (message id {envelope.id}): {reason}")
