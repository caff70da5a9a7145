"""Many models by name: lazy loading, listing, updates without redeploying, rollbacks, bounds."""

import json
import os
import threading
import time
import uuid
from pathlib import Path

import pytest
from chalice.test import Client
from chalice_local import call, chalice_local

import app as app_module
from chalicelib.wiring import build_runtime

MODELS = Path(__file__).parent.parent / "models"
JSON = {"Content-Type": "application/json"}
TOY = (MODELS / "toy_add100.pfa").read_bytes()
TOY_200 = TOY.replace(b'100', b'200')
BROKEN = b'{"input": "double", "output": "double", "action": [{"no.such.function": ["input"]}]}'
SONAR_KEY = "models/sonar_naive_bayes.pfa"


def settings_for(bucket, **overrides):
    return {"MODEL_BUCKET": bucket, "MODEL_KEY": SONAR_KEY, "MODEL_REFRESH_SECONDS": "0.1",
            "LOAD_RETRY_MIN_SECONDS": "0.1", "LOAD_RETRY_MAX_SECONDS": "0.2", **overrides}


@pytest.fixture
def bucket(s3_client, scratch_bucket):
    s3_client.upload_file(str(MODELS / "sonar_naive_bayes.pfa"), scratch_bucket, SONAR_KEY)
    s3_client.put_object(Bucket=scratch_bucket, Key="models/toy.pfa", Body=TOY)
    s3_client.upload_file(str(MODELS / "iris_decision_tree.pfa"), scratch_bucket, "models/iris.pfa")
    return scratch_bucket


@pytest.fixture
def serve(bucket):
    def configure(**overrides):
        environ = settings_for(bucket, **overrides)
        app_module.runtime.configure(lambda: build_runtime(environ, background=lambda task: task()))
        return Client(app_module.app)

    yield configure
    app_module.runtime.configure(lambda: build_runtime(os.environ))


def post(client, path, body):
    response = client.http.post(path, body=json.dumps(body), headers=JSON)
    return response.status_code, response.headers, json.loads(response.body)


def get(client, path):
    response = client.http.get(path)
    return response.status_code, json.loads(response.body)


def eventually(check, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_model_is_served_by_name_and_names_its_version(serve, s3_client, bucket):
    client = serve()
    version = s3_client.head_object(Bucket=bucket, Key="models/toy.pfa")["VersionId"]
    status, headers, body = post(client, "/models/toy/predict", 3.14)
    assert (status, body["prediction"]) == (200, pytest.approx(103.14))
    assert body["model"] == {"name": "toy", "version": version} and headers["X-Model-Version"] == version
    iris = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    assert post(client, "/models/iris/predict/batch", {"records": [iris]})[2]["predictions"] == ["setosa"]
    assert post(client, "/predict", 3.14)[0] == 400, "the default model is still Sonar"
    assert post(client, "/models/sonar_naive_bayes/predict", {"V1": 0.1})[0] == 400


def test_models_are_listed_with_their_loaded_state(serve):
    client = serve()
    post(client, "/models/toy/predict", 1)
    status, body = get(client, "/models")
    assert status == 200 and body["default"] == "sonar_naive_bayes"
    listed = {model["name"]: model for model in body["models"]}
    assert set(listed) == {"iris", "sonar_naive_bayes", "toy"}
    assert listed["toy"]["loaded"] is True and listed["toy"]["version"]
    assert listed["iris"]["loaded"] is False and listed["iris"]["version"] is None


def test_a_named_model_is_described_like_the_default_one(serve):
    client = serve()
    status, body = get(client, "/models/toy")
    assert status == 200
    assert set(get(client, "/model")[1]) == set(body)
    assert body["input_schema"] == "double" and body["example_request"] == 0.0
    assert body["update"]["failed_update"] is None


@pytest.mark.parametrize("name", ["bad.name", "-x", "x" * 65, "a b", "%2e%2e"])
def test_invalid_model_names_are_refused(serve, name):
    status, _, body = post(serve(), f"/models/{name}/predict", 1)
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "invalid_model_name", "name")


def test_an_unknown_model_is_404(serve):
    status, _, body = post(serve(), "/models/nosuchmodel/predict", 1)
    assert (status, body["error"]["code"]) == (404, "model_not_found")
    assert "nosuchmodel" in body["error"]["message"]


