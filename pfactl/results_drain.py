"""Draining the results queue into JSON lines: one result message's body a line, as received, each message
deleted from the queue only after its line has been written and flushed.

A result is identified by ``(source.message_id, index)``, or for a stream ``(source.shard and
source.sequence_number, index)`` (the service delivers at least once, so the same result can arrive twice); a
body without such a source is always new. The drain
stops once ``expect`` distinct results are written (what else it received goes back to the queue at once),
or when nothing has arrived for ``idle_seconds``. With ``dedupe``, a result already written is deleted
without being written again. A message that is not JSON is neither written nor deleted (it comes back
after the queue's visibility timeout), and reported once.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Hashable, List, Optional, Set, TextIO, Tuple

from .streams_target import Target, aws_errors

RECEIVE_MAX = 10
POLL_SECONDS = 2  # each ReceiveMessage waits at most this long for a message
DELETE_ATTEMPTS = 3
FIRST_DELAY_SECONDS = 0.2


@dataclass
class DrainCounts:
    written: int = 0  # lines written
    distinct: int = 0  # of those, results not written before
    duplicates: int = 0  # results received again (written again, or dropped with dedupe)
    dropped: int = 0  # duplicates deleted without being written (dedupe)
    predictions: int = 0  # written lines with a prediction
    errors: int = 0  # written lines with an error
    not_json: int = 0  # messages left on the queue
    undeleted: int = 0  # written, but could not be deleted: they will come back


def result_key(result: Any) -> Optional[Tuple[str, Hashable]]:
    """``(source message id, index)``, or ``("<shard>:<sequence number>", index)``; None when the body does not say."""
    if not isinstance(result, dict) or not isinstance(result.get("source"), dict):
        return None
    source = result["source"]
    identifier = source.get("message_id")
    if identifier is None and isinstance(source.get("sequence_number"), str):
        # A sequence number is unique within its shard only.
        identifier = f"{source.get('shard')}:{source['sequence_number']}"
    index = result.get("index")
    if not isinstance(identifier, str) or not (index is None or isinstance(index, int)):
        return None
    return identifier, index


class ResultsDrain:
    """Drains ``url`` (of ``target``) into ``output``; ``sync`` makes the written lines durable (flush)."""

    def __init__(self, sqs: Any, url: str, target: Target, output: TextIO, *, sync: Callable[[], None],
                 warn: Callable[[str], None], on_progress: Callable[[DrainCounts], None],
                 expect: Optional[int] = None, idle_seconds: float = 10, dedupe: bool = False,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sqs = sqs
        self._url = url
        self._target = target
        self._output = output
        self._sync = sync
        self._warn = warn
        self._on_progress = on_progress
        self._expect = expect
        self._idle_seconds = idle_seconds
        self._dedupe = dedupe
        self._clock = clock
        self._sleep = sleep
        self._written: Set[Tuple[str, Hashable]] = set()
        self._not_json: Set[str] = set()
        self.counts = DrainCounts()
        self.went_idle = False

    def run(self) -> DrainCounts:
        last_received = self._clock()
        while not self._done():
            idle_for = self._clock() - last_received
            wait = max(0, min(POLL_SECONDS, math.ceil(self._idle_seconds - idle_for)))
            with aws_errors(self._target, "receive from"):
                messages = self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=RECEIVE_MAX,
                                                     WaitTimeSeconds=wait).get("Messages", [])
            if self._take(messages):
                last_received = self._clock()
            elif self._clock() - last_received >= self._idle_seconds:
                self.went_idle = True
                break
        return self.counts

    def _done(self) -> bool:
        return self._expect is not None and self.counts.distinct >= self._expect

    def _take(self, messages: List[Dict[str, Any]]) -> bool:
        """Write what is new, then delete what was written or dropped; True if any message was a result."""
        finished: List[Dict[str, Any]] = []  # written or dropped: to delete
        returned: List[Dict[str, Any]] = []  # beyond --expect: back to the queue
        for message in messages:
            body = str(message.get("Body", ""))
            try:
                result = json.loads(body)
            except ValueError:
                self._report_not_json(message)
                continue
            key = result_key(result)
            seen = key is not None and key in self._written
            if self._done() and not (seen and self._dedupe):
                returned.append(message)
                continue
            if seen:
                self.counts.duplicates += 1
                if self._dedupe:
                    self.counts.dropped += 1
                    finished.append(message)
                    continue
            else:
                self.counts.distinct += 1
                if key is not None:
                    self._written.add(key)
            self._write(body, result)
            finished.append(message)
        if finished:
            self._sync()  # only then may the messages go
            self._delete(finished)
        if returned:
            self._return(returned)
        self._on_progress(self.counts)
        return len(finished) + len(returned) > 0

    def _write(self, body: str, result: Any) -> None:
        line = body.strip()
        if "\n" in line or "\r" in line:  # a pretty-printed body: one line of the same JSON
            line = json.dumps(result, ensure_ascii=False, separators=(",", ":"))
        self._output.write(line + "\n")
        self.counts.written += 1
        if isinstance(result, dict):
            self.counts.predictions += "prediction" in result
            self.counts.errors += "error" in result

    def _report_not_json(self, message: Dict[str, Any]) -> None:
        message_id = str(message.get("MessageId"))
        if message_id not in self._not_json:
            self._not_json.add(message_id)
            self.counts.not_json += 1
            self._warn(f"message {message_id} is not JSON: left on the queue")

    def _delete(self, messages: List[Dict[str, Any]]) -> None:
        pending = messages
        delay = FIRST_DELAY_SECONDS
        reason = ""
        for attempt in range(DELETE_ATTEMPTS):
            if attempt:
                self._sleep(delay)
                delay *= 2
            entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                       for index, message in enumerate(pending)]
            with aws_errors(self._target, "delete from"):
                failed = self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
            if not failed:
                return
            reason = f"{failed[0].get('Code', 'error')}: {failed[0].get('Message', '')}"
            pending = [pending[int(entry["Id"])] for entry in failed]
        self.counts.undeleted += len(pending)
        self._warn(f"{len(pending)} written message(s) could not be deleted ({reason}); they will come back"
                   + ("" if self._dedupe else " (--dedupe drops them)"))

    def _return(self, messages: List[Dict[str, Any]]) -> None:
        entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"], "VisibilityTimeout": 0}
                   for index, message in enumerate(messages)]
        # Best effort: a message not returned comes back anyway after the queue's visibility timeout.
        with aws_errors(self._target, "return messages to"):
            self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)
