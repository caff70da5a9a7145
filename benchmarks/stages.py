"""The per-request stages, in process: each stage of one request for one model, timed in interleaved rounds,
from the raw engine to a whole Lambda invocation, with the engine stubbed to measure the service's overhead;
and the compiled engine and its handler (the runtime built with PFA_ENGINE=compiled) in the same rounds."""

from __future__ import annotations

import json
import types
from typing import Any, Dict, List, Optional, Tuple, Union

import app as app_module
from benchmarks import containment
from benchmarks.batch import batch_figures, batch_stages
from benchmarks.containment import COMPILED_BATCH_PREFIX
from benchmarks.engines import COMPILED, TITUS, EngineRuntimes, compiled_action, titus_engine
from benchmarks.examples import Example
from benchmarks.floor import SonarFloor
from benchmarks.harness import Call, Plan, Stage, timed_rounds
from benchmarks.lambda_events import CONTEXT, answer_of, api_event, invoke
from chalicelib.request_body import read_json
from chalicelib.served_model import ServedModel

# Each model is also uploaded under this suffix; that copy's engine is replaced by a constant answer, so the
# handler's own cost (everything but the engine) is measured directly, interleaved with the real thing.
STUBBED_SUFFIX = "-engine-stubbed"

# (key, label, what it is) in the order of the tables.
STAGES: List[Tuple[str, str, str]] = [
    ("harness", "harness", "an empty call: the timing loop's own cost, included in every row"),
    ("parse", "parse", "`read_json`: body bytes to a Python value (strict JSON)"),
    ("validate", "validate", "the input check against the model's PFA input type"),
    ("engine", "engine", "raw titus `engine.action(x, check=False)`: the baseline (1x)"),
    ("engine_compiled", "engine, compiled",
     "the compiled instance's `action(x)` that the PFA_ENGINE=compiled runtime serves the model with"),
    ("score", "score", "`served.model.score`: the engine plus lock and error mapping"),
    ("encode", "encode", "output encoding to plain JSON"),
    ("predict", "predict", "`ServedModel.predict`: validate + score + encode"),
    ("handler", "handler (total)",
     "one Lambda invocation in Python: `json.loads(event)`, `app.app(event, context)` (middleware, routing, "
     "request log line to /dev/null, response), `json.dumps(response)`; `POST /models/<name>/predict`; the one "
     "single-record figure, also batch size 1 in the batch table and in cost.md; the runtime built with "
     "PFA_ENGINE=titus, as every row but the two *compiled* ones"),
    ("handler_compiled", "handler (total), compiled",
     "the same invocation on the runtime built with PFA_ENGINE=compiled: what the service answers in when the "
     "compiled engine serves (the default, PFA_ENGINE=auto, when it agrees with titus)"),
    ("handler_stubbed", "handler, engine stubbed",
     "the same, on a copy of the model whose engine answers a constant: the service overhead, measured directly"),
    ("app_stubbed", "app only, engine stubbed",
     "`app.app(event, context)` on an already decoded event, result not encoded, engine stubbed: Chalice and "
     "the service without the Lambda runtime's JSON work"),
    ("client", "chalice test client",
     "`chalice.test.Client().http.post(...)`: adds Chalice's local gateway, which is not on Lambda's path"),
    ("floor", "plain-Python floor", "Sonar only: the model's math in plain Python (`SonarFloor`)"),
]


class ConstantEngine:
    """Stands in for a titus engine: answers one fixed output at no cost (and counts its calls, so the bench can
    tell that the stub is what the service runs)."""

    def __init__(self, output: Any) -> None:
        self._output = output
        self.calls = 0
        self.options = types.SimpleNamespace(timeout_action=-1)  # the service sets the time budget of each call

    def action(self, datum: Any, check: bool = True) -> Any:
        self.calls += 1
        return self._output


def stub_engine(served: ServedModel, output: Any) -> ConstantEngine:
    """Make ``served`` answer ``output`` for every record: the engine and the action the model calls."""
    stub = ConstantEngine(output)
    served.model._engine = stub
    served.model._action = stub.action
    return stub


