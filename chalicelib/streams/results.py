"""Results out: one JSON message per scored record on the results queue, sent ten to a call.

A result is ``{"id", "index", "source", "model", "prediction" | "error"}`` (README, "Scoring queues and
streams"), written in ASCII (JSON escapes the rest), so that SQS, which refuses some characters, takes any
result. Every result fits one SQS message: one that would not is replaced by its ``response_too_large`` error,
and so is one the queue refuses for good (a queue whose maximum message size is set lower, say).

:class:`ResultsQueue` sends them with SendMessageBatch (at most ten entries and ``MESSAGE_LIMIT_BYTES`` a call),
retries what failed for a reason that may pass while the invocation has time for it, and tells the caller
which *owners* (the source messages) could not have all their results sent, so that exactly those are retried.
"""

import json
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ResponseTooLarge, ServiceError

# SQS takes messages of up to 256 KiB (1 MiB since 2025 in most regions; the smaller bound works everywhere),
# and a SendMessageBatch call of at most that in all.
MESSAGE_LIMIT_BYTES = 256 * 1024
BATCH_ENTRIES = 10
ATTEMPTS = 3
_BACKOFF_SECONDS = (0.05, 0.2)
# A retry is only started with this much of the invocation left: one call may take the client's connect and
# read timeouts (wiring's _SQS_CONFIG) before it fails.
RETRY_NEEDS_MS = 7500


def result_message(source: Dict[str, Any], message_id: Any, index: Optional[int],
                   model: Optional[Dict[str, str]], prediction: Any = None,
                   error: Optional[ServiceError] = None) -> str:
    """One result as the JSON text of its message (a prediction, or ``error``'s body)."""
    result: Dict[str, Any] = {"id": message_id, "index": index, "source": source, "model": model}
    if error is None:
        result["prediction"] = prediction
    else:
        result["error"] = error.to_body()["error"]
    try:
        text = json.dumps(result, separators=(",", ":"))
    except MemoryError:
        text = ""
    # An error always fits: its message, the id and the source are all bounded.
    if error is None and (not text or len(text) > MESSAGE_LIMIT_BYTES):
        too_large = ResponseTooLarge(f"the prediction is over the {MESSAGE_LIMIT_BYTES // 1024} KiB that one "
                                     f"results-queue message can hold")
        return result_message(source, message_id, index, model, error=too_large)
    return text


def refused_result(text: str, reason: str) -> str:
    """What replaces a result the results queue refuses for good: the same result with that error instead."""
    result = json.loads(text)
    error = ResponseTooLarge(f"the results queue refused this result ({reason[:120]}); it could not be sent")
    return result_message(result.get("source"), result.get("id"), result.get("index"), result.get("model"),
                          error=error)


@dataclass(frozen=True)
class Outgoing:
    """A result's text, and the source message it belongs to."""

    owner: int
    body: str
    refused: bool = False  # already the replacement of a refused result


class ResultsUnavailable(Exception):
    """The results queue cannot be reached or named; the message says why (operator's terms)."""