def test_a_new_version_takes_over_and_a_rollback_is_picked_up(serve, s3_client, bucket):
    client = serve()
    first = post(client, "/models/toy/predict", 1)[2]["model"]["version"]
    second = s3_client.put_object(Bucket=bucket, Key="models/toy.pfa", Body=TOY_200)["VersionId"]
    assert eventually(lambda: post(client, "/models/toy/predict", 1)[2]["model"]["version"] == second)
    assert post(client, "/models/toy/predict", 1)[2]["prediction"] == 201.0

    rollback = s3_client.copy_object(Bucket=bucket, Key="models/toy.pfa",
                                     CopySource={"Bucket": bucket, "Key": "models/toy.pfa", "VersionId": first})
    assert eventually(lambda: post(client, "/models/toy/predict", 1)[2]["model"]["version"] == rollback["VersionId"])
    assert post(client, "/models/toy/predict", 1)[2]["prediction"] == 101.0


def test_a_broken_version_placed_in_s3_never_replaces_the_good_one(serve, s3_client, bucket):
    client = serve()
    good = post(client, "/models/toy/predict", 1)[2]["model"]["version"]
    broken = s3_client.put_object(Bucket=bucket, Key="models/toy.pfa", Body=BROKEN)["VersionId"]
    assert eventually(lambda: get(client, "/models/toy")[1]["update"]["failed_update"] is not None)
    failed = get(client, "/models/toy")[1]["update"]["failed_update"]
    assert failed["version"] == broken and "does not compile" in failed["reason"]
    status, _, body = post(client, "/models/toy/predict", 1)
    assert (status, body["prediction"], body["model"]["version"]) == (200, 101.0, good)


def test_a_deleted_model_stops_answering(serve, s3_client, bucket):
    client = serve()
    assert post(client, "/models/toy/predict", 1)[0] == 200
    s3_client.delete_object(Bucket=bucket, Key="models/toy.pfa")
    assert eventually(lambda: post(client, "/models/toy/predict", 1)[0] == 404)


def test_loaded_models_stay_within_the_bound(serve, s3_client, bucket):
    for index in range(4):
        s3_client.put_object(Bucket=bucket, Key=f"models/toy{index}.pfa", Body=TOY)
    client = serve(MAX_LOADED_MODELS="2")
    post(client, "/predict", {})
    for index in range(4):
        assert post(client, f"/models/toy{index}/predict", 1)[0] == 200
    loaded = [model["name"] for model in get(client, "/models")[1]["models"] if model["loaded"]]
    assert len(loaded) == 2 and "sonar_naive_bayes" in loaded and "toy3" in loaded
    assert post(client, "/models/toy0/predict", 1)[0] == 200, "an evicted model loads again on demand"


def test_versions_swapped_under_concurrent_load_answer_every_request_correctly(s3, s3_client, model_bucket,
                                                                                 tmp_path):
    """Threads post over real HTTP while a new version is uploaded: every answer is 200 and each one is
    the correct prediction of the version it names."""
    name = f"toy-{uuid.uuid4().hex[:8]}"
    key = f"models/{name}.pfa"
    first = s3_client.put_object(Bucket=model_bucket, Key=key, Body=TOY)["VersionId"]
    env = {**s3.client_environment(), "MODEL_REFRESH_SECONDS": "0.2"}
    answers, stop = [], threading.Event()

    with chalice_local(env, tmp_path / "chalice.log") as url:
        def hammer():
            while not stop.is_set():
                answers.append(call(f"{url}/models/{name}/predict", b"1"))

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        second = s3_client.put_object(Bucket=model_bucket, Key=key, Body=TOY_200)["VersionId"]
        assert eventually(lambda: any(body.get("model", {}).get("version") == second for _, _, body in answers[-8:]),
                          timeout=10)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()

    expected = {first: 101.0, second: 201.0}
    assert answers and all(status == 200 for status, _, _ in answers), {a[0] for a in answers}
    assert all(body["prediction"] == expected[body["model"]["version"]] for _, _, body in answers)
    versions = [body["model"]["version"] for _, _, body in answers]
    assert versions.count(first) > 10 and versions.count(second) > 10
    assert versions.index(second) > max(i for i, version in enumerate(versions) if version == first) - 8


def test_a_new_version_takes_over_between_requests(serve, s3_client, bucket):
    client = serve()
    post(client, "/predict", {})
    post(client, "/models/toy/predict", 1)
    second = s3_client.put_object(Bucket=bucket, Key="models/toy.pfa", Body=TOY_200)["VersionId"]

    def listed_version():  # listing does not touch the models, so only the background refresher can swap
        return {model["name"]: model["version"] for model in get(client, "/models")[1]["models"]}["toy"]

    assert eventually(lambda: listed_version() == second)
