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


# ----- every tensor kind, through models of the test's own --------------------------------------------------

ALL_KINDS = {"type": "record", "name": "Kinds", "fields": [
    {"name": "i", "type": "int"}, {"name": "l", "type": "long"}, {"name": "b", "type": "boolean"},
    {"name": "s", "type": "string"},
    {"name": "e", "type": {"type": "enum", "name": "Colour", "symbols": ["red", "blue"]}},
    {"name": "y", "type": "bytes"}, {"name": "f", "type": "float"}, {"name": "n", "type": ["null", "double"]},
    {"name": "v", "type": {"type": "array", "items": "double"}}]}
DOCUMENTS = {
    "kinds": {"input": ALL_KINDS, "output": "Kinds", "action": ["input"]},
    "toy": json.loads((Path(__file__).parent.parent / "models" / "toy_add100.pfa").read_text()),
    "vector": {"input": {"type": "array", "items": "double"}, "output": {"type": "array", "items": "double"},
               "action": [{"a.map": ["input", {"params": [{"x": "double"}], "ret": "double",
                                               "do": {"*": ["x", 2]}}]}]},
    "ragged": {"input": "int", "output": {"type": "array", "items": "int"},
               "action": [{"if": {"==": ["input", 0]},
                           "then": {"type": {"type": "array", "items": "int"}, "value": [1]},
                           "else": {"type": {"type": "array", "items": "int"}, "value": [1, 2]}}]},
    "mapped": {"input": "double", "output": {"type": "map", "values": "double"},
               "action": [{"new": {"a": "input"}, "type": {"type": "map", "values": "double"}}]},
    "unkeyed": {"input": {"type": "map", "values": "double"}, "output": "double", "action": [1.5]},
}


@pytest.fixture
def kinds(serve_streams, s3_client, streams_bucket):
    for name, document in DOCUMENTS.items():
        s3_client.put_object(Bucket=streams_bucket, Key=f"models/{name}.pfa", Body=json.dumps(document).encode())
    return serve_streams()


KINDS_ROWS = [
    {"i": 1, "l": 2 ** 40, "b": True, "s": "é", "e": "red", "y": "\u00ff\u0000", "f": 0.5, "n": None, "v": [1.0, 2.0]},
    {"i": -3, "l": -1, "b": False, "s": "", "e": "blue", "y": "", "f": -2.25, "n": 3.5, "v": [0.0, -1.0]},
]
KINDS_TYPES = {"i": "INT32", "l": "INT64", "b": "BOOL", "s": "BYTES", "e": "BYTES", "y": "BYTES", "f": "FP32",
               "n": "FP64", "v": "FP64"}


def kinds_inputs(rows=KINDS_ROWS):
    inputs = []
    for name, datatype in KINDS_TYPES.items():
        shape = [len(rows), 2] if name == "v" else [len(rows)]
        inputs.append({"name": name, "datatype": datatype, "shape": shape, "data": [row[name] for row in rows]})
    return inputs


def test_every_datatype_round_trips_as_predict_answers_it(kinds):
    status, _, meta = call(kinds, "GET", "/v2/models/kinds")
    assert status == 200, meta
    assert {tensor["name"]: tensor["datatype"] for tensor in meta["inputs"]} == KINDS_TYPES
    assert meta["inputs"][-1]["shape"] == [-1, -1] and meta["inputs"][0]["shape"] == [-1]
    assert meta["outputs"] == meta["inputs"]
    status, _, body = call(kinds, "POST", "/v2/models/kinds/infer", {"inputs": kinds_inputs()})
    assert status == 200, body
    # A BYTES string in JSON data is UTF-8 text, as the protocol's clients write it: a bytes input gets its UTF-8
    # bytes, which /predict takes as code points 0-255.
    as_predict = [{**row, "y": row["y"].encode("utf-8").decode("latin-1")} for row in KINDS_ROWS]
    expected = [json.loads(kinds.http.post("/models/kinds/predict", body=json.dumps(row), headers=JSON).body)
                ["prediction"] for row in as_predict]
    assert expected[0]["y"] == "\u00c3\u00bf\u0000"
    by_name = {tensor["name"]: tensor for tensor in body["outputs"]}
    for name, datatype in KINDS_TYPES.items():
        tensor = by_name[name]
        assert tensor["datatype"] == datatype
        if name == "v":
            assert tensor["shape"] == [2, 2] and tensor["data"] == [x for row in expected for x in row["v"]]
        else:
            assert tensor["shape"] == [2] and tensor["data"] == [row[name] for row in expected]


