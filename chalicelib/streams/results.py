"""Results out: one JSON message per scored record on the results queue, sent ten to a call.

A result is ``{"id", "index", "source", "model", "prediction" | "error"}`` (README, "Scoring queues and
streams"). Every result fits one SQS message: one that would not is replaced by its ``response_too_large``
error. :class:`ResultsQueue` sends them with SendMessageBatch (at most ten entries and
``MESSAGE_LIMIT_BYTES`` a call), retries the entries SQS turned down, and tells the caller which
*owners* (the source messages) could not have all their results sent, so that exactly those are retried.
"""

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ResponseTooLarge, ServiceError

# SQS takes messages of up to 256 KiB (1 MiB since 2025 in most regions; the smaller bound works everywhere),
# and a SendMessageBatch call of at most that in all.
MESSAGE_LIMIT_BYTES = 256 * 1024
BATCH_ENTRIES = 10
ATTEMPTS = 3
_BACKOFF_SECONDS = (0.05, 0.2)


def result_message(source: Dict[str, Any], message_id: Any, index: Optional[int],
                   model: Optional[Dict[str, str]], prediction: Any = None,
                   error: Optional[ServiceError] = None) -> str:
    """One result as the JSON text of its message (a prediction, or ``error``'s body)."""
    result: Dict[str, Any] = {"id": message_id, "index": index, "source": source, "model": model}
    if error is None:
        result["prediction"] = prediction
    else:
        result["error"] = error.to_body()["error"]
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    if error is None and len(text.encode("utf-8")) > MESSAGE_LIMIT_BYTES:
        too_large = ResponseTooLarge(f"the prediction is over the {MESSAGE_LIMIT_BYTES // 1024} KiB that one "
                                     f"results-queue message can hold")
        return result_message(source, message_id, index, model, error=too_large)
    return text


@dataclass(frozen=True)
class Outgoing:
    """A result's text, and the source message it belongs to."""

    owner: int
    body: str


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

    def send(self, outgoing: Sequence[Outgoing]) -> Tuple[Set[int], Optional[str]]:
        """Send the results in order; return the owners whose results were not all sent, and why (else None).

        The first call that fails stops the sending: every result after it counts as not sent too (what
        failed once is likely to fail again at once, and a stream resumes from its first failed record).
        """
        batches = _batches(outgoing)
        for position, batch in enumerate(batches):
            unsent, why = self._send_batch(batch)
            if unsent:
                failed = {entry.owner for entry in unsent}
                failed.update(entry.owner for later in batches[position + 1:] for entry in later)
                return failed, why
        return set(), None

    def _send_batch(self, batch: List[Outgoing]) -> Tuple[List[Outgoing], Optional[str]]:
        pending = dict(enumerate(batch))
        why: Optional[str] = None
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(_BACKOFF_SECONDS[min(attempt, len(_BACKOFF_SECONDS)) - 1])
            try:
                client, url = self._target()
                answer = client.send_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(key), "MessageBody": entry.body} for key, entry in pending.items()])
            except ResultsUnavailable as error:
                return list(pending.values()), str(error)
            except (BotoCoreError, ClientError) as error:
                why = f"the results queue did not take the results: {_reason(error)}"
                continue
            refused = answer.get("Failed") or []
            if not refused:
                return [], None
            sent = {int(entry["Id"]) for entry in answer.get("Successful") or []}
            pending = {key: entry for key, entry in pending.items() if key not in sent}
            why = f"the results queue refused {len(refused)} results: {refused[0].get('Code', 'unknown')}"
        return list(pending.values()), why

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


def _batches(outgoing: Sequence[Outgoing]) -> List[List[Outgoing]]:
    batches: List[List[Outgoing]] = []
    current: List[Outgoing] = []
    size = 0
    for entry in outgoing:
        length = len(entry.body.encode("utf-8"))
        if current and (len(current) == BATCH_ENTRIES or size + length > MESSAGE_LIMIT_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(entry)
        size += length
    if current:
        batches.append(current)
    return batches


def _reason(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
    return str(error)
