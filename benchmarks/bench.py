"""`make bench`: where the time of a prediction goes, for each example model, and what a cold start costs.

    python -m benchmarks.bench             # about a minute; writes benchmarks/results.md and results.json
    python -m benchmarks.bench --quick     # a few seconds, rough figures (what the tests run)
    python -m benchmarks.bench --out DIR   # write the two files into DIR instead

The bench starts its own real local S3 (devtools.local_s3), uploads the example models to a bucket, points
the app at it (``app.runtime.configure``) and measures in this process: each stage of a request, the whole
Lambda invocation through the Chalice app, a plain-Python floor for the Sonar model, and batch throughput.
The cold start is measured in fresh child processes. Machines are noisy, so every figure comes with a ratio
to a baseline measured in the same run (raw ``engine.action``, a bare ``python -c pass``, a single request):
compare ratios across machines and runs, not absolute times. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

PROJECT_DIR = Path(__file__).resolve().parent.parent
# `python benchmarks/bench.py` (not -m) would not see app.py, chalicelib or devtools.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from chalice.test import Client  # noqa: E402

import app as app_module  # noqa: E402
from chalicelib.request_body import read_json  # noqa: E402
from chalicelib.served_model import ServedModel, compile_served  # noqa: E402
from chalicelib.wiring import Runtime, build_runtime  # noqa: E402
from devtools.local_s3 import LocalS3, create_bucket  # noqa: E402

MODELS_DIR = PROJECT_DIR / "models"
DATA_DIR = PROJECT_DIR / "tests" / "data"
DEFAULT_OUT = PROJECT_DIR / "benchmarks"
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
SCHEMA = 1

MODELS_PREFIX = "models/"
DEFAULT_MODEL = "sonar_naive_bayes"
# Each model is also uploaded under this suffix; that copy's engine is replaced by a constant answer, so the
# handler's own cost (everything but the engine) is measured directly, interleaved with the real thing.
STUBBED_SUFFIX = "-engine-stubbed"
LAMBDA_MEMORY_MB = 512  # only for the fake Lambda context; cost.py reads .chalice/config.json
TARGETS = {"sonar_overhead_us": 150.0, "cold_start_ms": 1000.0, "peak_rss_mb": 150.0}
IRIS_FIELDS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width",
               "Petal.Length": "petal_length", "Petal.Width": "petal_width"}

# (key, label, what it is) in the order of the tables.
STAGES: List[Tuple[str, str, str]] = [
    ("harness", "harness", "an empty call: the timing loop's own cost, included in every row"),
    ("parse", "parse", "`read_json`: body bytes to a Python value (strict JSON)"),
    ("validate", "validate", "the input check against the model's PFA input type"),
    ("engine", "engine", "raw titus `engine.action(x, check=False)`: the baseline (1x)"),
    ("score", "score", "`served.model.score`: the engine plus lock and error mapping"),
    ("encode", "encode", "output encoding to plain JSON"),
    ("predict", "predict", "`ServedModel.predict`: validate + score + encode"),
    ("handler", "handler (total)",
     "one Lambda invocation in Python: `json.loads(event)`, `app.app(event, context)` (middleware, routing, "
     "request log line to /dev/null, response), `json.dumps(response)`; `POST /models/<name>/predict`"),
    ("handler_stubbed", "handler, engine stubbed",
     "the same, on a copy of the model whose engine answers a constant: the service overhead, measured directly"),
    ("app_stubbed", "app only, engine stubbed",
     "`app.app(event, context)` on an already decoded event, result not encoded, engine stubbed: Chalice and "
     "the service without the Lambda runtime's JSON work"),
    ("client", "chalice test client",
     "`chalice.test.Client().http.post(...)`: adds Chalice's local gateway, which is not on Lambda's path"),
    ("floor", "plain-Python floor", "Sonar only: the model's math in plain Python (`SonarFloor`)"),
]


@dataclass(frozen=True)
class Plan:
    """How much to measure: the default run, or --quick."""

    rounds: int  # interleaved rounds, i.e. samples per stage
    block_us: float  # a sample times at least this much work (a cheap call is repeated to fill it)
    batch_reps: Dict[int, int] = field(default_factory=dict)  # /predict/batch size -> requests timed
    single_reps: int = 0  # /predict requests timed, the batch baseline
    cold_runs: int = 0  # child processes timed (plus as many bare `python -c pass`)
    cold_warmup: bool = False  # one untimed child first, so .pyc files exist
    handler_check_rows: Optional[int] = None  # rows whose handler answer is checked (None: all)


FULL = Plan(rounds=61, block_us=2000.0, batch_reps={1: 60, 10: 20, 100: 7, 1000: 3}, single_reps=60,
            cold_runs=5, cold_warmup=True, handler_check_rows=None)
QUICK = Plan(rounds=5, block_us=300.0, batch_reps={1: 3, 10: 2, 100: 1}, single_reps=3,
             cold_runs=1, cold_warmup=False, handler_check_rows=5)


# ----------------------------------------------------------------------------------------------------------
# The example models and their data
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    short: str  # toy, sonar, iris
    name: str  # the model's name (file stem), as in /models/<name>/predict
    records: List[Any]  # request bodies, as parsed JSON
    reference: List[Any]  # what the model's source answers, row by row
    reference_source: str

    @property
    def path(self) -> Path:
        return MODELS_DIR / f"{self.name}.pfa"


def _csv_rows(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def sonar_records() -> List[Dict[str, float]]:
    """The 208 Sonar rows as request bodies {"V1": ..., "V60": ...} (without Class)."""
    return [{key: float(value) for key, value in row.items() if key != "Class"}
            for row in _csv_rows(DATA_DIR / "sonar.csv")]


def r_sonar_predictions() -> List[Dict[str, Any]]:
    """R's predict() for the 208 rows: pred, prob_M, prob_R."""
    return [{"pred": row["pred"], "prob_M": float(row["prob_M"]), "prob_R": float(row["prob_R"])}
            for row in _csv_rows(MODELS_DIR / "sonar_naive_bayes.r_predictions.csv")]


