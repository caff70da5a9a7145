"""openapi.yaml stays in step with the routes, the error family and real responses. The model routes' answers need
no S3 (a stand-in serves the repo's documents); the jobs routes' and the Open Inference Protocol (/v2) routes' come
from the local servers (the `jobs` and `serve_streams` fixtures)."""

import functools
import hashlib
import io
import json
import math
import os
import re
import runpy
import struct
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
import requests
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from chalice.test import Client
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import app
import chalicelib
from chalicelib.errors import InvalidInput, ModelError, ServiceError
from chalicelib.jobs import layout
from chalicelib.jobs.files import NDJSON
from chalicelib.model_names import NAME_PATTERN
from chalicelib.openinference.protocol import VersionNotServed
from chalicelib.openinference.request import BINARY_HEADER
from chalicelib.openinference.tensors import NoTensorForm
from chalicelib.web import ERROR_CODE_HEADER, PROTOCOL_ROUTES, error_response
from chalicelib.wiring import build_runtime
from tests.jobs_support import csv_bytes, post_upload, read_lines, sonar_rows, wait_for

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
    ("/models", "get"): {405, 500, 503},
    ("/models/{name}", "get"): {400, 404, 405, 500, 503},
    ("/models/{name}/predict", "post"): {400, 404, 405, 413, 415, 422, 500, 503, 504},
    ("/models/{name}/predict/batch", "post"): {400, 404, 405, 413, 415, 500, 503},
    ("/health", "get"): {405, 500, 503},
    ("/jobs", "post"): {400, 404, 405, 413, 415, 500, 503},
    ("/jobs/{job_id}", "get"): {404, 405, 500, 503},
    ("/", "get"): {405, 500},
    # The Open Inference Protocol: a row's 422/504 fails the whole call (the protocol has no per-row errors).
    ("/v2", "get"): {405, 500},
    ("/v2/health/live", "get"): {405, 500},
    ("/v2/health/ready", "get"): {405, 500, 503},
    ("/v2/models/{name}", "get"): {400, 404, 405, 500, 503},
    ("/v2/models/{name}/versions/{version}", "get"): {400, 404, 405, 500, 503},
    ("/v2/models/{name}/ready", "get"): {400, 404, 405, 500, 503},
    ("/v2/models/{name}/versions/{version}/ready", "get"): {400, 404, 405, 500, 503},
    ("/v2/models/{name}/infer", "post"): {400, 404, 405, 413, 415, 422, 500, 503, 504},
    ("/v2/models/{name}/versions/{version}/infer", "post"): {400, 404, 405, 413, 415, 422, 500, 503, 504},
}
# Each named route, and the default-model route whose bodies it shares.
NAMED = {"/models/{name}": "/model", "/models/{name}/predict": "/predict",
         "/models/{name}/predict/batch": "/predict/batch"}


def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)


ERRORS = sorted(set(subclasses(ServiceError)), key=lambda cls: cls.__name__)
assert {NoTensorForm, VersionNotServed} <= set(ERRORS)
# The routes of the Open Inference Protocol, whose errors answer its body (`ProtocolError`) and `X-Error-Code`.
PROTOCOL_OPERATIONS = {op for op in OPERATIONS if op[0] == PROTOCOL_ROUTES or op[0].startswith(PROTOCOL_ROUTES + "/")}
# Each /v2 route of a version, and the route of the version serving whose bodies it shares.
VERSIONED = {"/v2/models/{name}/versions/{version}": "/v2/models/{name}",
             "/v2/models/{name}/versions/{version}/ready": "/v2/models/{name}/ready",
             "/v2/models/{name}/versions/{version}/infer": "/v2/models/{name}/infer"}


def deref(node):
    while "$ref" in node:
        node = functools.reduce(lambda parent, key: parent[key], node["$ref"][2:].split("/"), DOC)
    return node


def validate(instance, pointer):
    """Validate against the schema at a JSON pointer into the document, resolving its $refs."""
    Draft202012Validator({"$ref": f"{BASE}#{pointer}"}, registry=REGISTRY,
                         format_checker=Draft202012Validator.FORMAT_CHECKER).validate(instance)


