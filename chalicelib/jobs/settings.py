"""The jobs' settings, read once from a mapping (``os.environ`` in production); every one is in the README.

Jobs are off until ``JOBS_BUCKET`` and ``JOBS_TABLE`` are set: the routes then answer 503 naming them.
"""

from dataclasses import dataclass
from typing import Mapping, Optional

from ..settings import bounded_int

JOBS_BUCKET = "JOBS_BUCKET"
JOBS_TABLE = "JOBS_TABLE"
JOBS_QUEUE = "JOBS_QUEUE"
JOB_MAX_BYTES = "JOB_MAX_BYTES"
JOB_UPLOAD_SECONDS = "JOB_UPLOAD_SECONDS"
JOB_LINK_SECONDS = "JOB_LINK_SECONDS"
JOB_CHUNK_ROWS = "JOB_CHUNK_ROWS"
JOB_MAX_CHUNKS = "JOB_MAX_CHUNKS"
JOB_CHUNK_SECONDS = "JOB_CHUNK_SECONDS"
JOB_CHUNK_ATTEMPTS = "JOB_CHUNK_ATTEMPTS"
JOB_RETENTION_DAYS = "JOB_RETENTION_DAYS"
DEV_JOBS_QUEUE = "pfa-serving-dev-chunks"

MB = 1024 * 1024
# A presigned POST's policy bounds the upload; S3 takes at most 5 GB in one POST.
POST_LIMIT = 5 * 1024 * 1024 * 1024
# S3's multipart upload has at most 10,000 parts (a join takes at most two per chunk), and a job's chunk map
# lives in one 400 KB DynamoDB item (about 60 bytes a chunk).
CHUNK_LIMIT = 4000
# SigV4 presigned URLs last at most 7 days.
LINK_LIMIT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class JobSettings:
    bucket: Optional[str] = None
    table: Optional[str] = None
    queue: str = DEV_JOBS_QUEUE
    max_bytes: int = 200 * MB
    upload_seconds: int = 900
    link_seconds: int = 3600
    chunk_rows: int = 50_000
    max_chunks: int = 1000
    # What a chunk's rows should take to score, by the planner's sample: a fifth of score_chunk's 300 s.
    chunk_seconds: int = 60
    chunk_attempts: int = 3
    retention_days: int = 7

    @property
    def missing(self) -> Optional[str]:
        """The variable that keeps jobs off, if any."""
        if not self.bucket:
            return JOBS_BUCKET
        if not self.table:
            return JOBS_TABLE
        return None

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> "JobSettings":
        defaults = cls()
        return cls(
            bucket=env.get(JOBS_BUCKET, "").strip() or None,
            table=env.get(JOBS_TABLE, "").strip() or None,
            queue=env.get(JOBS_QUEUE, "").strip() or defaults.queue,
            max_bytes=bounded_int(env, JOB_MAX_BYTES, defaults.max_bytes, 1, POST_LIMIT),
            upload_seconds=bounded_int(env, JOB_UPLOAD_SECONDS, defaults.upload_seconds, 1, LINK_LIMIT_SECONDS),
            link_seconds=bounded_int(env, JOB_LINK_SECONDS, defaults.link_seconds, 1, LINK_LIMIT_SECONDS),
            chunk_rows=bounded_int(env, JOB_CHUNK_ROWS, defaults.chunk_rows, 1, 10_000_000),
            max_chunks=bounded_int(env, JOB_MAX_CHUNKS, defaults.max_chunks, 1, CHUNK_LIMIT),
            chunk_seconds=bounded_int(env, JOB_CHUNK_SECONDS, defaults.chunk_seconds, 1, 600),
            chunk_attempts=bounded_int(env, JOB_CHUNK_ATTEMPTS, defaults.chunk_attempts, 1, 10),
            retention_days=bounded_int(env, JOB_RETENTION_DAYS, defaults.retention_days, 1, 3650),
        )


def jobs_queue(env: Mapping[str, str]) -> str:
    """Deploy time: the chunk queue ``score_chunk`` reads (the dev stage's when unset)."""
    return env.get(JOBS_QUEUE, "").strip() or DEV_JOBS_QUEUE