def load_examples() -> List[Example]:
    toy = [round(-50 + 0.37 * index, 4) for index in range(200)]
    iris = [{field_name: float(row[column]) for column, field_name in IRIS_FIELDS.items()}
            for row in _csv_rows(DATA_DIR / "iris.csv")]
    return [
        Example("toy", "toy_add100", list(toy), [value + 100 for value in toy], "input + 100 in Python"),
        Example("sonar", DEFAULT_MODEL, list(sonar_records()), [row["pred"] for row in r_sonar_predictions()],
                "R predict()"),
        Example("iris", "iris_decision_tree", list(iris),
                [row["pred"] for row in _csv_rows(MODELS_DIR / "iris_decision_tree.sklearn_predictions.csv")],
                "scikit-learn predict()"),
    ]


# ----------------------------------------------------------------------------------------------------------
# The floor: the Sonar model's math in plain Python
# ----------------------------------------------------------------------------------------------------------


class SonarFloor:
    """The Sonar naive Bayes document's action, step by step, in plain Python.

    Mirrors ``models/sonar_naive_bayes.pfa`` (R's aurelius export): for each class, the sum over the record's
    features of ``prob.dist.gaussianLL(x, {mean, variance})`` from the cell ``numeric_cond_probs`` (a string
    value takes ``m.ln`` of ``categorical_cond_probs``, a null adds ``m.ln(1)`` = 0); plus ``m.ln`` of the
    class's ``apriori_counts``; each class's probability is ``1 / sum(exp(other - this))``; divided by the
    class's ``cutoffs``; the answer is the ``map.argmax`` (ties go to the smaller key, as in titus). The
    Gaussian log-likelihood is computed with titus's own expression, so the numbers are the engine's.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        cells = document["cells"]
        numeric = cells["numeric_cond_probs"]["init"]
        self.apriori: Dict[str, float] = dict(cells["apriori_counts"]["init"])
        self.cutoffs: Dict[str, float] = dict(cells["cutoffs"]["init"])
        self.categorical: Dict[str, Any] = cells["categorical_cond_probs"]["init"]
        if not set(numeric) == set(self.apriori) == set(self.cutoffs):
            raise ValueError("the classes of numeric_cond_probs, apriori_counts and cutoffs differ")
        self.classes = list(numeric)
        # Per class, feature -> (mean, 2 sigma^2, log(sigma sqrt(2 pi))), as titus's GaussianDistribution.LL.
        self._gaussians: Dict[str, Dict[str, Tuple[float, float, float]]] = {}
        for label, features in numeric.items():
            params = {}
            for feature, stats in features.items():
                if not stats["variance"] > 0:
                    raise ValueError(f"variance of {feature} in class {label} is not positive")
                sigma = math.sqrt(stats["variance"])
                params[feature] = (stats["mean"], 2.0 * sigma ** 2, math.log(sigma * math.sqrt(2.0 * math.pi)))
            self._gaussians[label] = params
        self._log_apriori = {label: math.log(count) for label, count in self.apriori.items()}

    @classmethod
    def from_file(cls, path: Path = MODELS_DIR / f"{DEFAULT_MODEL}.pfa") -> "SonarFloor":
        return cls(json.loads(path.read_text()))

    def log_likelihoods(self, record: Mapping[str, Any]) -> Dict[str, float]:
        totals = {}
        for label in self.classes:
            gaussians = self._gaussians[label]
            total = 0.0
            for feature, value in record.items():  # map.keys(input): the record's own order
                if value is None:
                    term = 0.0
                elif isinstance(value, str):
                    term = math.log(self.categorical[label][feature][value])
                else:
                    mean, two_variance, log_norm = gaussians[feature]
                    term = -(value - mean) ** 2 / two_variance - log_norm
                total += term
            totals[label] = total
        return totals

    def probabilities(self, record: Mapping[str, Any]) -> Dict[str, float]:
        preds = self.log_likelihoods(record)
        scaled = {label: self._log_apriori[label] + preds[label] for label in self.classes}
        values = list(scaled.values())
        return {label: 1 / sum(math.exp(other - mine) for other in values) for label, mine in scaled.items()}

    def predict(self, record: Mapping[str, Any]) -> str:
        ratios = {label: p / self.cutoffs[label] for label, p in self.probabilities(record).items()}
        return min(ratios, key=lambda label: (-ratios[label], label))


# ----------------------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------------------

Call = Callable[[int], Any]


def summarize(values_us: Sequence[float]) -> Dict[str, Any]:
    ordered = sorted(values_us)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {"median_us": statistics.median(ordered), "p25_us": quartiles[0], "p75_us": quartiles[2],
            "min_us": ordered[0], "samples": len(ordered)}


def _calls_per_block(call: Call, n_inputs: int, block_us: float) -> int:
    estimates = []
    for index in range(5):
        began = time.perf_counter_ns()
        call(index % n_inputs)
        estimates.append((time.perf_counter_ns() - began) / 1000)
    per_call = max(statistics.median(estimates), 0.01)
    return max(1, min(2000, int(block_us / per_call)))


def timed_rounds(stages: Mapping[str, Call], n_inputs: int, rounds: int, block_us: float) -> Dict[str, Any]:
    """The time per call of each stage, measured in interleaved rounds.

    A stage is ``call(index)`` on input ``index``. Each round runs every stage once on a block of ``k``
    consecutive inputs (``k`` fixed up front so that a block takes about ``block_us``; at least one call),
    timed as a whole; one sample is the block's time / k. The order of the stages rotates from round to round
    and each round starts at another input, so a slow phase of a busy machine hits every stage alike.
    Each sample is taken twice: wall time (``perf_counter_ns``, the headline) and this thread's CPU time
    (``thread_time_ns``, which leaves out the time other processes held the CPU).
    """
    per_block = {name: _calls_per_block(call, n_inputs, block_us) for name, call in stages.items()}
    wall: Dict[str, List[float]] = {name: [] for name in stages}
    cpu: Dict[str, List[float]] = {name: [] for name in stages}
    names = list(stages)
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    start = 0
    for round_no in range(rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            call, count = stages[name], per_block[name]
            indices = [(start + offset) % n_inputs for offset in range(count)]
            began, cpu_began = clock(), cpu_clock()
            for index in indices:
                call(index)
            cpu_ended, ended = cpu_clock(), clock()
            wall[name].append((ended - began) / count / 1000)
            cpu[name].append((cpu_ended - cpu_began) / count / 1000)
        start = (start + 37) % n_inputs
    return {name: {**summarize(wall[name]), "cpu": summarize(cpu[name]), "calls_per_sample": per_block[name]}
            for name in stages}


# ----------------------------------------------------------------------------------------------------------
# Lambda invocations without Lambda: the event API Gateway (REST, proxy integration) sends
# ----------------------------------------------------------------------------------------------------------


class LambdaContext:
    """The attributes of Lambda's context object that the app may read."""

    function_name = "pfa-serving-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = LAMBDA_MEMORY_MB
    aws_request_id = "0b5e1c2d-bench-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