def check(response, path, method):
    """The response's status is documented on the route, and its body and headers match (a /v2 route's error has
    the protocol's body and `X-Error-Code`); returns the body (parsed when it is JSON)."""
    responses = DOC["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, which the document does not list"
    pointer, spec = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}", responses[status]
    if "$ref" in spec:
        pointer, spec = spec["$ref"][1:], deref(spec)
    headers = {name.lower(): value for name, value in response.headers.items()}
    media_type = headers.get("content-type", "").split(";")[0].strip()
    assert media_type in spec["content"], f"{status} {path} is {media_type!r}, not {sorted(spec['content'])}"
    body = json.loads(response.body) if media_type == "application/json" else response.body.decode("utf-8")
    validate(body, f"{pointer}/content/{media_type.replace('/', '~1')}/schema")
    for name, header in spec.get("headers", {}).items():
        header_pointer = f"{pointer}/headers/{name}"
        if "$ref" in header:
            header_pointer, header = header["$ref"][1:], deref(header)
        assert name.lower() in headers or not header.get("required"), f"{name} missing on {status} {path}"
        if name.lower() in headers:
            validate(headers[name.lower()], f"{header_pointer}/schema")
    if (path, method) in PROTOCOL_OPERATIONS and response.status_code >= 400:
        assert ERROR_CODE_HEADER.lower() in headers and set(body) == {"error"}, (status, path, body)
    return body


def check_error(response, path, method):
    """A /v2 route's error, checked as `check` does: (its X-Error-Code, its message)."""
    assert response.status_code >= 400, (path, response.body)
    body = check(response, path, method)
    return response.headers[ERROR_CODE_HEADER], body["error"]


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
    staged = {op for op in OPERATIONS if DOC["paths"][op[0]][op[1]].get("x-api-key-required-stages") == ["prod"]}
    assert staged == keyed
    for path in ("/health", "/", "/v2/health/live", "/v2/health/ready"):
        assert DOC["paths"][path]["get"]["security"] == [] and (path, "get") not in required, path
    assert {op for op in PROTOCOL_OPERATIONS if op not in required} == {("/v2/health/live", "get"),
                                                                        ("/v2/health/ready", "get")}


def test_the_document_is_of_the_service_version():
    assert DOC["info"]["version"] == chalicelib.__version__
    example = DOC["paths"]["/v2"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert example["version"] == chalicelib.__version__


def test_each_request_body_takes_the_content_types_of_its_route():
    for path, method in OPERATIONS:
        entry = app.app.routes[path][method.upper()]
        body = DOC["paths"][path][method].get("requestBody")
        if method == "get":
            assert body is None and entry.content_types == ["*/*"], path
        else:
            assert set(deref(body)["content"]) == set(entry.content_types), path


def test_the_error_codes_are_those_of_the_error_family():
    enum = DOC["components"]["schemas"]["ErrorCode"]["enum"]
    assert sorted(enum) == sorted({cls.code for cls in ERRORS})
    assert DOC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"] == {
        "$ref": "#/components/schemas/ErrorCode"}
    described = DOC["components"]["schemas"]["ErrorCode"]["description"]
    for cls in ERRORS:
        assert f"`{cls.code}`" in described, cls.code


def _responses():
    """Every response of every operation: path, method, status, the JSON pointer of the response, the response."""
    for path, item in DOC["paths"].items():
        for method in HTTP_METHODS & set(item):
            for status, response in item[method]["responses"].items():
                pointer = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}"
                if "$ref" in response:
                    pointer = response["$ref"][1:]
                yield path, method, int(status), pointer, deref(response)


def test_every_error_code_is_described_under_its_status():
    described: dict = {}
    for _, _, status, _, response in _responses():
        described.setdefault(status, []).append(response["description"])
    for cls in ERRORS:
        assert any(f"`{cls.code}`" in text for text in described.get(cls.status, [])), \
            f"{cls.__name__}: no {cls.status} response describes `{cls.code}`"


def test_every_example_is_what_its_schema_allows():
    for _, _, _, pointer, response in _responses():
        for media_type, content in response.get("content", {}).items():
            examples = [content["example"]] if "example" in content else []
            examples += [deref(example)["value"] for example in content.get("examples", {}).values()]
            for example in examples:
                validate(example, f"{pointer}/content/{media_type.replace('/', '~1')}/schema")
    for name, schema in DOC["components"]["schemas"].items():
        for example in schema.get("examples", []) + ([schema["example"]] if "example" in schema else []):
            validate(example, f"/components/schemas/{name}")
    for name, body in DOC["components"]["requestBodies"].items():
        for media_type, content in body["content"].items():
            pointer = f"/components/requestBodies/{name}/content/{media_type.replace('/', '~1')}/schema"
            for example in ([content["example"]] if "example" in content else []) + [
                    deref(example)["value"] for example in content.get("examples", {}).values()]:
                validate(example, pointer)


def test_the_job_id_parameter_is_the_job_id_rule():
    (parameter,) = [deref(parameter) for parameter in DOC["paths"]["/jobs/{job_id}"]["parameters"]]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("job_id", "path", True)
    rule = re.compile(deref(parameter["schema"])["pattern"])
    for text in (layout.new_job_id(), "0" * 32, "A" * 32, "0" * 31, "0" * 33, "g" * 32, "not-a-job"):
        assert bool(rule.search(text)) == layout.is_job_id(text), text


