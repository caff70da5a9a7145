"""The Open Inference Protocol as its clients speak it, over real HTTP: NVIDIA's tritonclient (binary tensors, its
default, and JSON ones) here, and KServe's InferenceRESTClient in its own venv (.venv-kserve, which `make test`
builds: kserve's pins conflict with this venv's). One `chalice local` serves the Sonar model (default) and iris
(models/iris.pfa); every answer is checked against R's and scikit-learn's labels and against /predict/batch on the
same server."""

import csv
import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import numpy as np
import pytest
import tritonclient.http as httpclient
from chalice_local import PROJECT, call, chalice_local
from tritonclient.utils import InferenceServerException

from chalicelib import __version__

DATA = PROJECT / "tests" / "data"
MODELS = PROJECT / "models"
SONAR = "sonar_naive_bayes"
IRIS = "iris"
IRIS_KEY = "models/iris.pfa"
SONAR_INPUTS = [f"V{i}" for i in range(1, 61)]
IRIS_COLUMNS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width", "Petal.Length": "petal_length",
                "Petal.Width": "petal_width"}
IRIS_INPUTS = list(IRIS_COLUMNS.values())
OUTPUT = [{"name": "output", "datatype": "BYTES", "shape": [-1]}]
KSERVE_PYTHON = PROJECT / ".venv-kserve" / "bin" / "python"
KSERVE_SCRIPT = PROJECT / "tests" / "kserve_client_check.py"
WRONG_VERSION = "not-the-serving-version"


def sonar_rows() -> List[Dict[str, Optional[float]]]:
    with open(DATA / "sonar.csv") as handle:
        return [{key: float(row[key]) for key in SONAR_INPUTS} for row in csv.DictReader(handle)]


def iris_rows() -> List[Dict[str, Optional[float]]]:
    with open(DATA / "iris.csv") as handle:
        return [{name: float(row[column]) for column, name in IRIS_COLUMNS.items()} for row in csv.DictReader(handle)]


def labels(path: Path) -> List[str]:
    with open(path) as handle:
        return [row["pred"] for row in csv.DictReader(handle)]


R_LABELS = labels(MODELS / "sonar_naive_bayes.r_predictions.csv")
SKLEARN_LABELS = labels(MODELS / "iris_decision_tree.sklearn_predictions.csv")


class Server:
    def __init__(self, url: str, versions: Dict[str, str]) -> None:
        self.url = url
        self.versions = versions
        self.triton = httpclient.InferenceServerClient(url=url.removeprefix("http://"))

    def predict(self, path: str, record: Dict[str, Any]) -> Any:
        status, headers, body = call(self.url + path, json.dumps(record).encode())
        assert status == 200, body
        return body["prediction"]

    def batch(self, path: str, records: List[Dict[str, Any]]) -> List[Any]:
        status, _, body = call(self.url + path, json.dumps({"records": records}).encode())
        assert status == 200 and not body.get("errors"), body
        return body["predictions"]


@pytest.fixture(scope="module")
def server(s3, s3_client, model_bucket, tmp_path_factory) -> Iterator[Server]:
    """`chalice local` on the dev stage's bucket (chalice local applies the stage's MODEL_BUCKET over the
    environment), with iris beside the default Sonar model for this module; the versions are the ones /predict
    names."""
    s3_client.upload_file(str(MODELS / "iris_decision_tree.pfa"), model_bucket, IRIS_KEY)
    try:
        with chalice_local(s3.client_environment(), tmp_path_factory.mktemp("v2-clients") / "chalice.log") as url:
            versions = {}
            for name, path, record in ((SONAR, "/predict", sonar_rows()[0]),
                                       (IRIS, "/models/iris/predict", iris_rows()[0])):
                status, headers, body = call(url + path, json.dumps(record).encode())
                assert status == 200, body
                versions[name] = headers["X-Model-Version"]
            served = Server(url, versions)
            try:
                yield served
            finally:
                served.triton.close()
    finally:
        stored = s3_client.list_object_versions(Bucket=model_bucket, Prefix=IRIS_KEY)
        for version in stored.get("Versions", []) + stored.get("DeleteMarkers", []):
            if version["Key"] == IRIS_KEY:
                s3_client.delete_object(Bucket=model_bucket, Key=IRIS_KEY, VersionId=version["VersionId"])


def triton_inputs(records: List[Dict[str, Any]], names: List[str], binary: bool = True) -> List[Any]:
    """One FP64 tensor per input, row i of each from record i (None as NaN, as NumPy holds a missing value)."""
    tensors = []
    for name in names:
        values = np.array([math.nan if record[name] is None else record[name] for record in records],
                          dtype=np.float64)
        tensor = httpclient.InferInput(name, [len(records)], "FP64")
        tensor.set_data_from_numpy(values, binary_data=binary)
        tensors.append(tensor)
    return tensors


def refused(call_it) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as raised:
        call_it()
    return raised.value


def status_of(error: InferenceServerException) -> int:
    return int(error.status())


# ----- health and metadata --------------------------------------------------------------------------------------