class ResultsQueue:
    """The results queue: ``queue`` is its URL, or its name (looked up once, on first use).

    ``client`` makes the SQS client when first needed, so a container that never sends builds none.
    """

    def __init__(self, client: Callable[[], Any], queue: Optional[str],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._make_client = client
        self._client: Any = None
        self._queue = queue
        self._url = queue if queue and queue.startswith(("https://", "http://")) else None
        self._sleep = sleep

    def send(self, outgoing: Sequence[Outgoing],
             time_left_ms: Callable[[], Optional[float]] = lambda: None) -> Tuple[Set[int], Optional[str]]:
        """Send the results in order; return the owners whose results were not all sent, and why (else None).

        The first call that fails stops the sending: every result after it counts as not sent too (what
        failed once is likely to fail again at once, and a stream resumes from its first failed record).
        """
        batches = _batches(outgoing)
        for position, batch in enumerate(batches):
            unsent, why = self._send_batch(batch, time_left_ms)
            if unsent:
                failed = {entry.owner for entry in unsent}
                failed.update(entry.owner for later in batches[position + 1:] for entry in later)
                return failed, why
        return set(), None

    def _send_batch(self, batch: List[Outgoing],
                    time_left_ms: Callable[[], Optional[float]]) -> Tuple[List[Outgoing], Optional[str]]:
        pending = dict(enumerate(batch))
        why: Optional[str] = None
        for attempt in range(ATTEMPTS):
            if attempt:
                left = time_left_ms()
                if left is not None and left < RETRY_NEEDS_MS:
                    break
                self._sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS)) - 1])
            try:
                client, url = self._target()
                answer = client.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(key), "MessageBody": entry.body} for key, entry in pending.items()])
            except ResultsUnavailable as error:
                return list(pending.values()), str(error)
            except ClientError as error:
                why = f"the results queue did not take the results: {_reason(error)}"
                if not _sender_fault(error):
                    continue
                if len(pending) == 1:  # this one result is refused for good
                    refused = _replace_refused(pending, {key: _reason(error) for key in pending})
                    if refused:
                        return refused, why
                    continue
                # One entry may spoil the call: send them one by one, to find it.
                return self._send_one_by_one(list(pending.values()), time_left_ms)
            except BotoCoreError as error:
                why = f"the results queue did not take the results: {_reason(error)}"
                continue
            sent = {int(entry["Id"]) for entry in answer.get("Successful") or []}
            refusals = {int(entry["Id"]): f"{entry.get('Code', 'refused')}: {entry.get('Message', '')}"
                        for entry in answer.get("Failed") or [] if entry.get("SenderFault")}
            pending = {key: entry for key, entry in pending.items() if key not in sent}
            if not pending:
                return [], None
            why = f"the results queue refused {len(pending)} results"
            unrecoverable = _replace_refused(pending, refusals)
            if unrecoverable:
                return unrecoverable, why
        return list(pending.values()), why

    def _send_one_by_one(self, entries: List[Outgoing],
                         time_left_ms: Callable[[], Optional[float]]) -> Tuple[List[Outgoing], Optional[str]]:
        for position, entry in enumerate(entries):
            unsent, why = self._send_batch([entry], time_left_ms)
            if unsent:
                return unsent + entries[position + 1:], why
        return [], None

    def _target(self) -> Tuple[Any, str]:
        if not self._queue:
            raise ResultsUnavailable("RESULTS_QUEUE is not set: there is nowhere to send results")
        if self._client is None:
            self._client = self._make_client()
        if self._url is None:
            try:
                self._url = self._client.get_queue_url(QueueName=self._queue)["QueueUrl"]
            except (BotoCoreError, ClientError) as error:
                raise ResultsUnavailable(f"cannot find the results queue {self._queue!r}: {_reason(error)}") \
                    from None
        return self._client, str(self._url)


def _replace_refused(pending: Dict[int, Outgoing], refusals: Dict[int, str]) -> List[Outgoing]:
    """Put, in place of each result refused for good, its error; return those that were already such errors."""
    unrecoverable = []
    for key, reason in refusals.items():
        entry = pending.get(key)
        if entry is None:
            continue
        if entry.refused:
            unrecoverable.append(entry)
        else:
            pending[key] = replace(entry, body=refused_result(entry.body, reason), refused=True)
    return unrecoverable


def _batches(outgoing: Sequence[Outgoing]) -> List[List[Outgoing]]:
    batches: List[List[Outgoing]] = []
    current: List[Outgoing] = []
    size = 0
    for entry in outgoing:
        length = len(entry.body)  # ASCII: characters are bytes
        if current and (len(current) == BATCH_ENTRIES or size + length > MESSAGE_LIMIT_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(entry)
        size += length
    if current:
        batches.append(current)
    return batches


def _sender_fault(error: ClientError) -> bool:
    """A refusal of what was sent (its size or content), which sending it again would not change."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    code = str(error.response.get("Error", {}).get("Code", ""))
    if any(name in code for name in ("NonExistentQueue", "QueueDoesNotExist", "AccessDenied", "Throttl",
                                     "RequestThrottled", "KmsThrottled", "InvalidClientTokenId", "Signature")):
        return False
    return 400 <= status < 500 and status not in (403, 408, 429)


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    return str(error)
