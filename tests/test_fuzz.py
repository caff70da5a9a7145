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