def test_natural_nested_data_and_rows_of_one_column(kinds):
    inputs = kinds_inputs()
    inputs[-1]["data"] = [row["v"] for row in KINDS_ROWS]
    inputs[0]["shape"], inputs[0]["data"] = [2, 1], [[1], [-3]]
    status, _, body = call(kinds, "POST", "/v2/models/kinds/infer", {"inputs": inputs, "outputs": [{"name": "v"}]})
    assert status == 200, body
    assert [tensor["name"] for tensor in body["outputs"]] == ["v"]
    assert body["outputs"][0]["data"] == [1.0, 2.0, 0.0, -1.0]


def test_a_scalar_model_and_an_array_model(kinds):
    status, _, body = call(kinds, "POST", "/v2/models/toy/infer",
                           {"inputs": [{"name": "input", "shape": [3], "datatype": "FP64", "data": [1, 2.5, -100]}]})
    assert status == 200, body
    assert body["outputs"] == [{"name": "output", "datatype": "FP64", "shape": [3], "data": [101.0, 102.5, 0.0]}]
    status, _, body = call(kinds, "POST", "/v2/models/vector/infer",
                           {"inputs": [{"name": "input", "shape": [2, 3], "datatype": "FP32",
                                        "data": [1, 2, 3, 4, 5, 6]}]})
    assert status == 200, body
    assert body["outputs"] == [{"name": "output", "datatype": "FP64", "shape": [2, 3],
                                "data": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]}]


def test_no_rows_answer_empty_tensors(kinds):
    status, _, body = call(kinds, "POST", "/v2/models/toy/infer",
                           {"inputs": [{"name": "input", "shape": [0], "datatype": "FP64", "data": []}]})
    assert status == 200 and body["outputs"][0]["shape"] == [0] and body["outputs"][0]["data"] == [], body


@pytest.mark.parametrize("name, what", [("mapped", "output is map of double"),
                                        ("unkeyed", "map with no declared keys")])
def test_types_without_a_tensor_form_are_refused_naming_them(kinds, name, what):
    for method, path, body in [("GET", f"/v2/models/{name}", None), ("GET", f"/v2/models/{name}/ready", None),
                               ("POST", f"/v2/models/{name}/infer", {"inputs": []})]:
        status, headers, answer = call(kinds, method, path, body)
        assert status == 400, answer
        assert what in answer["error"] and "/predict" in answer["error"]
        assert headers["X-Error-Code"] == "no_tensor_form"
    assert call(kinds, "GET", f"/models/{name}")[0] == 200


def test_arrays_of_different_lengths_cannot_be_one_output(kinds):
    status, headers, body = call(kinds, "POST", "/v2/models/ragged/infer",
                                 {"inputs": [{"name": "input", "shape": [2], "datatype": "INT32", "data": [0, 1]}]})
    assert status == 422, body
    assert "different lengths" in body["error"] and headers["X-Error-Code"] == "model_error"


# ----- nulls ---------------------------------------------------------------------------------------------------

def test_null_and_nan_are_null_in_a_nullable_input(v2):
    record = sonar_rows()[0]
    with_null = {**record, "V3": None}
    expected = json.loads(v2.http.post("/predict", body=json.dumps(with_null), headers=JSON).body)["prediction"]
    for missing in (None, "NaN"):
        inputs = tensors([record])
        inputs[2]["data"] = [missing]
        body = json.dumps({"inputs": inputs}).replace('"NaN"', "NaN")
        status, _, answer = call(v2, "POST", "/v2/models/sonar_naive_bayes/infer", body)
        assert status == 200, answer
        assert answer["outputs"][0]["data"] == [expected]


