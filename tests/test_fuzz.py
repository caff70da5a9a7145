"""Whatever a caller sends, the answer is a prediction or a 4xx JSON error: never a 500."""

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import InvalidInput, MalformedJson, PayloadTooLarge
from chalicelib.request_body import read_json
from chalicelib.validation import compile_validator

PFA = Path(__file__).parent / "pfa"
SCHEMAS = [json.loads((PFA / name).read_text())["input"]
           for name in ("order_summary.pfa.json", "decision_tree.pfa.json", "packet_bytes.pfa.json")]
SCHEMAS.append({"type": "map", "values": ["null", "string", "double"]})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)
CLIENT_CHECKS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_malformed(body):
    try:
        read_json(body, 200)
    except (MalformedJson, PayloadTooLarge):
        pass


@given(json_values, st.sampled_from(range(len(SCHEMAS))))
def test_any_json_validates_or_is_invalid_input(value, which):
    try:
        compile_validator(SCHEMAS[which])(value)
    except InvalidInput as error:
        assert error.message and "\n" not in error.message


@CLIENT_CHECKS
@given(json_values)
def test_any_json_record_gets_a_prediction_or_a_4xx(client, value):
    response = client.http.post("/predict", body=json.dumps(value), headers={"Content-Type": "application/json"})
    body = json.loads(response.body)
    assert response.status_code in (200, 400, 422), body
    assert ("prediction" in body) == (response.status_code == 200)


@CLIENT_CHECKS
@given(st.lists(json_values, max_size=5) | json_values)
def test_any_batch_gets_predictions_or_a_4xx(client, records):
    response = client.http.post("/predict/batch", body=json.dumps({"records": records}),
                                headers={"Content-Type": "application/json"})
    body = json.loads(response.body)
    assert response.status_code in (200, 400), body
    if response.status_code == 200:
        assert len(body["predictions"]) == len(records)
        assert all(body["predictions"][error["index"]] is None for error in body["errors"])


@CLIENT_CHECKS
@given(st.binary(max_size=200),
       st.sampled_from(["application/json", "text/plain", "", "application/json; charset=utf-8"]))
def test_any_bytes_with_any_content_type_get_an_answer(client, body, content_type):
    response = client.http.post("/predict", body=body, headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code in (200, 400, 415, 422)
    json.loads(response.body)


# ----- the Open Inference Protocol: any request gets output tensors or the protocol's error with a 4xx ----------

INFER = "/v2/models/sonar_naive_bayes/infer"
JSON_TYPE = {"Content-Type": "application/json"}
SONAR_NAMES = [f"V{index}" for index in range(1, 61)]
tensor_names = st.sampled_from(SONAR_NAMES) | st.text(max_size=6)
datatypes = st.sampled_from(["FP64", "FP32", "INT32", "INT64", "BOOL", "BYTES", "UINT8", "FP16", "fp64", ""])
shapes = st.lists(st.integers(min_value=-2, max_value=4), max_size=3) | json_values
input_tensors = st.fixed_dictionaries(
    {"name": tensor_names, "shape": shapes, "datatype": datatypes,
     "data": st.lists(json_values, max_size=5) | json_values},
    optional={"parameters": st.dictionaries(st.sampled_from(["binary_data_size", "x"]), json_values, max_size=2)})


def assert_protocol_answer(response):
    body = json.loads(response.body)
    if response.status_code == 200:
        assert [tensor["name"] for tensor in body["outputs"]] == ["output"]
    else:
        assert response.status_code in (400, 404, 413, 415, 422), body
        assert list(body) == ["error"] and isinstance(body["error"], str) and "\n" not in body["error"]


@CLIENT_CHECKS
@given(st.lists(input_tensors, max_size=4), st.none() | st.lists(st.fixed_dictionaries({"name": tensor_names})))
def test_any_inference_request_gets_tensors_or_a_protocol_4xx(client, inputs, outputs):
    request = {"inputs": inputs, **({"outputs": outputs} if outputs is not None else {})}
    assert_protocol_answer(client.http.post(INFER, body=json.dumps(request), headers=JSON_TYPE))


@CLIENT_CHECKS
@given(json_values)
def test_any_json_body_gets_a_protocol_answer(client, value):
    assert_protocol_answer(client.http.post(INFER, body=json.dumps(value), headers=JSON_TYPE))


@CLIENT_CHECKS
@given(st.binary(max_size=300), st.integers(min_value=-1, max_value=400), st.lists(st.integers(0, 40), max_size=3))
def test_any_binary_tensor_data_gets_a_protocol_answer(client, raw, header_length, sizes):
    document = json.dumps({"inputs": [{"name": name, "shape": [1], "datatype": "FP64",
                                       "parameters": {"binary_data_size": size}}
                                      for name, size in zip(SONAR_NAMES, sizes, strict=False)]}).encode()
    body = document + raw
    length = str(len(document) if header_length < 0 else header_length)
    assert_protocol_answer(client.http.post(INFER, body=body, headers={
        "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": length}))
