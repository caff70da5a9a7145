"""Errors that carry their HTTP status and speak to the caller.

Every error the service reports is a :class:`ServiceError`; the HTTP layer turns
it into ``{"error": {"code": ..., "message": ..., "field": ...}}``. Anything
else is a bug: it is logged with the request id and answered with a bare 500.
"""

from typing import Any, Dict, Optional

from chalice import ChaliceUnhandledError


class ServiceError(ChaliceUnhandledError):
    """Base of all caller-facing errors. Subclasses set ``status`` and ``code``."""

    status = 500
    code = "internal_error"
    # True when the same call may succeed later unchanged (a queue message is then retried, not answered).
    transient = False

    def __init__(self, message: str, field: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}
        # The model (name and version) that raised it, when a model had been chosen.
        self.model: Optional[Dict[str, str]] = None

    def to_body(self) -> Dict[str, Any]:
        error: Dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class InvalidInput(ServiceError):
    """The record does not match the model's input type."""

    status = 400
    code = "invalid_input"


class MalformedJson(ServiceError):
    """The body is not strict JSON."""

    status = 400
    code = "malformed_json"


class InvalidRequest(ServiceError):
    """The body is JSON but not the shape the route expects."""

    status = 400
    code = "invalid_request"


class InvalidModelName(ServiceError):
    status = 400
    code = "invalid_model_name"


class ModelNotFound(ServiceError):
    """No model of that name is in the bucket."""

    status = 404
    code = "model_not_found"


class MethodNotAllowed(ServiceError):
    status = 405
    code = "method_not_allowed"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


class ModelError(ServiceError):
    """The model raised an error while scoring (a PFA runtime or user error)."""

    status = 422
    code = "model_error"

    def __init__(self, message: str, pfa_code: Optional[int] = None) -> None:
        super().__init__(message)
        self.pfa_code = pfa_code

    def to_body(self) -> Dict[str, Any]:
        body = super().to_body()
        if self.pfa_code is not None:
            body["error"]["pfa_code"] = self.pfa_code
        return body


class ModelMemoryExceeded(ModelError):
    """The model needed more memory than the service's budget while scoring one record."""

    code = "model_memory_exceeded"


class ResponseTooLarge(ServiceError):
    """The answer would be larger than Lambda can return."""

    status = 413
    code = "response_too_large"


class ModelNotReady(ServiceError):
    """No model is loaded; ``retry_after`` says when the next load attempt may run."""

    status = 503
    code = "model_not_ready"
    transient = True

    def __init__(self, message: str, retry_after: Optional[float] = None) -> None:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
        super().__init__(message, headers=headers)


class ModelTimeout(ServiceError):
    status = 504
    code = "model_timeout"


class NotScoredInTime(ModelNotReady):
    """The invocation ran out of time before this record was scored (not the model's own time limit):
    scoring it again later can succeed. Never answered: a queue message or stream record is retried."""


class InternalError(ServiceError):
    """A bug. The message never carries internals."""

    status = 500
    code = "internal_error"


class ModelLoadError(Exception):
    """The model could not be fetched or compiled. Not caller-facing: it becomes
    the reason in a :class:`ModelNotReady`."""
