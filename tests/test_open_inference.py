"""The Open Inference Protocol routes through Chalice's test client: metadata, readiness, inference on the Sonar
(keyed map) and iris (record) models equal to /predict, and every error as the protocol's body with a 4xx."""

import csv
import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
JSON = {"Content-Type": "application/json"}


def sonar_rows():
    with open(DATA / "sonar.csv") as handle:
        return [{key: float(value) for key, value in row.items() if key != "Class"} for row in csv.DictReader(handle)]


def iris_rows():
    with open(DATA / "iris.csv") as handle:
        rows = list(csv.DictReader(handle))
    names = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width", "Petal.Length": "petal_length",
             "Petal.Width": "petal_width"}
    return [{names[key]: float(value) for key, value in row.items() if key in names} for row in rows]


def tensors(records, datatype="FP64"):
    return [{"name": key, "shape": [len(records)], "datatype": datatype, "data": [record[key] for record in records]}
            for key in records[0]]


def call(client, method, path, body=None, headers=None):
    if method == "GET":
        response = client.http.get(path)
    else:
        response = client.http.post(path, body=body if isinstance(body, (str, bytes)) else json.dumps(body),
                                    headers=headers or JSON)
    return response.status_code, response.headers, json.loads(response.body)


@pytest.fixture
def v2(serve_streams):
    return serve_streams()


def test_server_metadata_and_health(v2):
    status, _, body = call(v2, "GET", "/v2")
    assert status == 200 and body["name"] == "pfa-serving" and body["extensions"] == []
    assert call(v2, "GET", "/v2/health/live")[2] == {"live": True}
    assert call(v2, "GET", "/v2/health/ready")[2] == {"ready": True}


def test_sonar_metadata_lists_one_nullable_fp64_tensor_per_key(v2):
    status, headers, body = call(v2, "GET", "/v2/models/sonar_naive_bayes")
    assert status == 200, body
    assert [tensor["name"] for tensor in body["inputs"]] == [f"V{i}" for i in range(1, 61)]
    assert {tensor["datatype"] for tensor in body["inputs"]} == {"FP64"}
    assert body["outputs"] == [{"name": "output", "datatype": "BYTES", "shape": [-1]}]
    assert body["versions"] == [headers["X-Model-Version"]]


def test_sonar_inference_equals_predict_batch(v2):
    records = sonar_rows()[:50]
    status, headers, body = call(v2, "POST", "/v2/models/sonar_naive_bayes/infer",
                                 {"id": "a-1", "inputs": tensors(records)})
    assert status == 200, body
    batch = json.loads(v2.http.post("/predict/batch", body=json.dumps({"records": records}), headers=JSON).body)
    assert body["id"] == "a-1" and body["model_version"] == headers["X-Model-Version"]
    assert body["outputs"] == [{"name": "output", "datatype": "BYTES", "shape": [50], "data": batch["predictions"]}]


def test_iris_record_inference(v2):
    records = iris_rows()
    status, _, meta = call(v2, "GET", "/v2/models/iris")
    assert [tensor["name"] for tensor in meta["inputs"]] == ["sepal_length", "sepal_width", "petal_length",
                                                            "petal_width"]
    status, _, body = call(v2, "POST", "/v2/models/iris/infer", {"inputs": tensors(records)})
    assert status == 200, body
    batch = json.loads(v2.http.post("/models/iris/predict/batch", body=json.dumps({"records": records}),
                                    headers=JSON).body)
    assert body["outputs"][0]["data"] == batch["predictions"]


def test_a_bad_row_fails_the_call_naming_row_and_input(v2):
    records = iris_rows()[:5]
    inputs = tensors(records)
    inputs[3]["data"][2] = None
    status, headers, body = call(v2, "POST", "/v2/models/iris/infer", {"inputs": inputs})
    assert status == 400, body
    assert body == {"error": "row 2 of 5, input 'petal_width': expected double, got null"}
    assert headers["X-Error-Code"] == "invalid_input"


def test_another_version_is_refused(v2):
    status, _, body = call(v2, "GET", "/v2/models/iris/versions/nope")
    assert status == 404 and "nope" in body["error"], body
    status, _, body = call(v2, "POST", "/v2/models/iris/versions/nope/infer", {"inputs": tensors(iris_rows()[:2])})
    assert status == 404 and "nope" in body["error"], body
