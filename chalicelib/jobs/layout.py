"""Where a job's objects live in the jobs bucket, and what a job id looks like.

Everything of job ``J`` is under ``jobs/J/``: the upload ``input``, each chunk's output
``parts/NNNNN-A.jsonl`` and its errors ``parts/NNNNN-A.errors.jsonl`` (``A`` names the attempt), and the
assembled ``results.jsonl`` and ``errors.jsonl``. The
bucket notification (and the local stand-in for it) starts a job for keys under :data:`PREFIX` ending in
:data:`INPUT_SUFFIX`.
"""

import re
import secrets
from typing import Optional

PREFIX = "jobs/"
INPUT_NAME = "input"
INPUT_SUFFIX = "/" + INPUT_NAME
RESULTS_NAME = "results.jsonl"
ERRORS_NAME = "errors.jsonl"
_ID = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    """128 random bits: a job's id is the only thing that finds it (with the API key, on ``prod``)."""
    return secrets.token_hex(16)


def is_job_id(text: str) -> bool:
    return bool(_ID.fullmatch(text))


def job_folder(job_id: str) -> str:
    return f"{PREFIX}{job_id}/"


def input_key(job_id: str) -> str:
    return job_folder(job_id) + INPUT_NAME


def results_key(job_id: str) -> str:
    return job_folder(job_id) + RESULTS_NAME


def errors_key(job_id: str) -> str:
    return job_folder(job_id) + ERRORS_NAME


def new_attempt_id() -> str:
    return secrets.token_hex(4)


def part_key(job_id: str, chunk: int, errors: bool = False, attempt: str = "") -> str:
    """One attempt's output (or errors) for one chunk."""
    return f"{job_folder(job_id)}parts/{chunk:05d}{'-' + attempt if attempt else ''}{'.errors' if errors else ''}.jsonl"


def job_of_input(key: str) -> Optional[str]:
    """The job an uploaded key starts, or None for any other key."""
    if not (key.startswith(PREFIX) and key.endswith(INPUT_SUFFIX)):
        return None
    job_id = key[len(PREFIX):-len(INPUT_SUFFIX)]
    return job_id if is_job_id(job_id) else None