def test_the_name_parameter_is_the_model_name_rule():
    paths = [path for path in DOC["paths"] if "{name}" in path]
    assert set(NAMED) | {path for path, _ in PROTOCOL_OPERATIONS if "{name}" in path} == set(paths)
    for path in paths:
        parameters = [deref(parameter) for parameter in DOC["paths"][path]["parameters"]]
        (name,) = [p for p in parameters if p["name"] == "name"]
        assert (name["in"], name["required"]) == ("path", True)
        assert deref(name["schema"])["pattern"] == f"^{NAME_PATTERN.pattern}$"
    assert DOC["components"]["schemas"]["ModelName"]["pattern"] == f"^{NAME_PATTERN.pattern}$"


def test_the_path_parameters_are_those_of_the_path():
    for path, item in DOC["paths"].items():
        parameters = [deref(parameter) for parameter in item.get("parameters", [])]
        for method in HTTP_METHODS & set(item):
            parameters += [deref(parameter) for parameter in item[method].get("parameters", [])]
        in_path = [p["name"] for p in parameters if p["in"] == "path"]
        assert in_path == re.findall(r"\{(\w+)\}", path), path
        assert all(p["required"] for p in parameters if p["in"] == "path"), path


def test_versioned_routes_take_and_answer_what_the_routes_of_the_version_serving_do():
    for versioned, serving in VERSIONED.items():
        (method,) = {m for m in DOC["paths"][versioned] if m in HTTP_METHODS}
        ours, theirs = DOC["paths"][versioned][method], DOC["paths"][serving][method]
        assert ours.get("requestBody") == theirs.get("requestBody")
        assert ours["security"] == theirs["security"]
        assert {status: response for status, response in ours["responses"].items() if status != "404"} == \
            {status: response for status, response in theirs["responses"].items() if status != "404"}
        assert ours["responses"]["404"] == {"$ref": "#/components/responses/ProtocolVersionNotFound"}
        (version,) = [deref(p) for p in DOC["paths"][versioned]["parameters"] if deref(p)["name"] == "version"]
        assert "model_version_not_served" in version["description"]


def test_named_routes_take_and_answer_what_their_default_model_counterparts_do():
    for named, default in NAMED.items():
        (method,) = {m for m in DOC["paths"][named] if m in HTTP_METHODS}
        ours, theirs = DOC["paths"][named][method], DOC["paths"][default][method]
        assert ours.get("requestBody") == theirs.get("requestBody")
        assert deref(ours["responses"]["200"]) == deref(theirs["responses"]["200"])
        assert ours["responses"]["404"] == {"$ref": "#/components/responses/ModelNotFound"}


def test_every_error_body_matches_the_error_schema():
    errors = [cls("a message") for cls in ERRORS] + [ModelError("m", pfa_code=31000), InvalidInput("m", field="V1")]
    for error in errors:
        validate(error.to_body(), "/components/schemas/Error")
        validate({"index": 0, **error.to_body()["error"]}, "/components/schemas/BatchRecordError")
        protocol = error_response(error, protocol=True)
        validate(protocol.body, "/components/schemas/ProtocolError")
        validate(protocol.headers[ERROR_CODE_HEADER], "/components/headers/X-Error-Code/schema")


def test_each_route_lists_every_error_status_it_can_return():
    documented = {op: {int(status) for status in DOC["paths"][op[0]][op[1]]["responses"] if int(status) >= 400}
                  for op in OPERATIONS}
    assert documented == ERROR_STATUSES
    assert {cls.status for cls in ERRORS} <= set().union(*documented.values())
    for (path, method), statuses in documented.items():
        for status in statuses - ({503} if path == "/health" else set()):
            response = deref(DOC["paths"][path][method]["responses"][str(status)])
            if (path, method) in PROTOCOL_OPERATIONS:
                assert response["content"] == {"application/json": {**response["content"]["application/json"],
                                                                     "schema": {"$ref": "#/components/schemas/"
                                                                                        "ProtocolError"}}}
                assert response["headers"]["X-Error-Code"] == {"$ref": "#/components/headers/X-Error-Code"}
            else:
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    # The protocol's answers are JSON, even when binary outputs are asked for.
    for path, method in PROTOCOL_OPERATIONS:
        for status, response in DOC["paths"][path][method]["responses"].items():
            assert set(deref(response)["content"]) == {"application/json"}, (path, status)


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
        assert check(client.http.get("/models"), "/models", "get")["error"]["code"] == "model_not_ready"
        body = check(client.http.get("/models/toy_add100"), "/models/{name}", "get")
        assert body["error"]["code"] == "model_not_ready"
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
    """Just enough of an S3 client to serve the repo's model documents (keys are paths under the repo)."""

    def get_object(self, Bucket, Key, IfNoneMatch=None):
        path = ROOT / Key
        if not path.is_file():
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"}}, "GetObject")
        data = path.read_bytes()
        etag = f'"{hashlib.md5(data).hexdigest()}"'
        if IfNoneMatch == etag:
            raise ClientError({"Error": {"Code": "304", "Message": "Not Modified"}}, "GetObject")
        return {"Body": io.BytesIO(data), "ContentLength": len(data), "ETag": etag, "VersionId": "v1"}

    def list_objects_v2(self, Bucket, Prefix, MaxKeys=1000):
        files = sorted(path for path in (ROOT / Prefix).glob("*") if path.is_file())[:MaxKeys]
        return {"Contents": [{"Key": f"{Prefix}{path.name}", "ETag": f'"{hashlib.md5(path.read_bytes()).hexdigest()}"',
                              "Size": path.stat().st_size,
                              "LastModified": datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)}
                             for path in files]}


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


