"""The chunk queue: the planner sends one message per chunk; ``score_chunk`` takes them one at a time."""

import json
from typing import Any, Callable, Dict, List, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ServiceError

BATCH = 10
ATTEMPTS = 3


class QueueUnavailable(ServiceError):
    status = 503
    code = "jobs_unavailable"
    transient = True


class ChunkQueue:
    """Sends chunk messages to ``queue`` (a name or URL); handed a factory of its boto3 SQS client."""

    def __init__(self, client: Callable[[], Any], queue: str) -> None:
        self._client_factory = client
        self._client: Optional[Any] = None
        self.queue = queue
        self._url: Optional[str] = queue if queue.startswith(("https://", "http://")) else None

    def send(self, messages: List[Dict[str, Any]]) -> None:
        """Every message sent, or QueueUnavailable (sending them all again is harmless: chunks count once)."""
        for first in range(0, len(messages), BATCH):
            entries = [{"Id": str(index), "MessageBody": json.dumps(message, separators=(",", ":"))}
                       for index, message in enumerate(messages[first:first + BATCH])]
            for _ in range(ATTEMPTS):
                try:
                    answer = self._sqs().send_message_batch(QueueUrl=self._queue_url(), Entries=entries)
                except (BotoCoreError, ClientError) as error:
                    raise QueueUnavailable(f"cannot send the job's chunks now ({_code(error)})") from None
                failed = {item["Id"] for item in answer.get("Failed", [])}
                entries = [entry for entry in entries if entry["Id"] in failed]
                if not entries:
                    break
            if entries:
                raise QueueUnavailable(f"the chunk queue refused {len(entries)} of the job's chunks")

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Best effort: bring a failed chunk's message back in ``seconds`` rather than after the queue's whole
        visibility timeout (six times the function's); if this fails, the timeout still brings it back."""
        try:
            self._sqs().change_message_visibility(QueueUrl=self._queue_url(), ReceiptHandle=receipt_handle,
                                                  VisibilityTimeout=seconds)
        except (BotoCoreError, ClientError, QueueUnavailable):
            pass

    def _sqs(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def _queue_url(self) -> str:
        if self._url is None:
            try:
                self._url = str(self._sqs().get_queue_url(QueueName=self.queue)["QueueUrl"])
            except (BotoCoreError, ClientError) as error:
                raise QueueUnavailable(f"cannot find the chunk queue {self.queue!r} ({_code(error)})") from None
        return self._url


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "error"))
    return "unreachable"