CONTEXT = LambdaContext()


def api_event(path: str, resource: str, body: str, path_parameters: Optional[Dict[str, str]] = None) -> str:
    """A REST API proxy event for ``POST path``, as JSON text (what the Lambda runtime receives)."""
    headers = {
        "Accept": "*/*", "Content-Type": "application/json", "Host": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "python-requests/2.32", "X-Amzn-Trace-Id": "Root=1-6740c3a1-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
    }
    event = {
        "resource": resource, "path": path, "httpMethod": "POST", "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": "POST", "path": f"/api{path}", "stage": "api",
            "requestId": str(uuid.uuid4()), "accountId": "123456789012", "apiId": "abcdef1234",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": headers["User-Agent"]},
            "protocol": "HTTP/1.1", "requestTimeEpoch": 1732240000000,
        },
        "body": body, "isBase64Encoded": False,
    }
    return json.dumps(event)


def invoke(event_text: str) -> str:
    """What one Lambda invocation runs in Python: decode the event, call the app, encode its answer."""
    return json.dumps(app_module.app(json.loads(event_text), CONTEXT))


def answer_of(response_text: str) -> Tuple[int, Any]:
    response = json.loads(response_text)
    return response["statusCode"], json.loads(response["body"])


class ConstantEngine:
    """Stands in for a titus engine: answers one fixed output at no cost."""

    def __init__(self, output: Any) -> None:
        self._output = output

    def action(self, datum: Any, check: bool = True) -> Any:
        return self._output


# ----------------------------------------------------------------------------------------------------------
# The measurements
# ----------------------------------------------------------------------------------------------------------