def test_responses_of_named_models(serve):
    with serve(FileS3()) as client:
        check(client.http.get("/health"), "/health", "get")  # loads the default model
        body = check(client.http.get("/models"), "/models", "get")
        stems = sorted(path.stem for path in (ROOT / "models").glob("*.pfa"))
        assert [model["name"] for model in body["models"]] == stems and body["default"] == "sonar_naive_bayes"
        loaded = {model["name"]: model["version"] for model in body["models"] if model["loaded"]}
        assert loaded == {"sonar_naive_bayes": "v1"}
        response = client.http.post("/models/toy_add100/predict", body="3.14", headers=JSON)
        body = check(response, "/models/{name}/predict", "post")
        assert body == {"prediction": pytest.approx(103.14), "model": {"name": "toy_add100", "version": "v1"}}
        assert response.headers["X-Model-Version"] == "v1"
        response = client.http.post("/models/toy_add100/predict/batch", body='{"records": [1, "x"]}', headers=JSON)
        body = check(response, "/models/{name}/predict/batch", "post")
        assert body["predictions"] == [101, None] and body["errors"][0]["code"] == "invalid_input"
        body = check(client.http.get("/models/toy_add100"), "/models/{name}", "get")
        assert body["name"] == "toy_add100" and body["update"]["failed_update"] is None
        body = check(client.http.get("/models"), "/models", "get")
        assert {model["name"] for model in body["models"] if model["loaded"]} == {"sonar_naive_bayes", "toy_add100"}
        for path in NAMED:
            method = "get" if path == "/models/{name}" else "post"
            kwargs = {} if method == "get" else {"body": '{"records": []}' if "batch" in path else "1", "headers": JSON}
            unknown = getattr(client.http, method)(path.replace("{name}", "no_such_model"), **kwargs)
            body = check(unknown, path, method)
            assert body["error"]["code"] == "model_not_found" and body["error"]["field"] == "name"
            invalid = getattr(client.http, method)(path.replace("{name}", "bad.name"), **kwargs)
            body = check(invalid, path, method)
            assert body["error"]["code"] == "invalid_model_name" and body["error"]["field"] == "name"


def test_the_page_is_html_and_open(serve):
    with serve(FileS3()) as client:
        response = client.http.get("/")
        assert "<html" in check(response, "/", "get").lower()
        assert response.headers["Content-Type"].startswith("text/html")
        body = check(client.http.post("/", body="{}", headers=JSON), "/", "get")
        assert body["error"]["code"] == "method_not_allowed"


# ----- the jobs routes, against the local servers ------------------------------------------------------------------

JOB_HEADERS = {**JSON, "Host": "127.0.0.1:8000"}


def _status_path(job: dict) -> str:
    return urllib.parse.urlsplit(job["status_url"]).path


