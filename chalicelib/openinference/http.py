"""The protocol's routes on the HTTP side: read the request, call :class:`OpenInference`, shape the answer.

Errors on these routes answer the protocol's body, ``{"error": "<message>"}``, with the service's error
code in the ``X-Error-Code`` header (see :func:`chalicelib.web.error_response`).
"""

from typing import Any, Callable, Dict, Optional

from chalice import Response
from chalice.app import Request

from ..errors import ServiceError
from ..model_loader import LoadedModel
from ..web import JSON, error_response, guarded, model_headers, time_left_ms
from ..wiring import Runtime
from .protocol import OpenInference
from .request import BINARY_HEADER


def _protocol(runtime: Runtime) -> OpenInference:
    settings = runtime.settings
    return OpenInference(runtime.service, settings.max_batch_body_bytes, settings.max_batch_records)


@guarded
def server_metadata() -> Response:
    return _json(OpenInference.server_metadata())


@guarded
def server_live() -> Response:
    """Live as soon as the function answers; it needs no model."""
    return _json({"live": True}, cache=False)


@guarded
def server_ready(get_runtime: Callable[[], Runtime]) -> Response:
    """200, or the reason the default model cannot serve; neither may be cached by a probe's proxy."""
    try:
        return _json(_protocol(get_runtime()).server_ready(), cache=False)
    except ServiceError as error:
        return _uncached(error_response(error, protocol=True))


@guarded
def model_metadata(runtime: Runtime, name: str, version: Optional[str] = None) -> Response:
    body, model = _protocol(runtime).model_metadata(name, version)
    return _json(body, model)


@guarded
def model_ready(runtime: Runtime, name: str, version: Optional[str] = None) -> Response:
    try:
        body, model = _protocol(runtime).model_ready(name, version)
    except ServiceError as error:
        return _uncached(error_response(error, protocol=True))
    return _json(body, model, cache=False)


@guarded
def infer(request: Request, runtime: Runtime, name: str, version: Optional[str] = None) -> Response:
    raw = request.raw_body
    body, model = _protocol(runtime).infer(name, version, raw if isinstance(raw, bytes) else raw.encode("utf-8"),
                                           request.headers.get(BINARY_HEADER), time_left_ms(request),
                                           request.headers.get("content-encoding"))
    return _json(body, model)


def _json(body: Dict[str, Any], model: Optional[LoadedModel] = None, cache: bool = True) -> Response:
    headers: Dict[str, Any] = {"Content-Type": JSON, **(model_headers(model) if model is not None else {})}
    if not cache:
        headers["Cache-Control"] = "no-store"
    return Response(body=body, status_code=200, headers=headers)


def _uncached(response: Response) -> Response:
    """A readiness answer, ready or not, is for now only."""
    response.headers["Cache-Control"] = "no-store"
    return response
