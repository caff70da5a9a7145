"""Hostile models and names, put straight into the real local S3 (as anyone with bucket access can):
none of them may take the service's time or memory, fail other records, or leave an answer unbounded."""

import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Dict

import pytest
from chalice.test import Client
from chalice_local import call, chalice_local

import app as app_module
from chalicelib.limits.memory import resident_bytes
from chalicelib.wiring import build_runtime

MODELS = Path(__file__).parent.parent / "models"
CONFIG = json.loads((Path(__file__).parent.parent / ".chalice" / "config.json").read_text())
HOSTILE = json.loads((Path(__file__).parent / "pfa" / "hostile.json").read_text())
SONAR_KEY = "models/sonar_naive_bayes.pfa"
JSON = {"Content-Type": "application/json"}
MB = 1024 * 1024


def hostile(name):
    return json.dumps(HOSTILE[name]).encode()


@pytest.fixture
def bucket(s3_client, scratch_bucket):
    s3_client.upload_file(str(MODELS / "sonar_naive_bayes.pfa"), scratch_bucket, SONAR_KEY)
    for name, document in HOSTILE.items():
        if name != "_doc":
            s3_client.put_object(Bucket=scratch_bucket, Key=f"models/{name}.pfa", Body=json.dumps(document))
    return scratch_bucket


@pytest.fixture(params=["titus", "auto"])
def engine(request):
    """PFA_ENGINE: every hostile document must be as harmless on titus as where the compiled engine serves."""
    return request.param


@pytest.fixture
def serve(bucket, engine):
    def configure(**overrides):
        environ = {"MODEL_BUCKET": bucket, "MODEL_KEY": SONAR_KEY, "MODEL_REFRESH_SECONDS": "0",
                   "LOAD_RETRY_MIN_SECONDS": "0.1", "LOAD_RETRY_MAX_SECONDS": "0.2", "PFA_ENGINE": engine,
                   **overrides}
        runtime = build_runtime(environ, background=lambda task: task())
        app_module.runtime.configure(lambda: runtime)
        return Client(app_module.app), runtime

    yield configure
    app_module.runtime.configure(lambda: build_runtime(os.environ))


# Hostile documents the compiler does not cover (titus serves them under auto), with the reason; and those the
# service refuses to load at all.
NOT_COMPILED = {}
NOT_LOADED = {"back_reference"}
# Compiled, but the load-time check of PFA_ENGINE=auto does not pick the compiled engine.
NOT_CHOSEN: Dict[str, str] = {
    "forever": "titus runs out of time on every check input, so nothing shows the engines agree",
    "petabytes": "titus runs out of time or memory on every check input, so nothing shows the engines agree",
}


def _engines(client):
    return {name: client.http.get(f"/models/{name}").json_body.get("engine")
            for name in sorted(HOSTILE) if name != "_doc" and name not in NOT_LOADED}


def test_documents_the_compiler_covers_are_served_compiled_under_auto(serve, engine):
    client, _ = serve(MODEL_TIMEOUT_MS="300")
    chosen = _engines(client)
    titus_only = NOT_COMPILED.keys() | NOT_CHOSEN.keys()
    expected = {name: "titus" if engine == "titus" or name in titus_only else "compiled" for name in chosen}
    assert {name: (described or {}).get("name") for name, described in chosen.items()} == expected, chosen
    assert client.http.get("/models/sonar_naive_bayes").json_body["engine"]["name"] == \
        ("compiled" if engine == "auto" else "titus")


@pytest.mark.parametrize("engine", ["auto"])
def test_a_recursive_document_is_served_compiled_under_auto(serve):
    client, _ = serve(MODEL_TIMEOUT_MS="300")
    assert _engines(client)["fibonacci"]["name"] == "compiled"


def post(client, path, body):
    response = client.http.post(path, body=body if isinstance(body, bytes) else json.dumps(body), headers=JSON)
    return response.status_code, json.loads(response.body), len(response.body)


# --- names ---------------------------------------------------------------------------------------------


def test_unknown_names_are_remembered_within_a_bound_on_every_path(serve):
    client, runtime = serve()
    registry = runtime.service._registry
    for index in range(300):  # the bound, and then some, through every route that takes a name
        assert client.http.get(f"/models/ghost{index}").status_code == 404
        assert post(client, f"/models/phantom{index}/predict", 1)[0] == 404
        assert post(client, f"/models/spectre{index}/predict/batch", {"records": [1]})[0] == 404
    assert registry.remembered() <= 257
    before = resident_bytes()
    for index in range(3000):
        assert client.http.get(f"/models/wraith{index}").status_code == 404
    assert registry.remembered() <= 257
    assert resident_bytes() - before < 40 * MB
    assert post(client, "/models/sonar_naive_bayes/predict", json.loads(_example()))[0] == 200