def test_responses_of_creating_a_job(jobs):
    client = jobs.configure()
    response = client.http.post("/jobs", body='{"format": "csv"}', headers=JOB_HEADERS)
    created = check(response, "/jobs", "post")
    assert response.status_code == 201 and created["state"] == "waiting_for_upload"
    assert response.headers["Location"] == created["status_url"] == f"http://127.0.0.1:8000/jobs/{created['id']}"
    assert response.headers["Cache-Control"] == "no-store"
    assert created["model"] == {"name": "sonar_naive_bayes", "version": None}
    named = check(client.http.post("/jobs", body='{"format": "jsonl", "model": "iris"}', headers=JOB_HEADERS),
                  "/jobs", "post")
    assert named["model"]["name"] == "iris" and named["format"] == "jsonl"
    for body, code, field in [
        ("", "invalid_request", "format"),
        ('{"format": "xlsx"}', "invalid_request", "format"),
        ('{"format": "csv", "colour": "red"}', "invalid_request", "colour"),
        ("[]", "invalid_request", None),
        ('{"format": "csv",', "malformed_json", None),
        ('{"format": "csv", "model": "bad.name"}', "invalid_model_name", "model"),
        ('{"format": "csv", "model": "no_such_model"}', "model_not_found", "model"),
        (json.dumps({"format": "csv", "model": "m" * 5000}), "payload_too_large", None),
    ]:
        error = check(client.http.post("/jobs", body=body, headers=JOB_HEADERS), "/jobs", "post")["error"]
        assert (error["code"], error.get("field")) == (code, field), body
    text = client.http.post("/jobs", body='{"format": "csv"}', headers={"Content-Type": "text/plain"})
    assert check(text, "/jobs", "post")["error"]["code"] == "unsupported_media_type"
    assert check(client.http.get("/jobs"), "/jobs", "post")["error"]["code"] == "method_not_allowed"


def test_responses_of_a_job_from_its_creation_to_its_results(jobs, s3_client):
    client = jobs.configure()
    created = check(client.http.post("/jobs", body='{"format": "csv"}', headers=JOB_HEADERS), "/jobs", "post")
    response = client.http.get(_status_path(created))
    waiting = check(response, "/jobs/{job_id}", "get")
    assert response.headers["Cache-Control"] == "no-store"
    assert waiting == {key: value for key, value in created.items() if key not in ("status_url", "upload")}
    header, rows = sonar_rows()
    lines = [rows[0], rows[1], rows[2][:59], rows[3], "", rows[4]]  # row 3 lacks a column, row 5 is blank
    assert post_upload(created["upload"], csv_bytes(header, lines)).status_code == 204
    jobs.start(created["id"])
    with jobs.chunks():
        done = wait_for(lambda: (s := json.loads(client.http.get(_status_path(created)).body))["state"]
                        in ("succeeded", "failed") and s)
    done = check(client.http.get(_status_path(created)), "/jobs/{job_id}", "get")
    assert done["state"] == "succeeded", done
    assert done["rows"] == {"total": 6, "done": 6, "scored": 4, "failed": 2}
    results = read_lines(s3_client, jobs.bucket, layout.results_key(created["id"]))
    for line in results:
        validate(line, "/components/schemas/JobResultLine")
    assert [line["row"] for line in results] == [1, 2, 3, 4, 5, 6]
    assert [line["row"] for line in results if "error" in line] == [3, 5]
    errors = read_lines(s3_client, jobs.bucket, layout.errors_key(created["id"]))
    assert errors == [line for line in results if "error" in line]
    download = requests.get(done["results_url"], timeout=30)
    assert download.status_code == 200 and download.headers["Content-Type"] == NDJSON
    assert [json.loads(line) for line in download.text.splitlines()] == results
    for job_id in ("0" * 32, "not-a-job"):
        body = check(client.http.get(f"/jobs/{job_id}"), "/jobs/{job_id}", "get")
        assert body["error"]["code"] == "job_not_found" and body["error"]["field"] == "job_id"
    refused = client.http.post(_status_path(created), body="{}", headers=JSON)
    assert check(refused, "/jobs/{job_id}", "get")["error"]["code"] == "method_not_allowed"


def test_responses_of_a_failed_job(jobs):
    client = jobs.configure()
    created = check(client.http.post("/jobs", body='{"format": "csv"}', headers=JOB_HEADERS), "/jobs", "post")
    assert post_upload(created["upload"], b"a,b,c\n1,2,3\n").status_code == 204
    assert jobs.start(created["id"])["outcomes"] == ["failed"]
    failed = check(client.http.get(_status_path(created)), "/jobs/{job_id}", "get")
    assert failed["state"] == "failed" and "CSV header" in failed["reason"] and failed["results_url"] is None


