"""Lambda invocations without Lambda: the event API Gateway (REST, proxy integration) sends, a context object,
and one invocation as the Lambda runtime runs it in Python (decode the event, call the app, encode its answer)."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, Optional, Tuple

import app as app_module

LAMBDA_MEMORY_MB = 512  # only for the fake Lambda context; cost.py reads .chalice/config.json


class LambdaContext:
    """The attributes of Lambda's context object that the app may read."""

    function_name = "pfa-serving-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = LAMBDA_MEMORY_MB
    aws_request_id = "0b5e1c2d-bench-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CONTEXT = LambdaContext()


def api_event(path: str, resource: str, body: str, path_parameters: Optional[Dict[str, str]] = None) -> str:
    """A REST API proxy event for ``POST path``, as JSON text (what the Lambda runtime receives)."""
    headers = {
        "Accept": "*/*", "Content-Type": "application/json", "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "python-requests/2.32", "X-Amzn-Trace-Id": "Root=1-6740c3a1-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
    }
    event = {
        "resource": resource, "path": path, "httpMethod": "POST", "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": "POST", "path": f"/api{path}", "stage": "api",
            "requestId": str(uuid.uuid4()), "accountId": "123456789012", "apiId": "abcdef1234",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": headers["User-Agent"]},
            "protocol": "HTTP/1.1", "requestTimeEpoch": 1732240000000,
        },
        "body": body, "isBase64Encoded": False,
    }
    return json.dumps(event)


def invoke(event_text: str) -> str:
    """What one Lambda invocation runs in Python: decode the event, call the app, encode its answer."""
    return json.dumps(app_module.app(json.loads(event_text), CONTEXT))


def answer_of(response_text: str) -> Tuple[int, Any]:
    response = json.loads(response_text)
    return response["statusCode"], json.loads(response["body"])
