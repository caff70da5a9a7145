"""Which engine serves, through the routes: PFA_ENGINE, the engine and its reason in GET /model and
GET /models/{name}, a document the compiler does not cover, and a compiled engine that disagrees."""

import json
import os
from pathlib import Path

import pytest
from chalice.test import Client

import app as app_module
from chalicelib.compiler import compile_document
from chalicelib.compiler.choice import EngineRefused, choose_engine, keeps_no_state
from chalicelib.served_model import compile_served
from chalicelib.settings import Settings, SettingsError
from chalicelib.wiring import build_runtime

MODELS = Path(__file__).parent.parent / "models"
SONAR_KEY = "models/sonar_naive_bayes.pfa"
JSON = {"Content-Type": "application/json"}
# pack/unpack is the one core form the compiler leaves to titus.
PACKED = {"input": "int", "output": "bytes", "action": [{"pack": [{"int": "input"}]}]}
SQUARE = {"input": "double", "output": "double", "action": [{"*": ["input", "input"]}]}


@pytest.fixture
def bucket(s3_client, scratch_bucket):
    s3_client.upload_file(str(MODELS / "sonar_naive_bayes.pfa"), scratch_bucket, SONAR_KEY)
    s3_client.upload_file(str(MODELS / "iris_decision_tree.pfa"), scratch_bucket, "models/iris.pfa")
    s3_client.put_object(Bucket=scratch_bucket, Key="models/packed.pfa", Body=json.dumps(PACKED))
    s3_client.put_object(Bucket=scratch_bucket, Key="models/square.pfa", Body=json.dumps(SQUARE))
    return scratch_bucket


@pytest.fixture
def serve(bucket):
    def configure(**overrides):
        environ = {"MODEL_BUCKET": bucket, "MODEL_KEY": SONAR_KEY, "MODEL_REFRESH_SECONDS": "0",
                   "LOAD_RETRY_MIN_SECONDS": "0.1", "LOAD_RETRY_MAX_SECONDS": "0.2", **overrides}
        app_module.runtime.configure(lambda: build_runtime(environ, background=lambda task: task()))
        return Client(app_module.app)

    yield configure
    app_module.runtime.configure(lambda: build_runtime(os.environ))


def get(client, path):
    response = client.http.get(path)
    return response.status_code, json.loads(response.body)


def post(client, path, body):
    response = client.http.post(path, body=json.dumps(body), headers=JSON)
    return response.status_code, json.loads(response.body)


def example(name):
    return json.loads(json.loads((MODELS / f"{name}.pfa").read_text())["metadata"]["example_request"])


def test_by_default_the_example_models_serve_compiled_and_say_why(serve):
    client = serve()
    status, body = get(client, "/model")
    assert status == 200
    assert body["engine"]["name"] == "compiled"
    assert body["engine"]["reason"].startswith("it agreed with titus on ")
    status, body = get(client, "/models/iris")
    assert (status, body["engine"]["name"]) == (200, "compiled")
    assert post(client, "/predict", example("sonar_naive_bayes"))[1]["prediction"] == "R"


def test_titus_serves_what_the_compiler_does_not_cover_and_says_so(serve):
    client = serve()
    status, body = post(client, "/models/packed/predict", 7)
    assert status == 200
    status, body = get(client, "/models/packed")
    assert body["engine"] == {"name": "titus", "reason": "the compiler does not cover this document: the form "
                                                         "Pack is not compiled"}


def test_pfa_engine_titus_serves_with_titus(serve):
    client = serve(PFA_ENGINE="titus")
    assert get(client, "/model")[1]["engine"] == {"name": "titus", "reason": "PFA_ENGINE is 'titus'"}
    assert post(client, "/predict", example("sonar_naive_bayes"))[1]["prediction"] == "R"


def test_pfa_engine_compiled_refuses_to_load_what_it_cannot_compile(serve):
    client = serve(PFA_ENGINE="compiled")
    assert get(client, "/model")[1]["engine"]["name"] == "compiled"
    status, body = post(client, "/models/packed/predict", 7)
    assert status == 503
    assert "PFA_ENGINE is 'compiled' but the compiler does not cover this document" in body["error"]["message"]


def test_a_compiled_engine_that_disagrees_with_titus_does_not_serve():
    # A compiler that writes x + x for x * x stands for a compiler bug: the load-time check catches it.
    doubling = {**SQUARE, "action": [{"+": ["input", "input"]}]}
    check_inputs = [3.0, 2.0]
    choice = choose_engine(SQUARE, "auto", check_inputs, compiler=lambda document: compile_document(doubling))
    assert (choice.name, choice.compiled) == ("titus", None)
    assert choice.reason == "the compiled engine disagreed with titus on check input 1: the two engines gave " \
                            "different values"
    with pytest.raises(EngineRefused, match="disagreed with titus on check input 1"):
        choose_engine(SQUARE, "compiled", check_inputs, compiler=lambda document: compile_document(doubling))
    # 2 * 2 == 2 + 2: an input on which the two agree proves nothing wrong.
    assert choose_engine(SQUARE, "auto", [2.0], compiler=lambda document: compile_document(doubling)).name == \
        "compiled"


def test_a_compiler_failure_leaves_the_document_to_titus_without_a_python_trace():
    def failing(document):
        raise KeyError("a bug")

    choice = choose_engine(SQUARE, "auto", [3.0], compiler=failing)
    assert (choice.name, choice.reason) == ("titus", "the compiler does not cover this document: the compiler "
                                                     "failed on it (KeyError)")


def test_pfa_engine_is_checked_once_and_named():
    base = {"MODEL_BUCKET": "b", "MODEL_KEY": "k"}
    assert Settings.from_mapping(base).pfa_engine == "auto"
    assert Settings.from_mapping({**base, "PFA_ENGINE": " Compiled "}).pfa_engine == "compiled"
    with pytest.raises(SettingsError, match="PFA_ENGINE must be one of auto, compiled, titus, got 'fast'"):
        Settings.from_mapping({**base, "PFA_ENGINE": "fast"})


COUNTER = {"input": "double", "output": "int", "cells": {"seen": {"type": "int", "init": 0}},
           "action": [{"cell": "seen", "to": {"+": [{"cell": "seen"}, 1]}}, {"cell": "seen"}]}


@pytest.mark.parametrize("engine", ["auto", "titus"])
def test_the_load_time_check_leaves_a_stateful_models_served_state_untouched(engine):
    served = compile_served(json.dumps(COUNTER).encode(), "counter.pfa", engine=engine)
    assert served.model.engine.name == ("compiled" if engine == "auto" else "titus")
    assert [served.predict(0.5) for _ in range(3)] == [1, 2, 3]


def test_only_documents_that_keep_no_state_share_the_serving_titus_engine_with_the_check():
    assert keeps_no_state(SQUARE) and keeps_no_state(json.loads((MODELS / "sonar_naive_bayes.pfa").read_text()))
    assert not keeps_no_state(COUNTER)
    assert not keeps_no_state({**SQUARE, "action": [{"log": ["input"]}, "input"]})
    assert not keeps_no_state({**SQUARE, "action": [{"rand.double": [0, 1]}]})
    assert not keeps_no_state({**SQUARE, "output": "long", "action": ["actionsStarted"]})