def _example():
    return json.loads((MODELS / "sonar_naive_bayes.pfa").read_text())["metadata"]["example_request"]


# --- time ----------------------------------------------------------------------------------------------


def loaded(client, name):
    """Load ``name`` before a test times its calls: a call's deadline also covers a load it waits for."""
    assert client.http.get(f"/models/{name}").status_code == 200


def test_recursion_cannot_run_past_the_timeout(serve):
    client, _ = serve(MODEL_TIMEOUT_MS="300")
    loaded(client, "fibonacci")
    status, body, _ = post(client, "/models/fibonacci/predict", 40)
    assert (status, body["error"]["code"]) == (504, "model_timeout")
    assert post(client, "/models/fibonacci/predict", 10)[1]["prediction"] == 55


def test_a_library_function_calling_back_cannot_run_past_the_timeout(serve):
    client, _ = serve(MODEL_TIMEOUT_MS="300")
    loaded(client, "many_callbacks")
    assert post(client, "/models/many_callbacks/predict", 3)[1]["prediction"] == 16.0
    status, body, _ = post(client, "/models/many_callbacks/predict", 23)  # 8 million calls
    assert (status, body["error"]["code"]) == (504, "model_timeout")


def test_a_batch_has_one_deadline_and_every_record_comes_out_once(serve):
    client, _ = serve(MODEL_TIMEOUT_MS="300")
    loaded(client, "forever")
    started = time.monotonic()
    status, body, _ = post(client, "/models/forever/predict/batch", {"records": [1, 2, 3, 4, 5]})
    elapsed = time.monotonic() - started
    assert status == 200 and body["predictions"] == [None] * 5
    assert [(error["index"], error["code"]) for error in body["errors"]] == [(i, "model_timeout") for i in range(5)]
    assert "ran out after 1 of 5 records" in body["errors"][1]["message"]
    assert elapsed < 0.3 * 1.3 + 1


def test_concurrent_callers_and_a_batch_each_answer_within_the_timeout_over_http(model_bucket, s3_client, tmp_path,
                                                                                 engine):
    name = f"forever-{uuid.uuid4().hex[:8]}"
    s3_client.put_object(Bucket=model_bucket, Key=f"models/{name}.pfa", Body=hostile("forever"))
    # chalice local applies the stage's settings over the environment: this is the dev stage's timeout.
    timeout_ms = int(CONFIG["environment_variables"]["MODEL_TIMEOUT_MS"])
    # Under auto titus would serve "forever" (no check input finishes): PFA_ENGINE=compiled makes the compiled
    # engine's timeout the one tested.
    setting = "compiled" if engine == "auto" else engine
    with chalice_local({"PFA_ENGINE": setting}, tmp_path / "chalice.log") as url:
        described = call(f"{url}/models/{name}")
        assert described[0] == 200  # loaded before the clock starts
        assert described[2]["engine"]["name"] == setting
        answers = {}

        def ask(key, path, body):
            started = time.monotonic()
            status, _, answer = call(url + path, json.dumps(body).encode())
            answers[key] = (status, answer, time.monotonic() - started)

        callers = [threading.Thread(target=ask, args=(0, f"/models/{name}/predict", 1)),
                   threading.Thread(target=ask, args=(1, f"/models/{name}/predict", 2)),
                   threading.Thread(target=ask, args=(2, f"/models/{name}/predict/batch", {"records": [1] * 5}))]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
    bound = timeout_ms / 1000 * 1.3 + 1
    for key in (0, 1):
        status, answer, elapsed = answers[key]
        assert (status, answer["error"]["code"]) == (504, "model_timeout") and elapsed < bound, answer
    status, answer, elapsed = answers[2]
    assert status == 200 and {error["code"] for error in answer["errors"]} == {"model_timeout"}, answer
    assert elapsed < bound
    assert len(answer["errors"]) == 5


def test_a_back_reference_is_refused_at_load_and_at_run_time(serve):
    client, _ = serve()
    status, body, _ = post(client, "/models/back_reference/predict", "a" * 400)
    assert (status, body["error"]["code"]) == (503, "model_not_ready")
    assert "\\1 in the pattern of re.contains" in body["error"]["message"]
    assert "back-references" in client.http.get("/models/back_reference").json_body["error"]["message"]
    status, body, _ = post(client, "/models/computed_back_reference/predict", "a" * 400)
    assert (status, body["error"]["code"]) == (422, "model_error")
    assert "back-references" in body["error"]["message"]