def test_the_server_is_live_and_ready_and_names_itself(server):
    assert server.triton.is_server_live() and server.triton.is_server_ready()
    metadata = server.triton.get_server_metadata()
    assert metadata == {"name": "pfa-serving", "version": __version__, "extensions": []}


def test_sonar_metadata_has_a_nullable_fp64_tensor_per_key_and_the_version_predict_names(server):
    metadata = server.triton.get_model_metadata(SONAR)
    assert metadata["name"] == SONAR and metadata["versions"] == [server.versions[SONAR]]
    assert metadata["inputs"] == [{"name": name, "datatype": "FP64", "shape": [-1], "parameters": {"nullable": True}}
                                  for name in SONAR_INPUTS]
    assert metadata["outputs"] == OUTPUT
    assert server.triton.get_model_metadata(SONAR, model_version=server.versions[SONAR]) == metadata


def test_iris_metadata_has_a_tensor_per_field(server, s3_client, model_bucket):
    metadata = server.triton.get_model_metadata(IRIS)
    assert metadata["name"] == IRIS and metadata["versions"] == [server.versions[IRIS]]
    assert server.versions[IRIS] == s3_client.head_object(Bucket=model_bucket, Key=IRIS_KEY)["VersionId"]
    assert metadata["inputs"] == [{"name": name, "datatype": "FP64", "shape": [-1]} for name in IRIS_INPUTS]
    assert metadata["outputs"] == OUTPUT
    assert server.triton.get_model_metadata(IRIS, model_version=server.versions[IRIS]) == metadata


def test_models_are_ready_with_and_without_their_version(server):
    for name in (SONAR, IRIS):
        assert server.triton.is_model_ready(name)
        assert server.triton.is_model_ready(name, model_version=server.versions[name])


def test_a_version_that_does_not_serve_is_not_ready_and_is_refused_naming_it(server):
    triton = server.triton
    assert not triton.is_model_ready(SONAR, model_version=WRONG_VERSION)
    assert not triton.is_model_ready("nosuchmodel")
    for error in (refused(lambda: triton.get_model_metadata(SONAR, model_version=WRONG_VERSION)),
                  refused(lambda: triton.infer(SONAR, triton_inputs(sonar_rows()[:2], SONAR_INPUTS),
                                               model_version=WRONG_VERSION))):
        assert status_of(error) == 404
        assert WRONG_VERSION in error.message() and server.versions[SONAR] in error.message()


# ----- inference ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False], ids=["binary-inputs", "json-inputs"])
def test_all_sonar_rows_get_rs_labels_and_the_predict_batch_answers(server, binary):
    records = sonar_rows()
    result = server.triton.infer(SONAR, triton_inputs(records, SONAR_INPUTS, binary), request_id=f"sonar-{binary}")
    response = result.get_response()
    assert response["model_name"] == SONAR and response["model_version"] == server.versions[SONAR]
    assert response["id"] == f"sonar-{binary}"
    # Answered as JSON although tritonclient asks for binary outputs (binary_data_output): it reads either.
    assert "parameters" not in result.get_output("output")
    predictions = result.as_numpy("output").tolist()
    assert predictions == R_LABELS
    assert predictions == server.batch("/predict/batch", records)


@pytest.mark.parametrize("binary", [True, False], ids=["binary-inputs", "json-inputs"])
def test_all_iris_rows_get_the_sklearn_labels_and_the_predict_batch_answers(server, binary):
    records = iris_rows()
    result = server.triton.infer(IRIS, triton_inputs(records, IRIS_INPUTS, binary))
    assert result.get_response()["model_version"] == server.versions[IRIS]
    predictions = result.as_numpy("output").tolist()
    assert predictions == SKLEARN_LABELS
    assert predictions == server.batch("/models/iris/predict/batch", records)


def test_binary_inputs_sent_as_octet_stream_are_read_too(server):
    """tritonclient sends no Content-Type; behind API Gateway a binary body needs application/octet-stream (a
    binary media type), which Chalice hands over base64-encoded."""
    records = sonar_rows()
    result = server.triton.infer(SONAR, triton_inputs(records, SONAR_INPUTS),
                                 headers={"Content-Type": "application/octet-stream"})
    assert result.as_numpy("output").tolist() == R_LABELS


@pytest.mark.parametrize("binary_output", [True, False])
def test_requested_outputs_are_answered(server, binary_output):
    records = iris_rows()[::10]
    result = server.triton.infer(IRIS, triton_inputs(records, IRIS_INPUTS),
                                 outputs=[httpclient.InferRequestedOutput("output", binary_data=binary_output)],
                                 model_version=server.versions[IRIS])
    assert [output["name"] for output in result.get_response()["outputs"]] == ["output"]
    assert result.as_numpy("output").tolist() == SKLEARN_LABELS[::10]


@pytest.mark.parametrize("binary", [True, False], ids=["binary-inputs", "json-inputs"])
def test_a_nan_in_a_nullable_sonar_input_scores_like_null_in_predict(server, binary):
    records = sonar_rows()[:6]
    for index, record in enumerate(records):
        record[SONAR_INPUTS[index * 11]] = None  # V1, V12, V23, ...: a different input in each row
    result = server.triton.infer(SONAR, triton_inputs(records, SONAR_INPUTS, binary))
    predictions = result.as_numpy("output").tolist()
    assert predictions == server.batch("/predict/batch", records)
    assert predictions[0] == server.predict("/predict", records[0])
    assert set(predictions) <= {"M", "R"}