def test_responses_of_jobs_that_are_off_or_cannot_be_reached(jobs):
    job_path = f"/jobs/{layout.new_job_id()}"
    settings = dict(jobs.env)
    client = jobs.configure(JOBS_TABLE="")
    body = check(client.http.post("/jobs", body='{"format": "csv"}', headers=JSON), "/jobs", "post")
    assert body["error"]["code"] == "jobs_not_configured" and "JOBS_TABLE" in body["error"]["message"]
    assert check(client.http.get(job_path), "/jobs/{job_id}", "get")["error"]["code"] == "jobs_not_configured"

    unreachable = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9",
                               config=Config(connect_timeout=1, retries={"max_attempts": 1}))
    app.runtime.configure(lambda: build_runtime({**os.environ, **settings}, dynamodb_client=unreachable))
    client = Client(app.app, stage_name="dev")
    body = check(client.http.post("/jobs", body='{"format": "csv"}', headers=JSON), "/jobs", "post")
    assert body["error"]["code"] == "jobs_unavailable"
    assert check(client.http.get(job_path), "/jobs/{job_id}", "get")["error"]["code"] == "jobs_unavailable"

    client = jobs.configure(MODEL_KEY="models/no_such_model.pfa")
    body = check(client.http.post("/jobs", body='{"format": "csv"}', headers=JSON), "/jobs", "post")
    assert body["error"]["code"] == "model_not_ready"


# ----- the Open Inference Protocol routes (/v2), against the local servers ------------------------------------------

BINARY = "application/octet-stream"
# A model whose input, a map without declared keys, has no tensor form.
NO_TENSORS = b'{"input": {"type": "map", "values": "double"}, "output": "double", "action": [1.5]}'
INFER = "/v2/models/{name}/infer"
VERSION_INFER = "/v2/models/{name}/versions/{version}/infer"


def infer_request(records, datatype="FP64", **fields):
    """One tensor per field of the records (each of shape [rows])."""
    inputs = [{"name": key, "shape": [len(records)], "datatype": datatype, "data": [record[key] for record in records]}
              for key in records[0]]
    return {**fields, "inputs": inputs}


def binary_request(records, fmt="d", datatype="FP64", **fields):
    """The same as the binary tensor data extension sends it: the JSON part, then each tensor's little-endian values."""
    inputs, raw = [], b""
    for key in records[0]:
        values = struct.pack(f"<{len(records)}{fmt}", *[math.nan if r[key] is None else r[key] for r in records])
        inputs.append({"name": key, "shape": [len(records)], "datatype": datatype,
                       "parameters": {"binary_data_size": len(values)}})
        raw += values
    header = json.dumps({**fields, "inputs": inputs}).encode()
    return header + raw, {"Content-Type": BINARY, BINARY_HEADER: str(len(header))}


def post(client, path, body, headers=JSON):
    return client.http.post(path, body=body if isinstance(body, (str, bytes)) else json.dumps(body), headers=headers)


def batch_predictions(client, name, records):
    response = post(client, f"/models/{name}/predict/batch", {"records": records})
    body = json.loads(response.body)
    assert response.status_code == 200 and not body["errors"], body
    return body["predictions"]


def test_responses_of_the_v2_server_routes(serve_streams):
    client = serve_streams()
    response = client.http.get("/v2")
    assert check(response, "/v2", "get") == {"name": "pfa-serving", "version": chalicelib.__version__,
                                             "extensions": []}
    response = client.http.get("/v2/health/live")
    assert check(response, "/v2/health/live", "get") == {"live": True}
    assert response.headers["Cache-Control"] == "no-store"
    response = client.http.get("/v2/health/ready")
    assert check(response, "/v2/health/ready", "get") == {"ready": True}
    assert response.headers["Cache-Control"] == "no-store"
    for path in ("/v2", "/v2/health/live", "/v2/health/ready"):
        code, message = check_error(post(client, path, {}), path, "get")
        assert code == "method_not_allowed" and "allowed: GET" in message