def test_a_regular_expression_runs_only_on_a_text_its_pattern_can_search_in_bounded_time(serve):
    client, _ = serve()
    assert post(client, "/models/slow_regex/predict", "a" * 1000 + "b")[1]["prediction"] is True
    assert post(client, "/models/costly_regex/predict", "a" * 1000)[1]["prediction"] is False
    for name, text in (("slow_regex", "a" * 100_000), ("costly_regex", "a" * 10_000)):
        status, body, _ = post(client, f"/models/{name}/predict", text)
        assert (status, body["error"]["code"]) == (422, "model_error")
        assert "text too long for this pattern" in body["error"]["message"]


@pytest.mark.parametrize("pattern", ["", "x*", "[0-9]*", "^", "(a|)"])
def test_a_pattern_that_matches_the_empty_string_cannot_make_a_search_loop_forever(serve, pattern):
    client, _ = serve()
    assert post(client, "/models/caller_pattern/predict", {"text": "banana", "pattern": "an"})[1]["prediction"] == 2
    status, body, _ = post(client, "/models/caller_pattern/predict", {"text": "hello", "pattern": pattern})
    assert (status, body["error"]["code"]) == (422, "model_error")
    assert "matches the empty string" in body["error"]["message"]
    status, body, _ = post(client, "/models/caller_pattern/predict", {"text": "a" * 2000, "pattern": "(.*a){150}x"})
    assert (status, body["error"]["code"]) == (422, "model_error") and "too long" in body["error"]["message"]


def test_a_pattern_too_large_once_written_out_is_refused_at_load(serve, s3_client, bucket):
    huge = {"input": "string", "output": "boolean", "action": {"re.contains": ["input", {"string": "(a{100}){100}"}]}}
    s3_client.put_object(Bucket=bucket, Key="models/huge_regex.pfa", Body=json.dumps(huge))
    client, _ = serve()
    status, body, _ = post(client, "/models/huge_regex/predict", "a")
    assert status == 503 and "10100 parts once its counted repetitions are written out" in body["error"]["message"]


# --- memory --------------------------------------------------------------------------------------------


def test_an_impossible_allocation_fails_its_own_record_only(serve):
    client, _ = serve()
    status, body, _ = post(client, "/models/petabytes/predict/batch", {"records": ["x", "x"]})
    assert status == 200 and body["predictions"] == [None, None]
    assert [error["code"] for error in body["errors"]] == ["model_memory_exceeded"] * 2
    assert "Error" not in body["errors"][0]["message"]
    status, body, _ = post(client, "/models/megabytes/predict/batch", {"records": [1, 2]})
    assert (status, body["predictions"]) == (200, [1, 2])


def test_a_model_past_the_memory_budget_gets_a_4xx_and_the_memory_back(model_bucket, s3_client, tmp_path, engine):
    name = f"megabytes-{uuid.uuid4().hex[:8]}"
    s3_client.put_object(Bucket=model_bucket, Key=f"models/{name}.pfa", Body=hostile("megabytes"))
    doubling = f"doubling-{uuid.uuid4().hex[:8]}"
    s3_client.put_object(Bucket=model_bucket, Key=f"models/{doubling}.pfa", Body=hostile("doubling_array"))
    with chalice_local({"MEMORY_LIMIT_MB": "384", "PFA_ENGINE": engine}, tmp_path / "chalice.log") as url:
        assert call(f"{url}/models/{name}/predict", b"2")[2]["prediction"] == 2
        before = call(f"{url}/health")[2]["memory"]
        assert before["limit_mb"] == 384
        status, _, body = call(f"{url}/models/{name}/predict/batch", json.dumps({"records": [3, 1000, 4]}).encode())
        after = call(f"{url}/health")[2]["memory"]
        assert status == 200 and body["predictions"] == [3, None, 4]
        assert body["errors"][0]["code"] == "model_memory_exceeded" and body["errors"][0]["index"] == 1
        assert after["peak_resident_mb"] - before["resident_mb"] < 400
        assert after["resident_mb"] - before["resident_mb"] < 50  # what the model built was given back
        assert call(f"{url}/predict", _example().encode())[0] == 200
        # Past the budget while the answer is built, in the engine or in encoding: that record only.
        status, _, body = call(f"{url}/models/{doubling}/predict/batch", json.dumps({"records": [24, 2]}).encode())
        assert status == 200 and body["predictions"] == [None, [1.0] * 4]
        assert body["errors"][0]["code"] == "model_memory_exceeded"


# --- answers -------------------------------------------------------------------------------------------