# ----- every error is the protocol's body with a 4xx --------------------------------------------------------------

def iris_request(**changes):
    inputs = tensors(iris_rows()[:3])
    for index, change in changes.items():
        inputs[int(index[1:])].update(change)
    return {"inputs": inputs}


BAD_REQUESTS = [
    ("not an object", [1, 2], 400, "expected an inference request object"),
    ("no inputs", {"id": "x"}, 400, "'inputs'"),
    ("unknown field", {"inputs": [], "input": []}, 400, "unknown field 'input'"),
    ("id not text", {**iris_request(), "id": 7}, 400, "id to be a string"),
    ("input not object", {"inputs": ["x"]}, 400, "inputs[0]"),
    ("unknown input", {"inputs": [{"name": "petals", "shape": [1], "datatype": "FP64", "data": [1]}]}, 400,
     "unknown input 'petals'; the model's inputs are sepal_length, sepal_width, petal_length, petal_width"),
    ("missing input", {"inputs": iris_request()["inputs"][:3]}, 400, "missing input 'petal_width' (FP64"),
    ("twice", {"inputs": iris_request()["inputs"] + iris_request()["inputs"][:1]}, 400, "given twice"),
    ("datatype", iris_request(i0={"datatype": "BYTES"}), 400,
     "input 'sepal_length' is double in the model, so its datatype is FP64 (or FP32, INT32, INT64); got BYTES"),
    ("no datatype", iris_request(i0={"datatype": "DOUBLE"}), 400, "needs datatype FP64"),
    ("shape", iris_request(i1={"shape": [3, 2]}), 400, "input 'sepal_width' has shape [3, 2]"),
    ("negative shape", iris_request(i1={"shape": [-1]}), 400, "non-negative integers"),
    ("count", iris_request(i2={"shape": [4]}), 400, "holds 4 values, but its data has 3"),
    ("rows", {"inputs": [dict(tensor, shape=[2], data=tensor["data"][:2]) if tensor["name"] == "petal_width"
                         else tensor for tensor in iris_request()["inputs"]]}, 400,
     "input 'petal_width' has 2 rows, but 'sepal_length' has 3"),
    ("no data", iris_request(i3={"data": None}), 400, "data must be an array"),
    ("not its shape", iris_request(i3={"data": [[[1]], [2], [3]]}), 400,
     "input 'petal_width' data does not follow its shape: give it flat, or as 3 arrays of 1 values"),
    ("too deep", iris_request(i3={"shape": [3, 1], "data": [[[1]], [2], [3]]}), 400,
     "input 'petal_width' data is nested deeper than its shape"),
    ("not integers", iris_request(i3={"datatype": "INT32", "data": [1, 1.5, 2]}), 400,
     "row 1 of 3, input 'petal_width': expected INT32, got number 1.5"),
    ("integer range", iris_request(i3={"datatype": "INT32", "data": [1, 2 ** 40, 2]}), 400,
     "row 1 of 3, input 'petal_width': expected INT32, got integer 1099511627776 (out of its range)"),
    ("NaN not nullable", json.dumps(iris_request(i3={"data": [0.1, float("nan"), 0.3]})), 400,
     "row 1 of 3, input 'petal_width': got NaN (a missing value), but the input is not nullable"),
    ("huge shape", iris_request(i3={"shape": [1] * 100000}), 400, "needs a shape [rows] or [rows, 1]"),
    ("huge shape size", json.dumps(iris_request(i3={"shape": ["N"]})).replace('"N"', "9" * 4000), 400,
     "needs a shape [rows] or [rows, 1] of non-negative integers, got [99999"),
    ("huge number", json.dumps(iris_request(i3={"data": ["N", 1, 2]})).replace('"N"', "9" * 5000), 400,
     "request body has an integer of over 4300 digits"),
    ("bad value", iris_request(i3={"data": [0.1, "wide", 0.3]}), 400,
     "row 1 of 3, input 'petal_width': expected FP64, got string \"wide\""),
    ("out of range", iris_request(i3={"data": [0.1, 1e999, 0.3]}), 400, "row 1 of 3, input 'petal_width'"),
    ("unknown output", {**iris_request(), "outputs": [{"name": "proba"}]}, 400,
     "unknown output 'proba'; the model's outputs are output"),
    ("other model", {**iris_request(), "model_name": "sonar"}, 400, "model_name 'sonar' is not the model in the path"),
    ("other version", {**iris_request(), "model_version": "v0"}, 404, "model_version 'v0' is not the version"),
    ("parameters", {**iris_request(), "parameters": [1]}, 400, "parameters to be an object"),
]


