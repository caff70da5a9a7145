"""openapi.yaml stays in step with the routes, the error family and real responses. Needs no S3."""

import functools
import io
import json
import os
import runpy
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config
from chalice.test import Client
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import app
from chalicelib.errors import InvalidInput, ModelError, ServiceError
from chalicelib.wiring import build_runtime

ROOT = Path(__file__).resolve().parent.parent
DOC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
BASE = "urn:openapi"
REGISTRY = Registry().with_resource(BASE, DRAFT202012.create_resource(DOC))
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
OPERATIONS = {(path, method) for path, item in DOC["paths"].items() for method in item if method in HTTP_METHODS}
JSON = {"Content-Type": "application/json"}
SONAR = json.loads((ROOT / "models" / "sonar_naive_bayes.pfa").read_text())
SONAR_ROW1 = json.loads(SONAR["metadata"]["example_request"])
# What each route can answer besides 200 (predict's 422/504 become per-record entries in a batch's 200).
ERROR_STATUSES = {
    ("/predict", "post"): {400, 405, 413, 415, 422, 500, 503, 504},
    ("/predict/batch", "post"): {400, 405, 413, 415, 500, 503},
    ("/model", "get"): {405, 500, 503},
    ("/health", "get"): {405, 500, 503},
}


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


ERRORS = sorted(set(subclasses(ServiceError)), key=lambda cls: cls.__name__)


def deref(node):
    while "$ref" in node:
        node = functools.reduce(lambda parent, key: parent[key], node["$ref"][2:].split("/"), DOC)
    return node


def validate(instance, pointer):
    """Validate against the schema at a JSON pointer into the document, resolving its $refs."""
    Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY,
                         format_checker=Draft202012Validator.FORMAT_CHECKER).validate(instance)


def check(response, path, method):
    """The response's status is documented on the route, and its body and headers match; returns the body."""
    responses = DOC["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    pointer, spec = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}", responses[status]
    if "$ref" in spec:
        pointer, spec = spec["$ref"][1:], deref(spec)
    body = json.loads(response.body)
    validate(body, pointer + "/content/application~1json/schema")
    headers = {name.lower(): value for name, value in response.headers.items()}
    for name, header in spec.get("headers", {}).items():
        header = deref(header)
        assert name.lower() in headers or not header.get("required"), f"{name} missing on {status} {path}"
        if name.lower() in headers:
            Draft202012Validator(header["schema"]).validate(headers[name.lower()])
    return body


def test_the_document_lists_exactly_the_app_routes():
    routes = {(path, method.lower()) for path, methods in app.app.routes.items() for method in methods}
    assert OPERATIONS == routes


def test_the_api_key_is_documented_where_the_prod_stage_requires_it(monkeypatch):
    monkeypatch.setenv("API_KEY_REQUIRED", "true")  # as `chalice deploy --stage prod` imports app.py
    prod = runpy.run_path(str(ROOT / "app.py"))["app"]
    required = {(path, method.lower()) for path, methods in prod.routes.items()
                for method, entry in methods.items() if entry.api_key_required}
    keyed = {op for op in OPERATIONS if {"apiKey": []} in DOC["paths"][op[0]][op[1]].get("security", [])}
    assert keyed == required and required
    assert DOC["paths"]["/health"]["get"]["security"] == []


def test_the_error_codes_are_those_of_the_error_family():
    enum = DOC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert sorted(enum) == sorted({cls.code for cls in ERRORS})


def test_every_error_body_matches_the_error_schema():
    errors = [cls("a message") for cls in ERRORS] + [ModelError("m", pfa_code=31000), InvalidInput("m", field="V1")]
    for error in errors:
        validate(error.to_body(), "/components/schemas/Error")
        validate({"index": 0, **error.to_body()["error"]}, "/components/schemas/BatchRecordError")


def test_each_route_lists_every_error_status_it_can_return():
    documented = {op: {int(status) for status in DOC["paths"][op[0]][op[1]]["responses"] if int(status) >= 400}
                  for op in OPERATIONS}
    assert documented == ERROR_STATUSES
    assert {cls.status for cls in ERRORS} <= set().union(*documented.values())
    for (path, method), statuses in documented.items():
        for status in statuses - ({503} if path == "/health" else set()):
            response = deref(DOC["paths"][path][method]["responses"][str(status)])
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def serve():
    """Builds the app's runtime from `environ` and an S3 client; afterwards, back to what app.py configures."""
    def use(s3_client, **environ):
        settings = {"MODEL_BUCKET": "models", "MODEL_KEY": "models/sonar_naive_bayes.pfa", **environ}
        app.runtime.configure(lambda: build_runtime(settings, s3_client=s3_client))
        return Client(app.app, project_dir=str(ROOT))
    yield use
    app.runtime.configure(lambda: build_runtime(os.environ))


def test_error_responses_of_a_service_whose_model_cannot_load(serve):
    unreachable = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test",
                               config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    with serve(unreachable, MAX_BODY_BYTES="100") as client:
        body = check(client.http.post("/predict", body="{}", headers=JSON), "/predict", "post")
        assert body["error"]["code"] == "model_not_ready"
        assert check(client.http.get("/model"), "/model", "get")["error"]["code"] == "model_not_ready"
        assert check(client.http.get("/health"), "/health", "get")["ready"] is False
        text = client.http.post("/predict", body="{}", headers={"Content-Type": "text/plain"})
        assert check(text, "/predict", "post")["error"]["code"] == "unsupported_media_type"
        body = check(client.http.post("/predict", body="{", headers=JSON), "/predict", "post")
        assert body["error"]["code"] == "malformed_json"
        body = check(client.http.post("/predict", body=json.dumps(SONAR_ROW1), headers=JSON), "/predict", "post")
        assert body["error"]["code"] == "payload_too_large"
        body = check(client.http.post("/predict/batch", body="[]", headers=JSON), "/predict/batch", "post")
        assert body["error"]["code"] == "invalid_request"
        # A 405 is documented on the operations the path has.
        assert check(client.http.get("/predict"), "/predict", "post")["error"]["code"] == "method_not_allowed"


class FileS3:
    """Just enough of an S3 client to serve the repo's model documents."""

    def get_object(self, Bucket, Key):
        data = (ROOT / Key).read_bytes()
        return {"Body": io.BytesIO(data), "ContentLength": len(data), "ETag": '"0123abcd"', "VersionId": "v1"}


def test_success_responses_of_a_loaded_model(serve):
    with serve(FileS3()) as client:
        assert check(client.http.get("/health"), "/health", "get")["ready"] is True
        body = check(client.http.post("/predict", body=json.dumps(SONAR_ROW1), headers=JSON), "/predict", "post")
        assert body["prediction"] == "R"
        records = {"records": [SONAR_ROW1, {**SONAR_ROW1, "V1": True}]}
        response = client.http.post("/predict/batch", body=json.dumps(records), headers=JSON)
        body = check(response, "/predict/batch", "post")
        assert body["predictions"] == ["R", None] and body["errors"][0]["field"] == "V1"
        body = check(client.http.get("/model"), "/model", "get")
        assert body["example_request"] == SONAR_ROW1
        body = check(client.http.post("/predict", body='{"V1": true}', headers=JSON), "/predict", "post")
        assert body["error"]["code"] == "invalid_input"
