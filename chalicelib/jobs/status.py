"""A job's item as the API shows it (``GET /jobs/{id}``, and the start of ``POST /jobs``'s answer)."""

from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple

from .files import iso

Links = Tuple[str, str, str]  # results link, errors link, when they expire


def job_answer(job: Mapping[str, Any], now: datetime, links: Optional[Links]) -> Dict[str, Any]:
    scored = int(job.get("rows_scored") or 0)
    failed = int(job.get("rows_failed") or 0)
    version = job.get("model_version")
    return {
        "id": job["job_id"],
        "state": job["state"],
        "format": job["format"],
        "model": {"name": job["model_name"], "version": version or None},
        "rows": {"total": job.get("rows_total"), "done": scored + failed, "scored": scored, "failed": failed},
        "chunks": {"total": job.get("chunks_total"), "done": int(job.get("chunks_done") or 0)},
        "input": {"bytes": job.get("input_bytes")},
        "created_at": job["created_at"],
        "upload_expires_at": job.get("upload_expires_at"),
        "queued_at": job.get("queued_at"),
        "started_at": job.get("started_at"),
        "finished_at": job.get("finished_at"),
        "elapsed_ms": _elapsed_ms(job, now),
        "expires_at": iso(datetime.fromtimestamp(int(job["expires_at"]), timezone.utc)),
        "reason": job.get("reason"),
        "notes": list(job.get("notes") or []),
        "results_url": links[0] if links else None,
        "errors_url": links[1] if links else None,
        "links_expire_at": links[2] if links else None,
    }


def _elapsed_ms(job: Mapping[str, Any], now: datetime) -> Optional[int]:
    """From the upload's arrival to the end (or to now, while it runs)."""
    begun = job.get("queued_at")
    if not begun:
        return None
    ended = job.get("finished_at")
    end = _parse(ended) if ended else now
    return max(0, int((end - _parse(begun)).total_seconds() * 1000))


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
