"""The jobs routes' HTTP side: read the request, call :class:`JobService`, shape the response."""

from typing import Mapping, Optional

from chalice import Response
from chalice.app import Request

from ..request_body import read_json
from ..web import JSON, guarded
from ..wiring import Runtime
from .service import JobService, JobsNotConfigured

JOBS_PATH = "/jobs"
_BODY_LIMIT = 4096
_WHAT = '{"format": "csv" | "jsonl", "model": <name, optional>}'


@guarded
def create_job(request: Request, runtime: Runtime) -> Response:
    jobs = _jobs(runtime)
    body = read_json(request.raw_body or b"{}", _BODY_LIMIT, what=_WHAT)
    base = _jobs_url(request)
    answer = jobs.create(body, lambda job_id: f"{base}/{job_id}")
    return Response(body=answer, status_code=201,
                    headers={"Content-Type": JSON, "Location": answer["status_url"], "Cache-Control": "no-store"})


@guarded
def job_status(request: Request, runtime: Runtime, job_id: str) -> Response:
    answer = _jobs(runtime).status(job_id)
    return Response(body=answer, status_code=200, headers={"Content-Type": JSON, "Cache-Control": "no-store"})


def _jobs(runtime: Runtime) -> JobService:
    if runtime.jobs is None:
        raise JobsNotConfigured(f"jobs are not set up on this service: {runtime.jobs_off} is not set")
    return runtime.jobs


def _jobs_url(request: Request) -> str:
    """The absolute URL of ``/jobs`` as the caller reached it (with the stage's path on API Gateway)."""
    headers: Mapping[str, str] = request.headers or {}
    host: Optional[str] = headers.get("host")
    path = str((request.context or {}).get("path") or JOBS_PATH).rstrip("/")
    if not path.endswith(JOBS_PATH):
        path = JOBS_PATH
    if not host:
        return path
    scheme = headers.get("x-forwarded-proto") or ("https" if ".amazonaws.com" in host else "http")
    return f"{scheme}://{host}{path}"
