"""openapi.yaml stays in step with the routes, the error family and real responses. The model routes' answers need
no S3 (a stand-in serves the repo's documents); the jobs routes' come from the local servers (the `jobs` fixture)."""

import functools
import hashlib
import io
import json
import os
import re
import runpy
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
from chalicelib.errors import InvalidInput, ModelError, ServiceError
from chalicelib.jobs import layout
from chalicelib.jobs.files import NDJSON
from chalicelib.model_names import NAME_PATTERN
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
}
# Each named route, and the default-model route whose bodies it shares.
NAMED = {"/models/{name}": "/model", "/models/{name}/predict": "/predict",
         "/models/{name}/predict/batch": "/predict/batch"}


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
    """The response's status is documented on the route, and its body and headers match; returns the body
    (parsed when it is JSON)."""
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
    staged = {op for op in OPERATIONS if DOC["paths"][op[0]][op[1]].get("x-api-key-required-stages") == ["prod"]}
    assert staged == keyed
    assert DOC["paths"]["/health"]["get"]["security"] == []
    assert DOC["paths"]["/"]["get"]["security"] == []


def test_the_error_codes_are_those_of_the_error_family():
    enum = DOC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert sorted(enum) == sorted({cls.code for cls in ERRORS})


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


def test_the_job_id_parameter_is_the_job_id_rule():
    (parameter,) = [deref(parameter) for parameter in DOC["paths"]["/jobs/{job_id}"]["parameters"]]
    assert (parameter["name"], parameter["in"], parameter["required"]) == ("job_id", "path", True)
    rule = re.compile(deref(parameter["schema"])["pattern"])
    for text in (layout.new_job_id(), "0" * 32, "A" * 32, "0" * 31, "0" * 33, "g" * 32, "not-a-job"):
        assert bool(rule.search(text)) == layout.is_job_id(text), text


def test_the_name_parameter_is_the_model_name_rule():
    for path in NAMED:
        parameters = [deref(parameter) for parameter in DOC["paths"][path]["parameters"]]
        assert [(p["name"], p["in"], p["required"]) for p in parameters] == [("name", "path", True)]
        assert parameters[0]["schema"]["pattern"] == f"^{NAME_PATTERN.pattern}$"
    assert DOC["components"]["schemas"]["ModelName"]["pattern"] == f"^{NAME_PATTERN.pattern}$"


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