def test_responses_of_the_v2_routes_for_the_sonar_model(serve_streams):
    """The default model by its name: a keyed map input, one nullable FP64 tensor per key."""
    client = serve_streams()
    response = client.http.get("/v2/models/sonar_naive_bayes")
    metadata = check(response, "/v2/models/{name}", "get")
    version = response.headers["X-Model-Version"]
    assert metadata == {"name": "sonar_naive_bayes", "versions": [version], "platform": "titus2_pfa",
                        "inputs": [{"name": f"V{i}", "datatype": "FP64", "shape": [-1],
                                    "parameters": {"nullable": True}} for i in range(1, 61)],
                        "outputs": [{"name": "output", "datatype": "BYTES", "shape": [-1]}]}
    at_version = f"/v2/models/sonar_naive_bayes/versions/{version}"
    assert check(client.http.get(at_version), "/v2/models/{name}/versions/{version}", "get") == metadata
    response = client.http.get("/v2/models/sonar_naive_bayes/ready")
    assert check(response, "/v2/models/{name}/ready", "get") == {"name": "sonar_naive_bayes", "ready": True}
    assert response.headers["Cache-Control"] == "no-store"
    ready = check(client.http.get(f"{at_version}/ready"), "/v2/models/{name}/versions/{version}/ready", "get")
    assert ready == {"name": "sonar_naive_bayes", "ready": True}

    # A null is JSON null, or NaN in a nullable FP64 input; row i is /predict/batch's prediction i.
    records = [SONAR_ROW1, {**SONAR_ROW1, "V1": None}, {**SONAR_ROW1, "V2": None, "V60": None}]
    expected = batch_predictions(client, "sonar_naive_bayes", records)
    request = infer_request(records, id="sonar-1")
    request["inputs"][1]["data"][2] = math.nan  # written as NaN
    assert "NaN" in json.dumps(request)
    response = post(client, "/v2/models/sonar_naive_bayes/infer", request)
    answer = check(response, INFER, "post")
    assert answer == {"model_name": "sonar_naive_bayes", "model_version": version, "id": "sonar-1",
                      "outputs": [{"name": "output", "datatype": "BYTES", "shape": [3], "data": expected}]}
    assert response.headers["X-Model-Version"] == version
    # The same rows as binary tensor data (nulls as NaN), at the version serving, asking for binary outputs: JSON.
    body, headers = binary_request(records, id="sonar-1", model_name="sonar_naive_bayes", model_version=version,
                                   outputs=[{"name": "output", "parameters": {"binary_data": True}}])
    response = post(client, f"{at_version}/infer", body, headers)
    assert response.headers["Content-Type"] == "application/json"
    assert check(response, VERSION_INFER, "post") == answer


def test_responses_of_the_v2_routes_for_the_iris_model(serve_streams, s3_client, streams_bucket):
    """A named model with a record input, one FP64 tensor per field; the document's examples are answered."""
    s3_client.upload_file(str(ROOT / "models" / "toy_add100.pfa"), streams_bucket, "models/toy_add100.pfa")
    client = serve_streams()
    response = client.http.get("/v2/models/iris")
    metadata = check(response, "/v2/models/{name}", "get")
    assert [tensor["name"] for tensor in metadata["inputs"]] == ["sepal_length", "sepal_width", "petal_length",
                                                                 "petal_width"]
    assert metadata["outputs"] == [{"name": "output", "datatype": "BYTES", "shape": [-1]}]
    examples = DOC["components"]["requestBodies"]["Inference"]["content"]["application/json"]["examples"]
    request = examples["iris"]["value"]
    records = [{tensor["name"]: tensor["data"][row] for tensor in request["inputs"]} for row in range(2)]
    response = post(client, "/v2/models/iris/infer", request)
    answer = check(response, INFER, "post")
    assert answer["outputs"] == [{"name": "output", "datatype": "BYTES", "shape": [2],
                                  "data": batch_predictions(client, "iris", records)}]
    assert answer["id"] == "req-1" and answer["model_version"] == response.headers["X-Model-Version"]
    documented = DOC["components"]["responses"]["Inferred"]["content"]["application/json"]["example"]
    assert answer["outputs"] == documented["outputs"]  # the documented answer is the model's
    # FP32 values, as binary tensor data, for an FP64 input.
    body, headers = binary_request(records, fmt="f", datatype="FP32")
    assert check(post(client, "/v2/models/iris/infer", body, headers), INFER, "post")["outputs"] == answer["outputs"]
    # A model of one double: the one tensor `input`, rows nested as [rows, 1].
    answer = check(post(client, "/v2/models/toy_add100/infer", examples["single"]["value"]), INFER, "post")
    assert answer["outputs"] == [{"name": "output", "datatype": "FP64", "shape": [3], "data": [101, 102.5, 97]}]


def test_error_responses_of_the_v2_model_routes(serve_streams, s3_client, streams_bucket):
    s3_client.put_object(Bucket=streams_bucket, Key="models/no_tensors.pfa", Body=NO_TENSORS)
    client = serve_streams()
    version = client.http.get("/v2/models/iris").headers["X-Model-Version"]
    for path in ("/v2/models/{name}", "/v2/models/{name}/ready"):
        for name, expected in [("bad.name", "invalid_model_name"), ("no_such_model", "model_not_found"),
                               ("no_tensors", "no_tensor_form"), ("broken", "model_not_ready")]:
            code, _ = check_error(client.http.get(path.replace("{name}", name)), path, "get")
            assert code == expected, (path, name)
        versioned = path.replace("{name}", "{name}/versions/{version}")
        code, message = check_error(client.http.get(versioned.format(name="iris", version="nope")), versioned, "get")
        assert code == "model_version_not_served" and version in message
        assert check(client.http.get(versioned.format(name="iris", version=version)), versioned, "get")["name"] == \
            "iris"
    code, message = check_error(client.http.get("/v2/models/no_tensors"), "/v2/models/{name}", "get")
    assert "no declared keys" in message
    # A document that does not compile: why, and when it is tried again.
    response = client.http.get("/v2/models/broken")
    code, message = check_error(response, "/v2/models/{name}", "get")
    assert "does not compile" in message and response.headers["Retry-After"].isdigit()