def bench_model(example: Example, runtime: Runtime, http: Any, plan: Plan,
                floor: Optional[SonarFloor]) -> Dict[str, Any]:
    """Every stage of one request for one model, and the checks that the service answers what the engine does."""
    key = f"{MODELS_PREFIX}{example.name}.pfa"
    served: ServedModel = compile_served(example.path.read_bytes(), key)
    engine = served.model._engine
    records = example.records
    count = len(records)
    bodies = [json.dumps(record).encode() for record in records]
    validated = [served.validate(record) for record in records]
    outputs = [engine.action(datum, check=False) for datum in validated]
    answers = [served.encode(output) for output in outputs]
    matches_reference = sum(answer == expected for answer, expected in zip(answers, example.reference, strict=True))

    resource = "/models/{name}/predict"
    path, stubbed_name = f"/models/{example.name}/predict", example.name + STUBBED_SUFFIX
    events = [api_event(path, resource, body.decode(), {"name": example.name}) for body in bodies]
    stubbed_events = [api_event(f"/models/{stubbed_name}/predict", resource, body.decode(), {"name": stubbed_name})
                      for body in bodies]
    checked = count if plan.handler_check_rows is None else min(count, plan.handler_check_rows)
    for index in range(checked):
        status, body = answer_of(invoke(events[index]))
        if status != 200 or body["prediction"] != answers[index]:
            raise RuntimeError(f"{example.name} row {index}: handler answered {status} {body}, "
                               f"the engine {answers[index]!r}")
    response = http.post(path, headers={"Content-Type": "application/json"}, body=bodies[0])
    if response.status_code != 200 or response.json_body["prediction"] != answers[0]:
        raise RuntimeError(f"{example.name}: the test client answered {response.status_code} {response.body!r}")
    status, body = answer_of(invoke(stubbed_events[0]))  # loads the copy, then its engine is swapped
    if status != 200:
        raise RuntimeError(f"{stubbed_name}: handler answered {status} {body}")
    runtime.service._registry.get(stubbed_name).served.model._engine = ConstantEngine(outputs[0])
    stubbed_dicts = [json.loads(event) for event in stubbed_events]
    app = app_module.app
    app(stubbed_dicts[0], CONTEXT)
    if stubbed_dicts[0] != json.loads(stubbed_events[0]):
        raise RuntimeError("the app changed the event it was given; app_stubbed cannot reuse events")

    max_body = runtime.settings.max_body_bytes
    validate, score, encode, predict = served.validate, served.model.score, served.encode, served.predict
    content_type = {"Content-Type": "application/json"}
    stages: Dict[str, Call] = {
        "harness": lambda i: None,
        "parse": lambda i: read_json(bodies[i], max_body),
        "validate": lambda i: validate(records[i]),
        "engine": lambda i: engine.action(validated[i], check=False),
        "score": lambda i: score(validated[i]),
        "encode": lambda i: encode(outputs[i]),
        "predict": lambda i: predict(records[i]),
        "handler": lambda i: invoke(events[i]),
        "handler_stubbed": lambda i: invoke(stubbed_events[i]),
        "app_stubbed": lambda i: app(stubbed_dicts[i], CONTEXT),
        "client": lambda i: http.post(path, headers=content_type, body=bodies[i]),
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

    gc.collect()
    timings = timed_rounds(stages, count, plan.rounds, plan.block_us)
    medians = {name: timing["median_us"] for name, timing in timings.items()}
    cpu_medians = {name: timing["cpu"]["median_us"] for name, timing in timings.items()}
    engine_us = medians["engine"]
    result: Dict[str, Any] = {
        "name": example.name,
        "rows": count,
        "answers_equal_reference": matches_reference,
        "reference": example.reference_source,
        "handler_rows_checked": checked,
        "stages": timings,
        "median_us": medians,
        "ratio_to_engine": {name: value / engine_us for name, value in medians.items()},
        "cpu_median_us": cpu_medians,
        "cpu_ratio_to_engine": {name: value / cpu_medians["engine"] for name, value in cpu_medians.items()},
        "overhead_us": {
            "handler_minus_engine": medians["handler"] - engine_us,
            "handler_engine_stubbed": medians["handler_stubbed"],
            "app_only_engine_stubbed": medians["app_stubbed"],
            "parse_validate_encode": medians["parse"] + medians["validate"] + medians["encode"],
            "cpu_handler_engine_stubbed": cpu_medians["handler_stubbed"],
            "cpu_handler_minus_engine": cpu_medians["handler"] - cpu_medians["engine"],
        },
    }
    if floor_check is not None:
        result["floor"] = {**floor_check, "median_us": medians["floor"],
                           "ratio_to_engine": medians["floor"] / engine_us, "cpu_median_us": cpu_medians["floor"],
                           "cpu_ratio_to_engine": cpu_medians["floor"] / cpu_medians["engine"]}
    return result


def bench_batch(records: List[Any], answers: List[Any], plan: Plan) -> Dict[str, Any]:
    """Records/s through POST /predict/batch per batch size, against single POST /predict requests."""
    count = len(records)
    single_events = [(api_event("/predict", "/predict", json.dumps(records[i])), [answers[i]]) for i in range(count)]
    batches: Dict[int, List[Tuple[str, List[Any]]]] = {}
    for size, reps in plan.batch_reps.items():
        variants = []
        for variant in range(min(reps, 3)):
            rows = [(variant * 53 + offset) % count for offset in range(size)]
            body = json.dumps({"records": [records[i] for i in rows]})
            variants.append((api_event("/predict/batch", "/predict/batch", body), [answers[i] for i in rows]))
        batches[size] = variants

    def timed(event: str, expected: List[Any], is_batch: bool) -> Tuple[float, float]:
        began, cpu_began = time.perf_counter_ns(), time.thread_time_ns()
        text = invoke(event)
        cpu_ms, wall_ms = (time.thread_time_ns() - cpu_began) / 1e6, (time.perf_counter_ns() - began) / 1e6
        status, body = answer_of(text)
        got = body.get("predictions") if is_batch else [body.get("prediction")]
        if status != 200 or got != expected or (is_batch and body["errors"]):
            raise RuntimeError(f"batch of {len(expected)}: answered {status}, errors {body.get('errors')}")
        return wall_ms, cpu_ms

    samples: Dict[int, List[Tuple[float, float]]] = {size: [] for size in batches}
    single_samples: List[Tuple[float, float]] = []
    gc.collect()
    for rep in range(max([plan.single_reps, *plan.batch_reps.values()])):
        if rep < plan.single_reps:
            event, expected = single_events[(rep * 37) % count]
            single_samples.append(timed(event, expected, False))
        for size, variants in batches.items():
            if rep < plan.batch_reps[size]:
                event, expected = variants[rep % len(variants)]
                samples[size].append(timed(event, expected, True))

    def figures(size: int, values: List[Tuple[float, float]]) -> Dict[str, Any]:
        request_ms = statistics.median(wall for wall, _ in values)
        cpu_ms = statistics.median(cpu for _, cpu in values)
        return {"size": size, "requests": len(values), "request_ms": request_ms, "ms_per_record": request_ms / size,
                "records_per_s": size * 1000 / request_ms, "request_cpu_ms": cpu_ms,
                "cpu_ms_per_record": cpu_ms / size, "records_per_cpu_s": size * 1000 / cpu_ms}

    single = figures(1, single_samples)
    sizes = []
    for size, values in sorted(samples.items()):
        row = figures(size, values)
        row["ratio_to_single"] = row["records_per_s"] / single["records_per_s"]
        row["cpu_ratio_to_single"] = row["records_per_cpu_s"] / single["records_per_cpu_s"]
        sizes.append(row)
    return {"route": "POST /predict/batch", "model": DEFAULT_MODEL,
            "single": {"route": "POST /predict", **single}, "sizes": sizes}


COLD_START_CHILD = """
import time
started_ns = time.time_ns()
import json, os, resource, sys
sys.stdout = open(os.devnull, "w")  # the request log; the result goes to sys.__stdout__
def rss_mb():
    # VmHWM: this process's peak RSS. ru_maxrss would also count the parent's, which the child inherits at exec.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import app
imported_ns = time.time_ns()
rss_imported = rss_mb()
app.runtime.warm()  # what Lambda's init phase does: settings, S3 client, fetch, compile
loaded_ns = time.time_ns()
rss_loaded = rss_mb()
model = app.runtime.get().service._registry.default.loaded
class Context:
    function_name = "pfa-serving-bench"
    memory_limit_in_mb = 512
    aws_request_id = "cold-start"
    def get_remaining_time_in_millis(self):
        return 30000
answer = json.dumps(app.app(json.loads(sys.argv[1]), Context()))
answered_ns = time.time_ns()
response = json.loads(answer)
print(json.dumps({
    "started_ns": started_ns, "imported_ns": imported_ns, "loaded_ns": loaded_ns, "answered_ns": answered_ns,
    "fetch_ms": model.fetch_ms if model else None, "compile_ms": model.compile_ms if model else None,
    "status": response["statusCode"], "body": json.loads(response["body"]),
    "rss_imported_mb": rss_imported, "rss_loaded_mb": rss_loaded, "peak_rss_mb": rss_mb(),
    "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}), file=sys.__stdout__)
"""


def _child_environment(server: LocalS3, settings: Mapping[str, str]) -> Dict[str, str]:
    """A clean environment, as Lambda's: no AWS profile, no stray settings; S3 is the local server."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ}
    env.update(server.client_environment())
    env.update(settings)
    return env


def _run_child(args: List[str], env: Mapping[str, str]) -> Tuple[int, float, str]:
    spawned_ns = time.time_ns()
    began = time.perf_counter_ns()
    done = subprocess.run([sys.executable, *args], cwd=PROJECT_DIR, env=dict(env), capture_output=True, text=True,
                          timeout=120, check=False)
    wall_ms = (time.perf_counter_ns() - began) / 1e6
    if done.returncode != 0:
        raise RuntimeError(f"child python {args[:1]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return spawned_ns, wall_ms, done.stdout


def bench_cold_start(server: LocalS3, settings: Mapping[str, str], record: Any, answer: Any,
                     plan: Plan) -> Dict[str, Any]:
    """Interpreter start, `import app`, S3 fetch + compile, first request, peak RSS: fresh processes."""
    env = _child_environment(server, settings)
    event = api_event("/predict", "/predict", json.dumps(record))
    runs: List[Dict[str, float]] = []
    bare: List[float] = []
    for attempt in range(plan.cold_runs + (1 if plan.cold_warmup else 0)):
        _, bare_ms, _ = _run_child(["-c", "pass"], env)
        spawned_ns, wall_ms, out = _run_child(["-c", COLD_START_CHILD, event], env)
        child = json.loads(out.strip().splitlines()[-1])
        if child["status"] != 200 or child["body"].get("prediction") != answer:
            raise RuntimeError(f"cold start answered {child['status']} {child['body']}")
        if plan.cold_warmup and attempt == 0:
            continue
        bare.append(bare_ms)
        runs.append({
            "interpreter_start_ms": (child["started_ns"] - spawned_ns) / 1e6,
            "import_app_ms": (child["imported_ns"] - child["started_ns"]) / 1e6,
            "load_model_ms": (child["loaded_ns"] - child["imported_ns"]) / 1e6,
            "s3_fetch_ms": child["fetch_ms"],
            "compile_ms": child["compile_ms"],
            "first_request_ms": (child["answered_ns"] - child["loaded_ns"]) / 1e6,
            "to_first_answer_ms": (child["answered_ns"] - spawned_ns) / 1e6,
            "process_wall_ms": wall_ms,
            "rss_after_import_mb": child["rss_imported_mb"],
            "rss_after_load_mb": child["rss_loaded_mb"],
            "peak_rss_mb": child["peak_rss_mb"],
            "ru_maxrss_mb": child["ru_maxrss_mb"],
        })
    bare_ms = statistics.median(bare)
    medians = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    return {
        "runs": len(runs), "warmup_run": plan.cold_warmup, "model": DEFAULT_MODEL,
        "bare_python_ms": bare_ms, "bare_python_samples_ms": bare,
        "median": medians,
        "ratio_to_bare_python": {name: value / bare_ms for name, value in medians.items() if name.endswith("_ms")},
        "samples": runs,
    }


# ----------------------------------------------------------------------------------------------------------
# Where and on what
# ----------------------------------------------------------------------------------------------------------


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30,
                              check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment() -> Dict[str, Any]:
    status = _git("status", "--porcelain")
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in ("titus2", "numpy", "chalice", "boto3")},
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "git_changed_files": len(status.splitlines()) if status else 0,
        "load_average_start": list(os.getloadavg()),
    }


# ----------------------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _local_s3() -> Iterator[LocalS3]:
    with tempfile.TemporaryDirectory(prefix="pfa-bench-s3-") as data_dir:
        server = LocalS3(Path(data_dir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(plan: Plan, quick: bool = False) -> Dict[str, Any]:
    """Measure everything; returns what results.json holds."""
    started = time.perf_counter()
    results: Dict[str, Any] = {"schema": SCHEMA, "quick": quick, "environment": environment(),
                               "plan": {"rounds": plan.rounds, "block_us": plan.block_us,
                                        "batch_reps": {str(k): v for k, v in plan.batch_reps.items()},
                                        "single_reps": plan.single_reps, "cold_runs": plan.cold_runs},
                               "targets": dict(TARGETS)}
    examples = load_examples()
    sonar = next(example for example in examples if example.short == "sonar")
    _progress("starting a local S3")
    with _local_s3() as server:
        client = server.client()
        bucket = f"pfa-bench-{uuid.uuid4().hex[:8]}"
        create_bucket(client, bucket, versioned=True)
        for example in examples:
            data = example.path.read_bytes()
            for name in (example.name, example.name + STUBBED_SUFFIX):
                client.put_object(Bucket=bucket, Key=f"{MODELS_PREFIX}{name}.pfa", Body=data)
        # Background update checks would only add noise here: a model's version does not change during a run.
        settings = {"MODEL_BUCKET": bucket, "MODEL_KEY": f"{MODELS_PREFIX}{DEFAULT_MODEL}.pfa",
                    "MODEL_REFRESH_SECONDS": "0"}
        results["s3"] = {"server": "devtools.local_s3.LocalS3 (SeaweedFS)", "bucket": bucket, **settings}
        app_module.runtime.configure(lambda: build_runtime(settings, s3_client=client))
        models: Dict[str, Any] = {}
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the request log lines
            runtime = app_module.runtime.get()
            with Client(app_module.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as test_client:
                for example in examples:
                    _progress(f"per-request stages: {example.name}")
                    floor = SonarFloor.from_file(example.path) if example is sonar else None
                    models[example.short] = bench_model(example, runtime, test_client.http, plan, floor)
            _progress("batch throughput: " + ", ".join(str(size) for size in sorted(plan.batch_reps)))
            sonar_served = compile_served(sonar.path.read_bytes(), settings["MODEL_KEY"])
            sonar_answers = [sonar_served.predict(record) for record in sonar.records]
            results["batch"] = bench_batch(sonar.records, sonar_answers, plan)
        results["models"] = models
        _progress(f"cold start: {plan.cold_runs} run(s)")
        results["cold_start"] = bench_cold_start(server, settings, sonar.records[0], sonar_answers[0], plan)
    results["floor"] = {"model": DEFAULT_MODEL, **models["sonar"]["floor"],
                        "probabilities_vs_r": _floor_vs_r(SonarFloor.from_file(sonar.path), sonar.records)}
    results["summary"] = _summary(results)
    results["environment"]["load_average_end"] = list(os.getloadavg())
    results["duration_s"] = time.perf_counter() - started
    return results


def _floor_vs_r(floor: SonarFloor, records: List[Dict[str, float]]) -> Dict[str, Any]:
    r_rows = r_sonar_predictions()
    diffs = [abs(floor.probabilities(record)["M"] - row["prob_M"]) for record, row in zip(records, r_rows, strict=True)]
    return {"max_abs_diff_prob_M": max(diffs),
            "labels_equal_r": sum(floor.predict(record) == row["pred"]
                                  for record, row in zip(records, r_rows, strict=True))}


def _summary(results: Dict[str, Any]) -> Dict[str, Any]:
    sonar = results["models"]["sonar"]
    cold = results["cold_start"]["median"]
    overhead = sonar["overhead_us"]["handler_engine_stubbed"]
    return {
        "sonar_engine_us": sonar["median_us"]["engine"],
        "sonar_handler_us": sonar["median_us"]["handler"],
        "sonar_overhead_us": overhead,
        "sonar_overhead_minus_us": sonar["overhead_us"]["handler_minus_engine"],
        "sonar_floor_us": sonar["median_us"]["floor"],
        "cold_start_ms": cold["to_first_answer_ms"],
        "peak_rss_mb": cold["peak_rss_mb"],
        "targets_met": {
            "sonar_overhead_us": overhead < TARGETS["sonar_overhead_us"],
            "cold_start_ms": cold["to_first_answer_ms"] < TARGETS["cold_start_ms"],
            "peak_rss_mb": cold["peak_rss_mb"] < TARGETS["peak_rss_mb"],
        },
    }


# ----------------------------------------------------------------------------------------------------------
# results.md
# ----------------------------------------------------------------------------------------------------------


def _us(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _ratio(value: float) -> str:
    return f"{value:.3g}x"


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.1f}"


def render_markdown(results: Dict[str, Any]) -> str:
    env, models = results["environment"], results["models"]
    shorts = [short for short in ("toy", "sonar", "iris") if short in models]
    dirty = env["git_dirty"]
    tree = "dirty" if dirty else "clean" if dirty is not None else "unknown"
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks.bench`" + (" --quick" if results["quick"] else "") + "); "
        "raw numbers in `results.json`, how to read them in `README.md`.",
    ]
    if results["quick"]:
        lines += ["", "**Quick run**: few samples; the figures are rough. Run `make bench` for the real ones."]
    lines += [
        "",
        f"- Date (UTC): {env['date_utc']}",
        f"- Git commit: `{env['git_commit']}` (tree {tree}" +
        (f", {env['git_changed_files']} changed or untracked files)" if dirty else ")"),
        f"- Machine: {env['cpu_model']}, {env['cores']} cores ({env['cores_usable']} usable); "
        f"load average {env['load_average_start'][0]:.2f} at start, {env['load_average_end'][0]:.2f} at end",
        f"- Python {env['python']} ({env['python_implementation']}) on {env['platform']}",
        "- Packages: " + ", ".join(f"{name} {version}" for name, version in env["packages"].items()),
        f"- Run: {results['plan']['rounds']} interleaved rounds per stage, blocks of >= "
        f"{results['plan']['block_us']:.0f} us; {results['duration_s']:.0f} s in all",
        "",
        "## Per request, in process",
        "",
        "Median time per request in microseconds, and as a ratio to the raw titus engine "
        "(`engine.action(x, check=False)`) of the same model, measured in the same run.",
        "",
        "| stage | " + " | ".join(f"{short} us | {short} x engine" for short in shorts) + " |",
        "| --- | " + " | ".join("---: | ---:" for _ in shorts) + " |",
    ]
    for key, label, _ in STAGES:
        cells = []
        for short in shorts:
            medians = models[short]["median_us"]
            if key in medians:
                cells += [_us(medians[key]), _ratio(models[short]["ratio_to_engine"][key])]
            else:
                cells += ["", ""]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "What each row is:", ""]
    lines += [f"- **{label}**: {what}" for _, label, what in STAGES]
    lines += [
        "",
        "## Service overhead",
        "",
        f"Everything a request costs apart from the engine. Target for Sonar: under "
        f"{TARGETS['sonar_overhead_us']:.0f} us.",
        "",
        "| model | handler, engine stubbed (us) | app only, engine stubbed (us) | handler - engine (us) "
        "| parse + validate + encode (us) | overhead / engine |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for short in shorts:
        overhead = models[short]["overhead_us"]
        engine = models[short]["median_us"]["engine"]
        lines.append(f"| {models[short]['name']} | {_us(overhead['handler_engine_stubbed'])} | "
                     f"{_us(overhead['app_only_engine_stubbed'])} | "
                     f"{_us(overhead['handler_minus_engine'])} | {_us(overhead['parse_validate_encode'])} | "
                     f"{_ratio(overhead['handler_engine_stubbed'] / engine)} |")
    summary = results["summary"]
    met = summary["targets_met"]
    lines += [
        "",
        "The stubbed handler measures the overhead directly (same path, engine answering a constant), including "
        "the Lambda runtime's decoding of the event and encoding of the response (billed time); \"app only\" "
        "leaves those two out. Handler - engine is the difference of two medians and carries the engine's noise.",
        "",
        f"Sonar: **{_us(summary['sonar_overhead_us'])} us** "
        f"({'meets' if met['sonar_overhead_us'] else 'misses'} the {TARGETS['sonar_overhead_us']:.0f} us target).",
    ]
    lines += [
        "",
        "### Wall clock and CPU time",
        "",
        "The tables above use the wall clock. The same samples in this thread's CPU time leave out the time "
        "other processes held the CPU; where the two differ much, the machine was busy:",
        "",
        "| model | stage | wall us | CPU us | CPU x engine (CPU) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for short in shorts:
        model = models[short]
        for key in ("engine", "handler", "handler_stubbed", "app_stubbed"):
            lines.append(f"| {model['name']} | {key} | {_us(model['median_us'][key])} | "
                         f"{_us(model['cpu_median_us'][key])} | {_ratio(model['cpu_ratio_to_engine'][key])} |")
    floor = results["floor"]
    lines += [
        "",
        "## Plain-Python floor (Sonar)",
        "",
        "The Sonar model's math written out in plain Python (`SonarFloor`, mirroring the PFA action), "
        "against the engine:",
        "",
        "| | median us | x engine |",
        "| --- | ---: | ---: |",
        f"| titus engine | {_us(models['sonar']['median_us']['engine'])} | 1x |",
        f"| plain Python | {_us(floor['median_us'])} | {_ratio(floor['ratio_to_engine'])} |",
        "",
        f"Same label as the engine on {floor['labels_equal_engine']}/{floor['rows']} rows, as R on "
        f"{floor['labels_equal_reference']}/{floor['rows']}; largest difference from R's P(M): "
        f"{floor['probabilities_vs_r']['max_abs_diff_prob_M']:.2g}.",
    ]
    cold = results["cold_start"]
    medians, ratios = cold["median"], cold["ratio_to_bare_python"]
    lines += [
        "",
        "## Cold start (Sonar, fresh process)",
        "",
        f"Median of {cold['runs']} runs" + (" after one untimed run (so .pyc files exist)" if cold["warmup_run"]
                                            else "") +
        f"; baseline: a bare `python -c pass` from spawn to exit, **{_ms(cold['bare_python_ms'])} ms**, "
        "timed alternately with the runs. The child does what a Lambda container does: import the app, load "
        "the default model (settings, boto3 client, S3 GET, compile), then answer one `POST /predict` event.",
        "",
        "| stage | median ms | x bare python |",
        "| --- | ---: | ---: |",
    ]
    for key, label in (("interpreter_start_ms", "interpreter start (spawn to first line)"),
                       ("import_app_ms", "`import app` (chalice, boto3, titus, numpy)"),
                       ("load_model_ms", "load the model (S3 client, fetch, compile)"),
                       ("s3_fetch_ms", "- of which S3 fetch"), ("compile_ms", "- of which compile"),
                       ("first_request_ms", "first request"),
                       ("to_first_answer_ms", "**spawn to first answer**"),
                       ("process_wall_ms", "process spawn to exit")):
        lines.append(f"| {label} | {_ms(medians[key])} | "
                     f"{_ratio(ratios[key]) if medians[key] is not None else '-'} |")
    lines += [
        "",
        f"Peak RSS: **{medians['peak_rss_mb']:.1f} MB** (after import {medians['rss_after_import_mb']:.1f} MB, "
        f"after load {medians['rss_after_load_mb']:.1f} MB), from the child's `VmHWM`; its "
        f"`ru_maxrss` says {medians['ru_maxrss_mb']:.1f} MB because Linux carries the parent's (this bench's) "
        "peak into it at exec. Targets: first answer under "
        f"{TARGETS['cold_start_ms']:.0f} ms ({'met' if met['cold_start_ms'] else 'missed'}), "
        f"RSS under {TARGETS['peak_rss_mb']:.0f} MB ({'met' if met['peak_rss_mb'] else 'missed'}). "
        "Not included: Lambda's own sandbox and runtime start, and downloading the code.",
    ]
    batch = results["batch"]
    single = batch["single"]
    lines += [
        "",
        "## Batch throughput (Sonar, whole Lambda invocation)",
        "",
        f"Baseline: single `POST /predict` requests, {_ms(single['request_ms'])} ms each "
        f"({single['records_per_s']:,.0f} records/s) by the wall clock, {_ms(single['request_cpu_ms'])} ms of CPU "
        f"({single['records_per_cpu_s']:,.0f} records per CPU-second). Records/s per CPU-second is the fair "
        "comparison: a batch request runs for up to seconds and, on a shared machine, waits for the CPU far more "
        "often than a request of a few milliseconds, which the wall clock counts against it.",
        "",
        "| batch size | requests timed | ms per request | records/s (wall) | x single | CPU ms per request "
        "| CPU ms per record | records per CPU-s | x single |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in batch["sizes"]:
        lines.append(f"| {row['size']} | {row['requests']} | {_ms(row['request_ms'])} | "
                     f"{row['records_per_s']:,.0f} | {_ratio(row['ratio_to_single'])} | "
                     f"{_ms(row['request_cpu_ms'])} | {row['cpu_ms_per_record']:.3f} | "
                     f"{row['records_per_cpu_s']:,.0f} | {_ratio(row['cpu_ratio_to_single'])} |")
    lines.append("")
    return "\n".join(lines)


def write_results(results: Dict[str, Any], out_dir: Path) -> Tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / RESULTS_JSON, out_dir / RESULTS_MD
    json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    md_path.write_text(render_markdown(results))
    return json_path, md_path


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples, a few seconds; rough figures")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write results.md and results.json")
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else FULL, quick=args.quick)
    json_path, md_path = write_results(results, args.out)
    summary = results["summary"]
    sonar = results["models"]["sonar"]
    print(f"Sonar: engine {_us(summary['sonar_engine_us'])} us; handler {_us(summary['sonar_handler_us'])} us "
          f"({_ratio(sonar['ratio_to_engine']['handler'])} engine); overhead {_us(summary['sonar_overhead_us'])} us "
          f"(handler - engine {_us(summary['sonar_overhead_minus_us'])} us); plain-Python floor "
          f"{_us(summary['sonar_floor_us'])} us ({_ratio(sonar['ratio_to_engine']['floor'])} engine)")
    print(f"Cold start to first answer {_ms(summary['cold_start_ms'])} ms "
          f"({_ratio(results['cold_start']['ratio_to_bare_python']['to_first_answer_ms'])} bare python); "
          f"peak RSS {summary['peak_rss_mb']:.1f} MB")
    print("Batch records per CPU-second (x single): " + ", ".join(
        f"{row['size']}: {row['records_per_cpu_s']:,.0f} ({_ratio(row['cpu_ratio_to_single'])})"
        for row in results["batch"]["sizes"]))
    print("Batch records/s, wall clock (x single): " + ", ".join(
        f"{row['size']}: {row['records_per_s']:,.0f} ({_ratio(row['ratio_to_single'])})"
        for row in results["batch"]["sizes"]))
    print(f"Wrote {md_path} and {json_path} in {results['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