# ----- errors ---------------------------------------------------------------------------------------------------


def test_an_unknown_model_is_404_naming_it(server):
    for error in (refused(lambda: server.triton.infer("nosuchmodel", triton_inputs(iris_rows()[:1], IRIS_INPUTS))),
                  refused(lambda: server.triton.get_model_metadata("nosuchmodel"))):
        assert status_of(error) == 404 and "nosuchmodel" in error.message()


def test_a_bytes_tensor_for_an_fp64_input_is_refused_naming_it(server):
    records = iris_rows()[:3]
    inputs = triton_inputs(records, IRIS_INPUTS[1:])
    wrong = httpclient.InferInput("sepal_length", [3], "BYTES")
    wrong.set_data_from_numpy(np.array([b"5.1", b"4.9", b"4.7"], dtype=np.object_))
    error = refused(lambda: server.triton.infer(IRIS, [wrong, *inputs]))
    assert status_of(error) == 400
    assert "'sepal_length'" in error.message() and "FP64" in error.message() and "BYTES" in error.message()


def test_a_tensor_of_the_wrong_shape_is_refused_naming_it(server):
    records = iris_rows()[:3]
    inputs = triton_inputs(records, IRIS_INPUTS[1:])
    wrong = httpclient.InferInput("sepal_length", [3, 2], "FP64")
    wrong.set_data_from_numpy(np.ones((3, 2)))
    error = refused(lambda: server.triton.infer(IRIS, [wrong, *inputs]))
    assert status_of(error) == 400 and "'sepal_length'" in error.message() and "[3, 2]" in error.message()


def test_a_missing_input_is_refused_naming_it(server):
    error = refused(lambda: server.triton.infer(SONAR, triton_inputs(sonar_rows()[:3], SONAR_INPUTS[:-1])))
    assert status_of(error) == 400 and "missing input 'V60'" in error.message()


def test_an_unknown_input_is_refused_naming_it(server):
    records = [{**record, "sepal_area": 1.0} for record in iris_rows()[:3]]
    error = refused(lambda: server.triton.infer(IRIS, triton_inputs(records, [*IRIS_INPUTS, "sepal_area"])))
    assert status_of(error) == 400 and "unknown input 'sepal_area'" in error.message()


@pytest.mark.parametrize("binary", [True, False], ids=["binary-inputs", "json-inputs"])
def test_a_row_that_fails_validation_fails_the_call_naming_the_row_and_input(server, binary):
    records = iris_rows()
    records[7]["petal_width"] = None  # NaN: iris's doubles are not nullable
    error = refused(lambda: server.triton.infer(IRIS, triton_inputs(records, IRIS_INPUTS, binary)))
    assert status_of(error) == 400
    assert "row 7 of 150" in error.message() and "'petal_width'" in error.message()


# ----- KServe's client, in its own venv -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kserve(server) -> Dict[str, Any]:
    """What tests/kserve_client_check.py, run by .venv-kserve's Python, saw of the server."""
    if not KSERVE_PYTHON.exists():
        pytest.fail(f"{KSERVE_PYTHON.relative_to(PROJECT)} is missing: KServe's client has its own venv; build it "
                    f"with `make venv-kserve` (make test builds it first)", pytrace=False)
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    done = subprocess.run([str(KSERVE_PYTHON), str(KSERVE_SCRIPT), server.url], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout)


def test_kserve_client_health_and_readiness(kserve):
    assert kserve["server_live"] is True and kserve["server_ready"] is True
    assert kserve["model_ready"] == {SONAR: True, IRIS: True, "nosuchmodel": False}


@pytest.mark.parametrize("encoding", ["json", "binary"])
def test_kserve_client_scores_every_sonar_row_as_r_and_predict_batch_do(server, kserve, encoding):
    answer = kserve["sonar"][encoding]
    assert answer["predictions"] == R_LABELS
    assert answer["predictions"] == server.batch("/predict/batch", sonar_rows())
    assert answer["model_version"] == server.versions[SONAR]


def test_kserve_client_scores_every_iris_row_as_sklearn_and_predict_batch_do(server, kserve):
    answer = kserve["iris"]
    assert answer["predictions"] == SKLEARN_LABELS
    assert answer["predictions"] == server.batch("/models/iris/predict/batch", iris_rows())
    assert answer["model_version"] == server.versions[IRIS]


def test_kserve_client_errors_carry_the_status_and_the_message(kserve):
    unknown_input: Optional[Dict[str, Any]] = kserve["errors"]["unknown_input"]
    assert unknown_input is not None and unknown_input["status"] == 400
    assert "unknown input 'V61'" in unknown_input["message"]
    unknown_model = kserve["errors"]["unknown_model"]
    assert unknown_model is not None and unknown_model["status"] == 404 and "nosuchmodel" in unknown_model["message"]