def test_error_responses_of_the_v2_infer_routes(serve_streams, s3_client, streams_bucket):
    s3_client.put_object(Bucket=streams_bucket, Key="models/no_tensors.pfa", Body=NO_TENSORS)
    client = serve_streams(MAX_BATCH_RECORDS="3")
    iris = [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}] * 2
    version = client.http.get("/v2/models/iris").headers["X-Model-Version"]
    null_row = infer_request(iris)
    null_row["inputs"][3]["data"][1] = None
    unknown_field = {**infer_request(iris), "colour": "red"}
    for path, name, body, headers, expected in [
        (INFER, "bad.name", infer_request(iris), JSON, "invalid_model_name"),
        (INFER, "no_such_model", infer_request(iris), JSON, "model_not_found"),
        (INFER, "no_tensors", {"inputs": []}, JSON, "no_tensor_form"),
        (INFER, "broken", infer_request(iris), JSON, "model_not_ready"),
        (INFER, "iris", "{", JSON, "malformed_json"),
        (INFER, "iris", unknown_field, JSON, "invalid_request"),
        (INFER, "iris", infer_request(iris, model_name="sonar_naive_bayes"), JSON, "invalid_request"),
        (INFER, "iris", infer_request(iris, model_version="nope"), JSON, "model_version_not_served"),
        (INFER, "iris", null_row, JSON, "invalid_input"),
        (INFER, "iris", infer_request(iris * 2), JSON, "payload_too_large"),
        (INFER, "iris", json.dumps(infer_request(iris)), {"Content-Type": "text/plain"}, "unsupported_media_type"),
        (INFER, "iris", infer_request(iris)["inputs"][0]["data"], JSON, "invalid_request"),
        # The Sonar model cannot score a value near a double's largest.
        (INFER, "sonar_naive_bayes", infer_request([SONAR_ROW1, {**SONAR_ROW1, "V1": 1.7976931348623157e308}]),
         JSON, "model_error"),
        (VERSION_INFER, "iris", infer_request(iris), JSON, "model_version_not_served"),
    ]:
        route = path.replace("{name}", name).replace("{version}", "nope")
        code, message = check_error(post(client, route, body, headers), path, "post")
        assert code == expected, (name, body, message)
    code, message = check_error(post(client, "/v2/models/iris/infer", null_row), INFER, "post")
    assert message == "row 1 of 2, input 'petal_width': expected double, got null"
    too_large = infer_request([SONAR_ROW1, {**SONAR_ROW1, "V1": 1.7976931348623157e308}])
    response = post(client, "/v2/models/sonar_naive_bayes/infer", too_large)
    assert check_error(response, INFER, "post")[1] == ("row 1 of 2: the model could not score this record: a "
                                                        "calculation went beyond the range of a double")
    assert response.headers["X-Model-Name"] == "sonar_naive_bayes"
    binary, headers = binary_request(iris)
    code, _ = check_error(post(client, "/v2/models/iris/infer", binary, {**headers, BINARY_HEADER: "x"}), INFER, "post")
    assert code == "invalid_request"
    refused = client.http.get(f"/v2/models/iris/versions/{version}/infer")
    code, message = check_error(refused, VERSION_INFER, "post")
    assert code == "method_not_allowed" and refused.headers["Allow"] == "POST"


def test_v2_error_responses_of_a_service_whose_model_cannot_load(serve_streams):
    client = serve_streams(warm=False, MODEL_KEY="models/no_such_model.pfa", MAX_BATCH_BODY_BYTES="100")
    assert check(client.http.get("/v2/health/live"), "/v2/health/live", "get") == {"live": True}
    response = client.http.get("/v2/health/ready")
    assert check_error(response, "/v2/health/ready", "get")[0] == "model_not_ready"
    assert check(client.http.get("/v2"), "/v2", "get")["version"] == chalicelib.__version__
    code, _ = check_error(post(client, "/v2/models/iris/infer", "x" * 200), INFER, "post")
    assert code == "payload_too_large"


def test_a_v2_inference_past_its_time_answers_model_timeout(serve_streams):
    client = serve_streams(MODEL_TIMEOUT_MS="1")
    records = [{**SONAR_ROW1, "V1": index / 1000} for index in range(1000)]
    code, message = check_error(post(client, "/v2/models/sonar_naive_bayes/infer", infer_request(records)), INFER,
                                "post")
    assert code == "model_timeout", message
