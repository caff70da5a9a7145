"""The HTTP side: turn requests into service calls and results into responses.

Views read the request, call :class:`ScoringService`, and shape the response.
:func:`around_request` wraps every request: it gives it an id, turns every
:class:`ServiceError` (and Chalice's own 405/415 answers) into the one error
body, hides unexpected exceptions behind a generic 500, and writes one log line.
"""

import functools
import json
import time
import uuid
from typing import Any, Callable, Dict, Optional, Tuple

from chalice import ChaliceUnhandledError, Response
from chalice.app import Request, handle_extra_types

from .errors import (
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    ResponseTooLarge,
    ServiceError,
    UnsupportedMediaType,
)
from .limits.answer_size import RESPONSE_LIMIT, returned_size
from .limits.memory import MB
from .model_loader import LoadedModel
from .model_names import check_model_name
from .request_body import read_json
from .settings import LAMBDA_PAYLOAD_LIMIT
from .telemetry import RequestLog, ServiceMetrics
from .wiring import Runtime

JSON = "application/json"
BINARY = "application/octet-stream"
MODEL_NAME_HEADER = "X-Model-Name"
MODEL_VERSION_HEADER = "X-Model-Version"
REQUEST_ID_HEADER = "X-Request-Id"
ERROR_CODE_HEADER = "X-Error-Code"
# Routes of the Open Inference Protocol: their errors answer its body, {"error": "<message>"}.
PROTOCOL_ROUTES = "/v2"



class _Unexpected(ChaliceUnhandledError):
    """Carries an unexpected exception out of a view to :func:`around_request`."""


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except ServiceError:
            raise
        except Exception as error:
            raise _Unexpected(str(error)) from error
    return wrapper


@guarded
def predict(request: Request, runtime: Runtime, name: Optional[str] = None) -> Response:
    _check_name(name)
    record = read_json(request.raw_body, runtime.settings.max_body_bytes)
    body, model = runtime.service.predict(record, name, time_left_ms(request))
    return _ok(body, model)


@guarded
def predict_batch(request: Request, runtime: Runtime, name: Optional[str] = None) -> Response:
    _check_name(name)
    body = read_json(request.raw_body, runtime.settings.max_batch_body_bytes, what='{"records": [...]}')
    result, model = runtime.service.predict_batch(body, name, time_left_ms(request))
    return _ok(result, model)


@guarded
def describe_model(runtime: Runtime, name: Optional[str] = None) -> Response:
    body, model = runtime.service.describe(name)
    return _ok(body, model)


@guarded
def list_models(runtime: Runtime) -> Response:
    return Response(body=runtime.service.list_models(), status_code=200, headers={"Content-Type": JSON})


@guarded
def health(get_runtime: Callable[[], Runtime]) -> Response:
    try:
        status = get_runtime().service.health()
    except ServiceError as error:
        status = {"ready": False, "reason": error.message}
    return Response(body=status, status_code=200 if status["ready"] else 503,
                    headers={"Content-Type": JSON, "Cache-Control": "no-store"})


def time_left_ms(request: Request) -> Optional[float]:
    """What remains of the Lambda invocation (None where there is no Lambda context)."""
    remaining = getattr(getattr(request, "lambda_context", None), "get_remaining_time_in_millis", None)
    return float(remaining()) if callable(remaining) else None


def _check_name(name: Optional[str]) -> None:
    """A bad name is reported before anything about the body."""
    if name is not None:
        check_model_name(name)


def _ok(body: Dict[str, Any], model: LoadedModel) -> Response:
    return Response(body=body, status_code=200, headers={"Content-Type": JSON, **model_headers(model)})


def model_headers(model: LoadedModel) -> Dict[str, str]:
    return {MODEL_NAME_HEADER: model.name, MODEL_VERSION_HEADER: model.version}


def error_response(error: ServiceError, protocol: bool = False) -> Response:
    """The error body; ``protocol``: the Open Inference Protocol's, with the code in a header instead."""
    headers: Dict[str, Any] = {"Content-Type": JSON, **error.headers}
    if error.model is not None:
        headers.update({MODEL_NAME_HEADER: error.model["name"], MODEL_VERSION_HEADER: error.model["version"]})
    if protocol:
        headers[ERROR_CODE_HEADER] = error.code
        return Response(body={"error": error.message}, status_code=error.status, headers=headers)
    return Response(body=error.to_body(), status_code=error.status, headers=headers)


