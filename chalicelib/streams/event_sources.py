"""The event source mappings' settings, read at deploy time: the Chalice CLI imports ``app.py`` with the stage's
environment, and the decorators take these values into the template.

Without the variables (``chalice.test.Client`` applies a stage's environment only during calls), the dev
stage's names are used.
"""

from dataclasses import dataclass
from typing import Mapping

from ..settings import SettingsError, bounded_int

RECORDS_QUEUE = "RECORDS_QUEUE"
RECORDS_STREAM = "RECORDS_STREAM"
QUEUE_BATCH_SIZE = "QUEUE_BATCH_SIZE"
QUEUE_BATCHING_WINDOW_SECONDS = "QUEUE_BATCHING_WINDOW_SECONDS"
STREAM_BATCH_SIZE = "STREAM_BATCH_SIZE"
STREAM_BATCHING_WINDOW_SECONDS = "STREAM_BATCHING_WINDOW_SECONDS"
DEV_RECORDS = "pfa-serving-dev-records"
# Lambda's bounds: an SQS mapping takes 1-10,000 messages (more than 10 only with a batching window), a
# Kinesis one 1-10,000 records; a window is at most 300 s.
MAX_BATCH_SIZE = 10_000
MAX_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class EventSources:
    queue: str = DEV_RECORDS
    stream: str = DEV_RECORDS
    queue_batch_size: int = 10
    queue_window_seconds: int = 0
    stream_batch_size: int = 100
    stream_window_seconds: int = 0

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> "EventSources":
        defaults = cls()
        sources = cls(
            queue=env.get(RECORDS_QUEUE, "").strip() or defaults.queue,
            stream=env.get(RECORDS_STREAM, "").strip() or defaults.stream,
            queue_batch_size=bounded_int(env, QUEUE_BATCH_SIZE, defaults.queue_batch_size, 1, MAX_BATCH_SIZE),
            queue_window_seconds=bounded_int(env, QUEUE_BATCHING_WINDOW_SECONDS, defaults.queue_window_seconds, 0,
                                          MAX_WINDOW_SECONDS),
            stream_batch_size=bounded_int(env, STREAM_BATCH_SIZE, defaults.stream_batch_size, 1, MAX_BATCH_SIZE),
            stream_window_seconds=bounded_int(env, STREAM_BATCHING_WINDOW_SECONDS, defaults.stream_window_seconds, 0,
                                           MAX_WINDOW_SECONDS),
        )
        if sources.queue_batch_size > 10 and sources.queue_window_seconds < 1:
            raise SettingsError(f"{QUEUE_BATCH_SIZE} over 10 needs {QUEUE_BATCHING_WINDOW_SECONDS} of at least 1 "
                                f"(Lambda's rule for SQS), got {sources.queue_window_seconds}")
        return sources

