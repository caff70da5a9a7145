"""The routes through Chalice's test client, with the dev stage's settings and a real local S3."""

import csv
import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
MODELS = Path(__file__).parent.parent / "models"
JSON = {"Content-Type": "application/json"}


def sonar_rows():
    with open(DATA / "sonar.csv") as handle:
        return [{key: float(value) for key, value in row.items() if key != "Class"} for row in csv.DictReader(handle)]


def r_labels():
    with open(MODELS / "sonar_naive_bayes.r_predictions.csv") as handle:
        return [row["pred"] for row in csv.DictReader(handle)]


ROWS = sonar_rows()
ROW1 = ROWS[0]


def post(client, path, body, headers=JSON):
    payload = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.http.post(path, body=payload, headers=headers)


def test_all_208_sonar_rows_give_r_labels(client):
    labels = r_labels()
    answers = [json.loads(post(client, "/predict", row).body)["prediction"] for row in ROWS]
    assert answers[0] == "R"
    assert sum(a == b for a, b in zip(answers, labels, strict=True)) == len(labels) == 208


def test_predict_names_the_model_and_version(client):
    response = post(client, "/predict", ROW1)
    body = json.loads(response.body)
    assert response.status_code == 200
    assert body["prediction"] == "R"
    assert body["model"]["name"] == "sonar_naive_bayes" == response.headers["X-Model-Name"]
    assert body["model"]["version"] == response.headers["X-Model-Version"] != ""
    assert response.headers["X-Request-Id"]


def test_batch_scores_every_record_and_reports_bad_ones_by_index(client):
    records = [ROW1, {**ROW1, "V3": True}, "not a record", ROWS[1]]
    response = post(client, "/predict/batch", {"records": records})
    body = json.loads(response.body)
    assert response.status_code == 200
    assert body["predictions"] == ["R", None, None, "M"]
    assert [(e["index"], e["code"], e.get("field")) for e in body["errors"]] == [
        (1, "invalid_input", "V3"), (2, "invalid_input", None)]
    assert body["model"]["name"] == "sonar_naive_bayes"


def test_a_batch_of_all_rows_matches_r(client):
    body = json.loads(post(client, "/predict/batch", {"records": ROWS}).body)
    assert body["predictions"] == r_labels() and body["errors"] == []


def test_model_description(client):
    response = client.http.get("/model")
    body = json.loads(response.body)
    assert response.status_code == 200
    assert body["name"] == "sonar_naive_bayes"
    assert body["location"] == "s3://pfa-models-dev/models/sonar_naive_bayes.pfa"
    assert body["version"] and body["etag"] and body["loaded_at"]
    assert body["fetch_ms"] >= 0 and body["compile_ms"] > 0
    assert body["input_schema"] == {"type": "map", "values": ["null", "string", "double"]}
    assert body["output_schema"] == "string"
    assert body["example_request"] == ROW1
    assert json.loads(post(client, "/predict", body["example_request"]).body)["prediction"] == "R"