def test_answers_quote_a_caller_value_by_a_short_prefix_only(serve):
    client, _ = serve()
    record = json.loads(_example())
    batch = {"records": [{**record, "k" * 4096 + str(index): 1} for index in range(1000)]}
    body = json.dumps(batch)
    assert 4 * MB < len(body) < 5 * MB
    status, answer, size = post(client, "/predict/batch", body.encode())
    assert status == 200 and len(answer["errors"]) == 1000 and size < 1 * MB
    status, answer, size = post(client, "/predict", {**record, "k" * (MB // 2): 1})
    assert (status, answer["error"]["code"]) == (400, "invalid_input") and size < 2000


def test_no_answer_is_larger_than_lambda_can_return(serve):
    client, _ = serve()
    status, body, _ = post(client, "/models/big_answer/predict/batch", {"records": [100] * 40})
    assert status == 200 and len(body["predictions"][0]) == 100 * 1024
    status, body, size = post(client, "/models/big_answer/predict/batch", {"records": [1000] * 10})
    assert (status, body["error"]["code"]) == (413, "response_too_large") and size < 1000
    assert "fewer records" in body["error"]["message"]


def _linked(depth):
    node = None
    for value in range(depth):
        node = {"v": value, "next": node}
    return node


def test_a_record_nested_past_what_can_be_checked_is_a_400_for_that_record_only(serve):
    client, _ = serve()
    assert post(client, "/models/linked_list/predict", _linked(50))[0] == 200
    status, body, _ = post(client, "/models/linked_list/predict/batch", {"records": [_linked(3), _linked(800)]})
    assert status == 200 and body["predictions"][0] == _linked(3)
    assert body["predictions"][1] is None and body["errors"][0]["code"] == "invalid_input"
    assert "nested too deeply" in body["errors"][0]["message"]


def test_a_batch_stops_as_soon_as_its_answer_could_not_be_returned(serve):
    client, _ = serve()
    status, body, size = post(client, "/models/doubling_string/predict/batch", {"records": [23] * 200})
    assert (status, body["error"]["code"]) == (413, "response_too_large") and size < 1000
    assert "by record 0 of 200" in body["error"]["message"]  # it did not build 200 answers of 8 MB
    status, body, _ = post(client, "/models/doubling_string/predict", 23)
    assert (status, body["error"]["code"]) == (413, "response_too_large")


# --- the Open Inference Protocol: the same bounds, and the protocol's error body ------------------------------


def infer(client, name, datatype, values):
    return post(client, f"/v2/models/{name}/infer",
                {"inputs": [{"name": "input", "shape": [len(values)], "datatype": datatype, "data": values}]})


def test_unknown_names_are_remembered_within_a_bound_on_the_protocol_routes_too(serve):
    client, runtime = serve()
    for index in range(300):
        assert client.http.get(f"/v2/models/ghost{index}").status_code == 404
        assert client.http.get(f"/v2/models/shade{index}/ready").status_code == 404
        assert infer(client, f"phantom{index}", "FP64", [1])[0] == 404
    assert runtime.service._registry.remembered() <= 257


def test_an_inference_has_one_deadline_and_fails_naming_the_row(serve):
    client, _ = serve(MODEL_TIMEOUT_MS="300")
    loaded(client, "forever")
    started = time.monotonic()
    status, body, _ = infer(client, "forever", "FP64", [1, 2, 3, 4, 5])
    assert time.monotonic() - started < 0.3 * 1.3 + 1
    assert status == 504 and list(body) == ["error"] and body["error"].startswith("row 0 of 5: "), body
    loaded(client, "fibonacci")
    assert infer(client, "fibonacci", "INT32", [10, 12])[1]["outputs"][0]["data"] == [55, 144]
    status, body, _ = infer(client, "fibonacci", "INT32", [10, 40])
    assert status == 504 and body["error"].startswith("row 1 of 2: "), body


def test_an_inference_past_the_memory_budget_is_a_4xx(serve):
    client, _ = serve()
    status, body, _ = infer(client, "petabytes", "BYTES", ["x"])
    assert status == 422 and body["error"].startswith("row 0 of 1: the model needed more memory"), body
    assert infer(client, "megabytes", "INT32", [1, 2])[1]["outputs"][0]["data"] == [1, 2]


def test_no_inference_answer_is_larger_than_lambda_can_return(serve):
    client, _ = serve()
    status, body, _ = infer(client, "big_answer", "INT32", [100] * 40)
    assert status == 200 and len(body["outputs"][0]["data"][0]) == 100 * 1024
    status, body, size = infer(client, "big_answer", "INT32", [1000] * 10)
    assert status == 413 and "fewer records" in body["error"] and size < 1000, body
    status, body, size = infer(client, "doubling_string", "INT32", [23] * 200)
    assert status == 413 and "answer to record 0 alone is over" in body["error"] and size < 1000, body


def test_a_nested_record_input_has_no_tensor_form(serve):
    client, _ = serve()
    status, body, _ = post(client, "/v2/models/linked_list/infer", {"inputs": []})
    assert status == 400 and "input field 'next'" in body["error"] and "/predict" in body["error"], body