def bench_model(example: Example, runtimes: EngineRuntimes, http: Any, plan: Plan, floor: Optional[SonarFloor],
                batch_samples: Optional[Dict[int, int]] = None,
                compiled_batch_samples: Optional[Dict[int, int]] = None) -> Dict[str, Any]:
    """Every stage of one request for one model, and the checks that the service answers what the engine does.

    Every stage runs the very model the handler serves (the registry's), so that a stage and the stage inside
    it share one engine, its state and its place in the CPU's caches: the runtime built with PFA_ENGINE=titus
    for the titus stages, the one built with PFA_ENGINE=compiled for ``engine_compiled`` and
    ``handler_compiled`` (each stage that goes through the app points it at its runtime, untimed, first).
    ``batch_samples`` adds whole batch invocations of that model to the same rounds (batch size -> rounds timed
    in), ``compiled_batch_samples`` the same on the compiled runtime."""
    resource = "/models/{name}/predict"
    path, stubbed_name = f"/models/{example.name}/predict", example.name + STUBBED_SUFFIX
    records = example.records
    count = len(records)
    bodies = [json.dumps(record).encode() for record in records]
    events = [api_event(path, resource, body.decode(), {"name": example.name}) for body in bodies]
    stubbed_events = [api_event(f"/models/{stubbed_name}/predict", resource, body.decode(), {"name": stubbed_name})
                      for body in bodies]
    on_titus, on_compiled = runtimes.user(TITUS), runtimes.user(COMPILED)
    served_by = {}
    for engine_name in (TITUS, COMPILED):
        runtime = runtimes.use(engine_name)
        status, body = answer_of(invoke(events[0]))  # loads the model into the registry
        if status != 200:
            raise RuntimeError(f"{example.name}, PFA_ENGINE={engine_name}: handler answered {status} {body}")
        served_by[engine_name] = runtime.service._registry.get(example.name).served
    served: ServedModel = served_by[TITUS]
    compiled_served = served_by[COMPILED]
    engine = titus_engine(served)
    compiled = compiled_action(compiled_served)
    validated = [served.validate(record) for record in records]
    outputs = [engine.action(datum, check=False) for datum in validated]
    answers = [served.encode(output) for output in outputs]
    matches_reference = sum(answer == expected for answer, expected in zip(answers, example.reference, strict=True))
    compiled_answers = [compiled_served.encode(compiled(datum)) for datum in validated]
    compiled_matches = sum(a == b for a, b in zip(compiled_answers, answers, strict=True))

    checked = count if plan.handler_check_rows is None else min(count, plan.handler_check_rows)
    for engine_name, expected in ((COMPILED, compiled_answers), (TITUS, answers)):
        runtimes.use(engine_name)
        for index in range(checked):
            status, body = answer_of(invoke(events[index]))
            if status != 200 or body["prediction"] != expected[index]:
                raise RuntimeError(f"{example.name} row {index}, PFA_ENGINE={engine_name}: handler answered "
                                   f"{status} {body}, the engine {expected[index]!r}")
    runtime = runtimes.use(TITUS)  # the test client and the stubbed copy: the titus runtime
    response = http.post(path, headers={"Content-Type": "application/json"}, body=bodies[0])
    if response.status_code != 200 or response.json_body["prediction"] != answers[0]:
        raise RuntimeError(f"{example.name}: the test client answered {response.status_code} {response.body!r}")
    status, body = answer_of(invoke(stubbed_events[0]))  # loads the copy, then its engine is swapped
    if status != 200:
        raise RuntimeError(f"{stubbed_name}: handler answered {status} {body}")
    stub = stub_engine(runtime.service._registry.get(stubbed_name).served, outputs[0])
    status, body = answer_of(invoke(stubbed_events[0]))
    if status != 200 or stub.calls != 1:  # a stub the service refuses would time its error path, not its overhead
        raise RuntimeError(f"{stubbed_name}, engine stubbed: handler answered {status} {body}, "
                           f"the stub was called {stub.calls} times")
    stubbed_dicts = [json.loads(event) for event in stubbed_events]
    app = app_module.app
    app(stubbed_dicts[0], CONTEXT)
    if stubbed_dicts[0] != json.loads(stubbed_events[0]):
        raise RuntimeError("the app changed the event it was given; app_stubbed cannot reuse events")

    max_body = runtime.settings.max_body_bytes
    validate, score, encode, predict = served.validate, served.model.score, served.encode, served.predict
    content_type = {"Content-Type": "application/json"}
    compiled_validated = [compiled_served.validate(record) for record in records]
    stages: Dict[str, Union[Stage, Call]] = {
        "harness": lambda i: None,
        "parse": lambda i: read_json(bodies[i], max_body),
        "validate": lambda i: validate(records[i]),
        "engine": lambda i: engine.action(validated[i], check=False),
        "engine_compiled": lambda i: compiled(compiled_validated[i]),
        "score": lambda i: score(validated[i]),
        "encode": lambda i: encode(outputs[i]),
        "predict": lambda i: predict(records[i]),
        "handler": Stage(lambda i: invoke(events[i]), before=on_titus),
        "handler_compiled": Stage(lambda i: invoke(events[i]), before=on_compiled),
        "handler_stubbed": Stage(lambda i: invoke(stubbed_events[i]), before=on_titus),
        "app_stubbed": Stage(lambda i: app(stubbed_dicts[i], CONTEXT), before=on_titus),
        "client": Stage(lambda i: http.post(path, headers=content_type, body=bodies[i]), before=on_titus),
    }
    floor_check: Optional[Dict[str, Any]] = None
    if floor is not None:
        floor_labels = [floor.predict(record) for record in records]
        floor_check = {
            "rows": count,
            "labels_equal_engine": sum(a == b for a, b in zip(floor_labels, answers, strict=True)),
            "labels_equal_reference": sum(a == b for a, b in zip(floor_labels, example.reference, strict=True)),
        }
        stages["floor"] = lambda i: floor.predict(records[i])
    if batch_samples:
        stages.update(batch_stages(example.name, records, answers, batch_samples, before=on_titus))
    if compiled_batch_samples:
        stages.update(batch_stages(example.name, records, compiled_answers, compiled_batch_samples,
                                   prefix=COMPILED_BATCH_PREFIX, before=on_compiled))

    samples = timed_rounds(stages, count, plan.rounds, plan.block_us)
    timings = {name: stage_samples.summary() for name, stage_samples in samples.items()}
    medians = {name: timing["median_us"] for name, timing in timings.items()}
    cpu_medians = {name: timing["cpu"]["median_us"] for name, timing in timings.items()}
    engine_us = medians["engine"]
    result: Dict[str, Any] = {
        "name": example.name,
        "rows": count,
        "answers_equal_reference": matches_reference,
        "reference": example.reference_source,
        "handler_rows_checked": checked,
        "compiled_answers_equal_titus": compiled_matches,
        "engine_choice": _choice(compiled_served),
        "stages": timings,
        "median_us": medians,
        "ratio_to_engine": {name: value / engine_us for name, value in medians.items()},
        "cpu_median_us": cpu_medians,
        "cpu_ratio_to_engine": {name: value / cpu_medians["engine"] for name, value in cpu_medians.items()},
        "containment": containment.check(samples, medians),
        "overhead_us": {
            "handler_minus_engine": medians["handler"] - engine_us,
            "handler_engine_stubbed": medians["handler_stubbed"],
            "app_only_engine_stubbed": medians["app_stubbed"],
            "parse_validate_encode": medians["parse"] + medians["validate"] + medians["encode"],
            "cpu_handler_engine_stubbed": cpu_medians["handler_stubbed"],
            "cpu_handler_minus_engine": cpu_medians["handler"] - cpu_medians["engine"],
            "compiled_handler_minus_engine": medians["handler_compiled"] - medians["engine_compiled"],
        },
        "compiled": {
            "engine_us": medians["engine_compiled"], "handler_us": medians["handler_compiled"],
            "titus_over_compiled_engine": engine_us / medians["engine_compiled"],
            "titus_over_compiled_handler": medians["handler"] / medians["handler_compiled"],
            "cpu_titus_over_compiled_engine": cpu_medians["engine"] / cpu_medians["engine_compiled"],
        },
    }
    if floor_check is not None:
        result["floor"] = {**floor_check, "median_us": medians["floor"],
                           "ratio_to_engine": medians["floor"] / engine_us, "cpu_median_us": cpu_medians["floor"],
                           "cpu_ratio_to_engine": cpu_medians["floor"] / cpu_medians["engine"],
                           "compiled_over_floor": medians["engine_compiled"] / medians["floor"],
                           "cpu_compiled_over_floor": cpu_medians["engine_compiled"] / cpu_medians["floor"]}
    if batch_samples:
        result["batch"] = batch_figures(result, list(batch_samples))
    if compiled_batch_samples:
        result["batch_compiled"] = batch_figures(result, list(compiled_batch_samples), engine=COMPILED)
    return result


def _choice(served: ServedModel) -> Dict[str, Any]:
    """The engine choice a model was loaded with: which engine, why, and the load-time check's inputs and cost."""
    choice = served.model.engine
    return {"name": choice.name, "reason": choice.reason, "checked_inputs": choice.checked_inputs,
            "check_ms": choice.check_ms}