@pytest.mark.parametrize("case, body, status, message", BAD_REQUESTS, ids=[case[0] for case in BAD_REQUESTS])
def test_bad_requests_answer_the_protocol_error_naming_what(v2, case, body, status, message):
    got, headers, answer = call(v2, "POST", "/v2/models/iris/infer", body)
    assert got == status, answer
    assert list(answer) == ["error"] and isinstance(answer["error"], str) and len(answer["error"]) < 400
    assert message in answer["error"]
    assert "Traceback" not in answer["error"] and "Error:" not in answer["error"]
    assert headers["X-Error-Code"]


def test_transport_errors_answer_the_protocol_error(v2):
    cases = [
        ("POST", "/v2/models/iris/infer", b"{not json", JSON, 400, "not valid JSON"),
        ("POST", "/v2/models/iris/infer", b"", JSON, 400, "empty"),
        ("POST", "/v2/models/iris/infer", b"{}", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        ("POST", "/v2/models/nope/infer", json.dumps(iris_request()), JSON, 404, "nope"),
        ("POST", "/v2/models/Bad%20Name/infer", json.dumps(iris_request()), JSON, 400, "invalid model name"),
        ("PUT", "/v2/models/iris/infer", b"{}", JSON, 405, "not allowed"),
        ("GET", "/v2/models/nope", None, None, 404, "nope"),
        ("GET", "/v2/models/nope/ready", None, None, 404, "nope"),
    ]
    for method, path, body, headers, status, message in cases:
        response = v2.http.request(method, path, body=body, headers=headers)
        answer = json.loads(response.body)
        assert response.status_code == status, (path, answer)
        assert list(answer) == ["error"] and message in answer["error"], (path, answer)


def test_a_batch_is_bounded(serve_streams):
    client = serve_streams(MAX_BATCH_RECORDS="2")
    status, headers, body = call(client, "POST", "/v2/models/iris/infer", iris_request())
    assert status == 413 and "at most 2 rows" in body["error"] and headers["X-Error-Code"] == "payload_too_large"


# ----- binary tensor data ------------------------------------------------------------------------------------------

def binary_request(document, *tensors_bytes):
    header = json.dumps(document).encode()
    return header + b"".join(tensors_bytes), {"Content-Type": "application/octet-stream",
                                              "Inference-Header-Content-Length": str(len(header))}


def test_binary_inputs_are_read(kinds):
    import struct
    rows = KINDS_ROWS
    parts, inputs = [], []
    packers = {"INT32": "<i", "INT64": "<q", "FP32": "<f", "FP64": "<d", "BOOL": "<?"}
    for name, datatype in KINDS_TYPES.items():
        values = [x for row in rows for x in row[name]] if name == "v" else [row[name] for row in rows]
        if datatype == "BYTES":
            raw = b"".join(len(v.encode()).to_bytes(4, "little") + v.encode() for v in values)
        else:
            raw = b"".join(struct.pack(packers[datatype], float("nan") if v is None else v) for v in values)
        parts.append(raw)
        inputs.append({"name": name, "datatype": datatype, "shape": [2, 2] if name == "v" else [2],
                       "parameters": {"binary_data_size": len(raw)}})
    body, headers = binary_request({"inputs": inputs, "parameters": {"binary_data_output": True}}, *parts)
    status, _, answer = call(kinds, "POST", "/v2/models/kinds/infer", body, headers)
    assert status == 200, answer
    json_answer = call(kinds, "POST", "/v2/models/kinds/infer", {"inputs": kinds_inputs()})[2]
    assert answer == json_answer


BAD_BINARY = [
    ("x", 8, b"", "Inference-Header-Content-Length must be the length"),
    (None, 9, b"", "binary_data_size 9, but the body has 8 bytes"),
    (None, 8, b"\0", "1 byte of binary data that no input"),
    (None, 4, b"", "4 bytes of binary data; 1 FP64 values take 8"),
    ("\u00b2", 8, b"", "got '\u00b2'"),
    ("9" * 5000, 8, b"", "must be the length in bytes"),
    (None, "9" * 5000, b"", "request body has an integer of over 4300 digits"),
]


@pytest.mark.parametrize("header, size, extra, message", BAD_BINARY, ids=[str(i) for i in range(len(BAD_BINARY))])
def test_bad_binary_data_is_refused(kinds, header, size, extra, message):
    import struct
    raw = struct.pack("<d", 1.5)
    document = {"inputs": [{"name": "input", "datatype": "FP64", "shape": [1],
                            "parameters": {"binary_data_size": "SIZE" if isinstance(size, str) else size}}]}
    body, headers = binary_request(document, raw[:size] if isinstance(size, int) and size < 8 else raw, extra)
    if isinstance(size, str):
        text = json.dumps(document).replace('"SIZE"', size).encode()
        body, headers = text + raw, {**headers, "Inference-Header-Content-Length": str(len(text))}
    if header is not None:
        headers["Inference-Header-Content-Length"] = header
    status, _, answer = call(kinds, "POST", "/v2/models/toy/infer", body, headers)
    assert status == 400 and message in answer["error"], answer


# ----- compressed requests (tritonclient's request_compression_algorithm) ---------------------------------------

def test_gzip_and_deflate_requests_are_read_and_bounded(serve_streams):
    import gzip
    import zlib
    client = serve_streams()
    body = json.dumps(iris_request()).encode()
    plain = call(client, "POST", "/v2/models/iris/infer", body)[2]
    for encoding, packed in (("gzip", gzip.compress(body)), ("deflate", zlib.compress(body))):
        status, _, answer = call(client, "POST", "/v2/models/iris/infer", packed,
                                 {**JSON, "Content-Encoding": encoding})
        assert (status, answer) == (200, plain)
    cases = [("br", b"x", 415, "Content-Encoding 'br' is not supported"),
             ("gzip", b"not gzip", 400, "is not gzip data"),
             ("gzip", gzip.compress(body)[:-12], 400, "cut short")]
    for encoding, packed, status, message in cases:
        got, headers, answer = call(client, "POST", "/v2/models/iris/infer", packed,
                                    {**JSON, "Content-Encoding": encoding})
        assert got == status and message in answer["error"], answer
    small = serve_streams(MAX_BATCH_BODY_BYTES="100000")
    bomb = gzip.compress(b" " * 10_000_000)
    status, _, answer = call(small, "POST", "/v2/models/iris/infer", bomb, {**JSON, "Content-Encoding": "gzip"})
    assert status == 413 and "uncompressed is over the limit of 100000 bytes" in answer["error"], answer


def test_an_unsupported_content_type_names_both_accepted(v2):
    status, headers, answer = call(v2, "POST", "/v2/models/iris/infer", b"{}", {"Content-Type": "text/csv"})
    assert status == 415 and "application/json or application/octet-stream" in answer["error"], answer


def test_a_version_not_served_names_the_version_that_is(v2):
    status, headers, answer = call(v2, "GET", "/v2/models/iris/versions/v0/ready")
    assert status == 404 and headers["X-Model-Version"] in answer["error"], answer


# ----- what the second look found -----------------------------------------------------------------------------

def test_gzip_members_are_bounded(v2):
    import gzip
    body = gzip.compress(b"") * 17
    status, _, answer = call(v2, "POST", "/v2/models/iris/infer", body, {**JSON, "Content-Encoding": "gzip"})
    assert status == 400 and "more than 16 gzip members" in answer["error"], answer


def test_values_another_datatype_brings_must_fit_the_model_s_type(kinds):
    def toy(datatype, data):
        return call(kinds, "POST", "/v2/models/toy/infer",
                    {"inputs": [{"name": "input", "shape": [len(data)], "datatype": datatype, "data": data}]})
    assert toy("INT64", [2 ** 53, -(2 ** 53)])[2]["outputs"][0]["data"] == [2 ** 53 + 100.0, 100.0 - 2 ** 53]
    status, headers, answer = toy("INT64", [1, 2 ** 53 + 1])
    assert status == 400 and headers["X-Error-Code"] == "invalid_input", answer
    assert answer["error"] == ("row 1 of 2, input 'input': the integer 9007199254740993 has no exact double "
                               "(beyond 2^53); send it as FP64")
    assert toy("FP64", ["NaN"])[0] == 400 and toy("FP64", ["Infinity"])[0] == 400  # as the numbers would be


def test_a_zero_width_array_with_data_is_a_count_mismatch(kinds):
    status, _, answer = call(kinds, "POST", "/v2/models/vector/infer",
                             {"inputs": [{"name": "input", "shape": [1, 0], "datatype": "INT64", "data": ["x"]}]})
    assert status == 400 and "holds 0 values, but its data has 1" in answer["error"], answer


def test_the_body_s_model_is_checked_before_its_inputs(v2):
    status, _, answer = call(v2, "POST", "/v2/models/iris/infer", {"inputs": [], "model_name": "other"})
    assert status == 400 and "model_name 'other'" in answer["error"], answer
    status, _, answer = call(v2, "POST", "/v2/models/iris/infer", {"inputs": [], "model_version": "v0"})
    assert status == 404 and "model_version 'v0'" in answer["error"], answer


def test_an_empty_outputs_list_is_refused(v2):
    status, _, answer = call(v2, "POST", "/v2/models/iris/infer", {**iris_request(), "outputs": []})
    assert status == 400 and "leave it out for all of them" in answer["error"], answer


def test_binary_data_without_its_header_says_what_is_missing(kinds):
    import struct
    body, headers = binary_request({"inputs": [{"name": "input", "datatype": "FP64", "shape": [1],
                                                "parameters": {"binary_data_size": 8}}]}, struct.pack("<d", 1.0))
    del headers["Inference-Header-Content-Length"]
    status, _, answer = call(kinds, "POST", "/v2/models/toy/infer", body, headers)
    assert status == 400 and "needs the header Inference-Header-Content-Length" in answer["error"], answer


def test_metadata_marks_optional_inputs_and_readiness_is_never_cached(kinds, s3_client, streams_bucket):
    document = {"input": {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": "double"}, {"name": "b", "type": ["null", "double"], "default": None}]},
        "output": "double", "action": [{"attr": "input", "path": [{"string": "a"}]}]}
    s3_client.put_object(Bucket=streams_bucket, Key="models/defaults.pfa", Body=json.dumps(document).encode())
    meta = call(kinds, "GET", "/v2/models/defaults")[2]
    assert meta["inputs"] == [{"name": "a", "datatype": "FP64", "shape": [-1]},
                              {"name": "b", "datatype": "FP64", "shape": [-1],
                               "parameters": {"nullable": True, "optional": True}}]
    response = kinds.http.get("/v2/models/nope/ready")
    assert response.status_code == 404 and response.headers["Cache-Control"] == "no-store"