def around_request(request: Request, get_response: Callable[[Request], Response], log: RequestLog,
                   metrics: Optional[ServiceMetrics] = None) -> Response:
    started = time.perf_counter()
    request_id = _request_id(request)
    protocol = (_route(request) or "").startswith(PROTOCOL_ROUTES)
    try:
        response = get_response(request)
    except ServiceError as error:
        response = error_response(error, protocol)
    except _Unexpected as error:
        log.exception(request_id, error.__cause__ or error, route=_route(request))
        response = error_response(InternalError(f"internal error; request id {request_id}"), protocol)
    else:
        response = _as_service_error(response, request, request_id, protocol)
    try:
        response, body = _within_response_limit(response, protocol)
    except (MemoryError, RecursionError):
        response, body = _within_response_limit(error_response(ResponseTooLarge(
            "the answer could not be written within the service's memory budget; send fewer records in one call"),
            protocol), protocol)
    response.headers[REQUEST_ID_HEADER] = request_id
    details = body.get("error")
    code = details.get("code") if isinstance(details, dict) else _header(response, ERROR_CODE_HEADER)
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    model, version = _header(response, MODEL_NAME_HEADER), _header(response, MODEL_VERSION_HEADER)
    log.request(request_id=request_id, method=getattr(request, "method", None), route=_route(request),
                status=response.status_code, latency_ms=latency_ms, model=model, model_version=version, error=code)
    if metrics is not None:
        metrics.request(model, version, latency_ms, code)
    return response


def _within_response_limit(response: Response, protocol: bool = False) -> Tuple[Response, Dict[str, Any]]:
    """Serialise a JSON body here (as Chalice would), and refuse an answer Lambda could not return;
    returns the response and the body it carries.

    Lambda returns at most 6 MB of JSON for the whole proxy response, in which the body is one string:
    its quotes and backslashes are escaped again there.
    """
    body = response.body
    if not isinstance(body, dict):
        return response, {}
    text = json.dumps(body, separators=(",", ":"), default=handle_extra_types)
    size = returned_size(text)
    if size > RESPONSE_LIMIT:
        error = ResponseTooLarge(
            f"the answer would be {size / MB:.1f} MB, over the {LAMBDA_PAYLOAD_LIMIT // MB} MB that Lambda can "
            f"return; send fewer records in one call")
        limited = error_response(error, protocol)
        for header in (MODEL_NAME_HEADER, MODEL_VERSION_HEADER):
            if header in response.headers:
                limited.headers[header] = response.headers[header]
        return _within_response_limit(limited, protocol)
    response.body = text
    return response, body


def _as_service_error(response: Response, request: Request, request_id: str, protocol: bool = False) -> Response:
    """Chalice answers some requests itself ({"Code", "Message"}); give them our error body."""
    body = response.body
    if response.status_code < 400 or not (isinstance(body, dict) and "Code" in body):
        return response
    if response.status_code == 415:
        content_type = request.headers.get("content-type", "")
        error: ServiceError = UnsupportedMediaType(
            f"expected Content-Type {JSON} or {BINARY} (binary tensor data), got {content_type!r}" if protocol
            else f"expected Content-Type {JSON}, got {content_type!r}; send the record as JSON with the "
                 f"header 'Content-Type: {JSON}'")
    elif response.status_code == 405:
        allowed = str(response.headers.get("Allow", ""))
        error = MethodNotAllowed(f"method {request.method} is not allowed on {_route(request)}; allowed: {allowed}",
                                 headers={"Allow": allowed})
    elif response.status_code >= 500:
        error = InternalError(f"internal error; request id {request_id}")
    else:
        error = InvalidRequest(str(body.get("Message", "invalid request")))
    return error_response(error, protocol)


def _request_id(request: Request) -> str:
    context = getattr(request, "lambda_context", None)
    request_id: Optional[str] = getattr(context, "aws_request_id", None)
    if not request_id or request_id == "id":
        request_id = str(uuid.uuid4())
    return request_id


def _route(request: Request) -> Optional[str]:
    context = getattr(request, "context", None) or {}
    return context.get("resourcePath")


def _header(response: Response, name: str) -> Optional[str]:
    value = response.headers.get(name)
    return value if isinstance(value, str) else None