def test_health_is_ready(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert json.loads(response.body)["ready"] is True


def stdout_records(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_one_log_line_per_request(client, capsys):
    capsys.readouterr()
    response = post(client, "/predict", ROW1)
    lines = [record for record in stdout_records(capsys) if record.get("event") == "request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["event"], line["level"], line["service"]) == ("request", "INFO", "pfa-serving")
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert (line["route"], line["status"], line["model_version"]) == (
        "/predict", 200, response.headers["X-Model-Version"])
    assert line["latency_ms"] > 0


def emitted_metrics(records):
    """{(metric name, dimensions...): [values]} from embedded-metric-format lines."""
    found = {}
    for record in records:
        if "_aws" not in record:
            continue
        (directive,) = record["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "PfaServing"
        (dimensions,) = directive["Dimensions"]
        for metric in directive["Metrics"]:
            key = (metric["Name"], *(f"{name}={record[name]}" for name in dimensions if name != "service"))
            found.setdefault(key, []).extend(record[metric["Name"]])
    return found


def test_metrics_per_model_and_version_in_the_embedded_metric_format(client, capsys):
    capsys.readouterr()
    response = post(client, "/predict/batch", {"records": [ROW1, {**ROW1, "V2": "x"}]})
    version = response.headers["X-Model-Version"]
    post(client, "/predict", {"V1": 1})
    found = emitted_metrics(stdout_records(capsys))
    model = ("model=sonar_naive_bayes", f"version={version}")
    assert found[("Requests", *model)] == [1, 1] and min(found[("Latency", *model)]) > 0
    assert found[("Records", *model)] == [2, 1] and found[("EngineTime", *model)][0] > 0
    assert found[("RecordErrors", *model, "code=invalid_input")] == [1, 1]
    assert found[("Errors", *model, "code=invalid_input")] == [1]


HOSTILE = [
    ("malformed", "{", 400, "malformed_json", None),
    ("empty", "", 400, "malformed_json", None),
    ("nan", '{"V1": NaN}', 400, "malformed_json", None),
    ("infinity", '{"V1": -Infinity}', 400, "malformed_json", None),
    ("huge number", '{"V1": 1e999}', 400, "invalid_input", "V1"),
    ("duplicate key", '{"V1": 1, "V1": 2}', 400, "malformed_json", None),
    ("not utf-8", b"\xc3\x28", 400, "malformed_json", None),
    ("deep nesting", "[" * 50_000 + "]" * 50_000, 400, "malformed_json", None),
    ("array", [1, 2, 3], 400, "invalid_input", None),
    ("string", '"R"', 400, "invalid_input", None),
    ("null", "null", 400, "invalid_input", None),
    ("bool value", {**ROW1, "V1": True}, 400, "invalid_input", "V1"),
    ("object value", {**ROW1, "V2": {"x": 1}}, 400, "invalid_input", "V2"),
    ("unknown field", {**ROW1, "V61": 0.1}, 400, "invalid_input", "V61"),
    ("missing field", {k: v for k, v in ROW1.items() if k != "V7"}, 400, "invalid_input", "V7"),
    ("empty object", {}, 400, "invalid_input", "V1"),
    ("string where the model expects a number", {**ROW1, "V3": "0.7"}, 400, "invalid_input", "V3"),
    ("too large", '{"V1": "' + "x" * (2 * 1024 * 1024) + '"}', 413, "payload_too_large", None),
]


@pytest.mark.parametrize("name, body, status, code, field", HOSTILE, ids=[case[0] for case in HOSTILE])
def test_bad_requests_get_a_clear_4xx_and_the_service_keeps_serving(client, name, body, status, code, field):
    response = post(client, "/predict", body)
    error = json.loads(response.body)["error"]
    assert (response.status_code, error["code"], error.get("field")) == (status, code, field)
    assert error["message"] and "\n" not in error["message"] and "Traceback" not in error["message"]
    assert json.loads(post(client, "/predict", ROW1).body)["prediction"] == "R"


def test_an_error_from_the_chosen_model_names_it(client):
    response = post(client, "/predict", {**ROW1, "V1": True})
    assert response.status_code == 400 and response.headers["X-Model-Name"] == "sonar_naive_bayes"
    assert response.headers["X-Model-Version"] == post(client, "/predict", ROW1).headers["X-Model-Version"]
    assert "X-Model-Name" not in post(client, "/predict", "{").headers


def test_messages_name_the_field_the_expected_and_the_received_value(client):
    error = json.loads(post(client, "/predict", {**ROW1, "V1": True}).body)["error"]
    assert error["message"] == "expected one of null | double, got true"
    error = json.loads(post(client, "/predict", {**ROW1, "v1": 0.1}).body)["error"]
    assert error["message"].startswith("unknown field 'v1'; expected fields: V1, V2, V3")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_json_gets_415_naming_the_header(client, content_type):
    response = post(client, "/predict", ROW1, headers={"Content-Type": content_type})
    error = json.loads(response.body)["error"]
    assert response.status_code == 415 and error["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error["message"]


def test_a_wrong_method_gets_405(client):
    response = client.http.get("/predict")
    assert response.status_code == 405
    assert json.loads(response.body)["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("body, status, code, field", [
    ([ROW1], 400, "invalid_request", None),
    ({"rows": [ROW1]}, 400, "invalid_request", "rows"),
    ({}, 400, "invalid_request", "records"),
    ({"records": ROW1}, 400, "invalid_request", "records"),
    ({"records": [ROW1] * 1001}, 413, "payload_too_large", "records"),
])
def test_bad_batches(client, body, status, code, field):
    response = post(client, "/predict/batch", body)
    error = json.loads(response.body)["error"]
    assert (response.status_code, error["code"], error.get("field")) == (status, code, field)


def test_an_empty_batch_is_fine(client):
    assert json.loads(post(client, "/predict/batch", {"records": []}).body)["predictions"] == []


def test_a_calculation_beyond_a_double_is_told_in_the_callers_terms(client):
    response = post(client, "/predict", {**ROW1, "V1": 1.7976931348623157e308})
    error = json.loads(response.body)["error"]
    assert (response.status_code, error["code"]) == (422, "model_error")
    assert error["message"] == "the model could not score this record: a calculation went beyond the range of a double"


def test_every_missing_field_is_reported_in_one_answer(client):
    error = json.loads(post(client, "/predict", {"V1": 0.1}).body)["error"]
    assert error["field"] == "V2" and "'V11' and 49 more (59 in all)" in error["message"]
