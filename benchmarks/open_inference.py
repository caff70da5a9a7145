"""The Open Inference Protocol (KServe V2) against /predict/batch: the same Sonar rows as whole Lambda invocations.

    python -m benchmarks.open_inference              # about half a minute: .local/bench/open_inference.md and .json
    python -m benchmarks.open_inference --quick      # a few seconds, rough figures (what the test runs)
    python -m benchmarks.open_inference --out DIR    # write the two files into DIR instead
    python -m benchmarks.open_inference --profile    # also cProfile one 208-row call of each route (stderr)

For N in 1, 100 and 208 rows, three requests are timed as stages of the same interleaved rounds
(``benchmarks.harness.timed_rounds``), each a whole Lambda invocation (``json.loads`` of the API Gateway event,
the Chalice app, ``json.dumps`` of its answer; ``benchmarks.lambda_events.invoke``):

- ``POST /models/sonar_naive_bayes/predict/batch`` with N records: **the baseline**;
- ``POST /v2/models/sonar_naive_bayes/infer`` with the same N rows as 60 JSON tensors V1..V60 (FP64, shape [N]);
- the same with the tensors as binary data (FP64 little-endian after ``Inference-Header-Content-Length`` bytes of
  JSON, each input's ``parameters.binary_data_size``; Content-Type application/octet-stream, so API Gateway hands
  Lambda the body base64-encoded, ``isBase64Encoded``).

Round r takes the N rows from row r x 37 (mod 208) on, the same rows for every stage of the round. Before timing,
each stage is invoked once and must answer, row by row, the baseline's predictions, which must be R's labels
(``models/sonar_naive_bayes.r_predictions.csv``). The app serves the model from a local S3
(``devtools.local_s3.LocalS3``) with the service's default engine (``--engine`` for another).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import cProfile
import io
import json
import os
import pstats
import struct
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

# `python benchmarks/open_inference.py` (not -m) would not see app.py, chalicelib, devtools or benchmarks.
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

import app as app_module  # noqa: E402
from benchmarks.environment import environment  # noqa: E402
from benchmarks.examples import DEFAULT_MODEL, MODELS_DIR, MODELS_PREFIX, r_sonar_predictions, sonar_records  # noqa: E402
from benchmarks.harness import STRIDE, Samples, Stage, summarize, timed_rounds  # noqa: E402
from benchmarks.lambda_events import answer_of, api_event, invoke  # noqa: E402
from benchmarks.results_paths import LATEST_DIR, shown, write_report  # noqa: E402
from chalicelib.openinference.request import BINARY_HEADER, BINARY_SIZE  # noqa: E402
from chalicelib.settings import PFA_ENGINE  # noqa: E402
from chalicelib.wiring import LazyRuntime, Runtime, build_runtime  # noqa: E402
from devtools.local_s3 import LocalS3, create_bucket, temporary_local_s3  # noqa: E402

SCHEMA = 1
OPEN_INFERENCE_JSON, OPEN_INFERENCE_MD = "open_inference.json", "open_inference.md"
MODEL = DEFAULT_MODEL
BATCH, V2_JSON, V2_BINARY = "batch", "v2_json", "v2_binary"
VARIANTS = (BATCH, V2_JSON, V2_BINARY)
V2_VARIANTS = (V2_JSON, V2_BINARY)
ROUTES = {BATCH: f"POST /models/{MODEL}/predict/batch", V2_JSON: f"POST /v2/models/{MODEL}/infer (JSON tensors)",
          V2_BINARY: f"POST /v2/models/{MODEL}/infer (binary tensors)"}
LABELS = {BATCH: "/predict/batch (baseline)", V2_JSON: "V2, JSON tensors", V2_BINARY: "V2, binary tensors"}
SHORT = {BATCH: "batch", V2_JSON: "V2 JSON", V2_BINARY: "V2 binary"}
OUTPUT = "output"
OCTET_STREAM = "application/octet-stream"
PROFILE_ROWS = 208
PROFILE_CALLS = 5
PROFILE_TOP = 20


@dataclass(frozen=True)
class OpenInferencePlan:
    """How much to measure: ``samples`` maps N (rows per call) to the rounds its three stages are timed in."""

    rounds: int  # interleaved rounds; even, so that every order is also run reversed
    block_us: float  # a sample times at least this much work (a cheap call is repeated to fill it)
    samples: Dict[int, int] = field(default_factory=dict)


FULL = OpenInferencePlan(rounds=60, block_us=2000.0, samples={1: 60, 100: 40, 208: 40})
QUICK = OpenInferencePlan(rounds=4, block_us=300.0, samples={1: 4, 100: 2, 208: 2})


def stage_name(variant: str, rows: int) -> str:
    return f"{variant}_{rows}"


# ----- the requests -------------------------------------------------------------------------------------------------

class Requests:
    """The three requests for ``rows`` consecutive Sonar rows from any start (wrapping), as bodies and events."""

    def __init__(self, records: List[Dict[str, float]], name: str = MODEL) -> None:
        self.records = records
        self.name = name
        self.inputs = list(records[0])  # V1..V60, in the model's order

    def rows(self, start: int, count: int) -> List[int]:
        return [(start + offset) % len(self.records) for offset in range(count)]

    def batch_body(self, start: int, count: int) -> bytes:
        return json.dumps({"records": [self.records[i] for i in self.rows(start, count)]}).encode("utf-8")

    def v2_json_body(self, start: int, count: int) -> bytes:
        rows = self.rows(start, count)
        inputs = [{"name": key, "shape": [count], "datatype": "FP64", "data": [self.records[i][key] for i in rows]}
                  for key in self.inputs]
        return json.dumps({"inputs": inputs}).encode("utf-8")

    def v2_binary_body(self, start: int, count: int) -> Tuple[bytes, int]:
        """The body (JSON part, then each input's FP64 values little-endian) and the JSON part's length."""
        rows = self.rows(start, count)
        packed = [struct.pack(f"<{count}d", *(self.records[i][key] for i in rows)) for key in self.inputs]
        inputs = [{"name": key, "shape": [count], "datatype": "FP64", "parameters": {BINARY_SIZE: len(raw)}}
                  for key, raw in zip(self.inputs, packed, strict=True)]
        header = json.dumps({"inputs": inputs}).encode("utf-8")
        return header + b"".join(packed), len(header)

    def body(self, variant: str, start: int, count: int) -> bytes:
        if variant == V2_BINARY:
            return self.v2_binary_body(start, count)[0]
        return self.batch_body(start, count) if variant == BATCH else self.v2_json_body(start, count)

    def event(self, variant: str, start: int, count: int) -> str:
        """The API Gateway (REST, proxy) event of the request, as JSON text."""
        if variant == BATCH:
            return api_event(f"/models/{self.name}/predict/batch", "/models/{name}/predict/batch",
                             self.batch_body(start, count).decode("utf-8"), {"name": self.name})
        path, resource = f"/v2/models/{self.name}/infer", "/v2/models/{name}/infer"
        if variant == V2_JSON:
            return api_event(path, resource, self.v2_json_body(start, count).decode("utf-8"), {"name": self.name})
        body, header_length = self.v2_binary_body(start, count)
        # A binary media type (Chalice deploys application/octet-stream as one): the body arrives base64-encoded.
        event = json.loads(api_event(path, resource, "", {"name": self.name}))
        headers = {**event["headers"], "Content-Type": OCTET_STREAM, BINARY_HEADER: str(header_length)}
        event["headers"] = headers
        event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True
        return json.dumps(event)


def predictions_of(variant: str, status: int, body: Any, count: int) -> List[Any]:
    """The labels a response gives, row by row; RuntimeError unless it is a whole, error-free answer."""
    if status != 200:
        raise RuntimeError(f"{LABELS[variant]}: answered {status}: {json.dumps(body)[:300]}")
    if variant == BATCH:
        if body.get("errors"):
            raise RuntimeError(f"{LABELS[variant]}: errors {body['errors'][:3]}")
        return list(body["predictions"])
    outputs = body.get("outputs") or []
    if [tensor.get("name") for tensor in outputs] != [OUTPUT]:
        raise RuntimeError(f"{LABELS[variant]}: expected the one output tensor {OUTPUT!r}, got {outputs!r:.300}")
    tensor = outputs[0]
    if tensor.get("datatype") != "BYTES" or tensor.get("shape") != [count]:
        raise RuntimeError(f"{LABELS[variant]}: output is {tensor.get('datatype')} shape {tensor.get('shape')}, "
                           f"expected BYTES [{count}]")
    if body.get("model_name") != MODEL:
        raise RuntimeError(f"{LABELS[variant]}: model_name {body.get('model_name')!r}")
    return list(tensor["data"])


def check_answers(requests: Requests, sizes: Sequence[int], reference: List[Any]) -> Dict[str, Any]:
    """Each stage once, untimed, from row 0: its labels must be the baseline's, and the baseline's R's."""
    stages: Dict[str, Any] = {}
    for count in sizes:
        expected_r = [reference[i] for i in requests.rows(0, count)]
        status, body = answer_of(invoke(requests.event(BATCH, 0, count)))
        baseline = predictions_of(BATCH, status, body, count)
        for variant in VARIANTS:
            if variant == BATCH:
                answered = baseline
            else:
                status, body = answer_of(invoke(requests.event(variant, 0, count)))
                answered = predictions_of(variant, status, body, count)
            stages[stage_name(variant, count)] = {
                "rows": count, "equal_baseline": sum(a == b for a, b in zip(answered, baseline, strict=False)),
                "equal_r": sum(a == b for a, b in zip(answered, expected_r, strict=False)), "answered": len(answered)}
    passed = all(entry["equal_baseline"] == entry["equal_r"] == entry["answered"] == entry["rows"]
                 for entry in stages.values())
    return {"passed": passed, "stages": stages,
            "reference": shown(MODELS_DIR / "sonar_naive_bayes.r_predictions.csv") + ", column pred"}


# ----- the run ------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _serving(settings: Mapping[str, str], client: Any) -> Iterator[Runtime]:
    """Points the app's routes at a runtime built from ``settings`` (as a fresh container), then puts the app's
    own runtime back."""
    original = app_module.runtime
    built: List[Runtime] = []

    def make() -> Runtime:
        built.append(build_runtime(dict(settings), s3_client=client))
        return built[-1]

    lazy = LazyRuntime(make)
    app_module.runtime = lazy
    try:
        yield lazy.get()
    finally:
        app_module.runtime = original
        for runtime in built:
            runtime.close()


def _progress(message: str) -> None:
    print(f"[open_inference] {message}", file=sys.stderr, flush=True)


def _paired_ratio(numerator: Samples, denominator: Samples, clock: str = "wall") -> Optional[Dict[str, Any]]:
    """``numerator / denominator`` round by round (same rows, same moment): the ratio's own noise."""
    a, b = (numerator.wall, denominator.wall) if clock == "wall" else (numerator.cpu, denominator.cpu)
    rounds = sorted(set(a) & set(b))
    if not rounds:
        return None
    return summarize([a[r] / b[r] for r in rounds])


def figures(samples: Dict[str, Samples], requests: Requests, sizes: Sequence[int]) -> List[Dict[str, Any]]:
    """Per N: each route's ms per invocation, rows/s, CPU, body and event sizes, and its time against the baseline."""
    table = []
    for count in sizes:
        row: Dict[str, Any] = {"rows": count, "variants": {}}
        baseline = samples[stage_name(BATCH, count)].summary()
        for variant in VARIANTS:
            timing = samples[stage_name(variant, count)].summary()
            request_ms, cpu_ms = timing["median_us"] / 1000, timing["cpu"]["median_us"] / 1000
            body = requests.body(variant, 0, count)
            entry = {"route": ROUTES[variant], "stage": stage_name(variant, count), "samples": timing["samples"],
                     "ms_per_call": request_ms, "p25_ms": timing["p25_us"] / 1000, "p75_ms": timing["p75_us"] / 1000,
                     "rows_per_s": count * 1000 / request_ms, "cpu_ms_per_call": cpu_ms,
                     "rows_per_cpu_s": count * 1000 / cpu_ms, "us_per_row": timing["median_us"] / count,
                     "body_bytes": len(body), "event_bytes": len(requests.event(variant, 0, count).encode("utf-8")),
                     "body_bytes_per_row": len(body) / count,
                     "ratio_to_batch": timing["median_us"] / baseline["median_us"],
                     "cpu_ratio_to_batch": timing["cpu"]["median_us"] / baseline["cpu"]["median_us"]}
            if variant != BATCH:
                pair = samples[stage_name(variant, count)], samples[stage_name(BATCH, count)]
                entry["paired_ratio_to_batch"] = _paired_ratio(*pair)
                entry["paired_cpu_ratio_to_batch"] = _paired_ratio(*pair, clock="cpu")
                entry["extra_us_per_row"] = (timing["median_us"] - baseline["median_us"]) / count
            row["variants"][variant] = entry
        table.append(row)
    return table


def run(plan: OpenInferencePlan, quick: bool = False, engine: Optional[str] = None, profile: bool = False,
        server: Optional[LocalS3] = None) -> Dict[str, Any]:
    """Check, then time; returns what open_inference.json holds. ``server``: a running local S3 to use (a fresh
    bucket on it) instead of starting one."""
    started = time.perf_counter()
    sizes = sorted(plan.samples)
    records = sonar_records()
    reference = [row["pred"] for row in r_sonar_predictions()]
    requests = Requests(records)
    results: Dict[str, Any] = {"schema": SCHEMA, "quick": quick, "environment": environment(), "model": MODEL,
                               "plan": {"rounds": plan.rounds, "block_us": plan.block_us,
                                        "samples": {str(k): v for k, v in plan.samples.items()}, "stride": STRIDE},
                               "routes": dict(ROUTES)}
    if server is None:
        _progress("starting a local S3")
    with contextlib.nullcontext(server) if server is not None else temporary_local_s3("pfa-bench-s3-") as s3:
        client = s3.client()
        bucket = f"pfa-bench-{uuid.uuid4().hex[:8]}"
        create_bucket(client, bucket, versioned=True)
        key = f"{MODELS_PREFIX}{MODEL}.pfa"
        client.put_object(Bucket=bucket, Key=key, Body=(MODELS_DIR / f"{MODEL}.pfa").read_bytes())
        # Background update checks would only add noise: the model's version does not change during a run.
        settings = {"MODEL_BUCKET": bucket, "MODEL_KEY": key, "MODEL_REFRESH_SECONDS": "0",
                    **({PFA_ENGINE: engine} if engine else {})}
        results["s3"] = {"server": "devtools.local_s3.LocalS3 (SeaweedFS)", "bucket": bucket, **settings}
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the request log lines
            with _serving(settings, client) as runtime:
                served = runtime.service.model().served
                results["engine"] = {"setting": engine or "default", "name": served.model.engine.name,
                                     "reason": served.model.engine.reason}
                _progress(f"served with the {served.model.engine.name} engine; checking every stage's answers")
                results["check"] = check_answers(requests, sizes, reference)
                if not results["check"]["passed"]:
                    raise RuntimeError(f"answers differ: {json.dumps(results['check']['stages'])}")
                stages = {stage_name(variant, count): Stage(invoke, prepare=_preparer(requests, variant, count),
                                                            samples=plan.samples[count])
                          for count in sizes for variant in VARIANTS}
                _progress(f"timing {len(stages)} stages in {plan.rounds} interleaved rounds (N = "
                          + ", ".join(f"{count}: {plan.samples[count]} rounds" for count in sizes) + ")")
                samples = timed_rounds(stages, len(records), plan.rounds, plan.block_us, block=1)
                if profile:
                    _progress(f"profiling {PROFILE_CALLS} calls of {PROFILE_ROWS} rows per route")
                    results["profile"] = profile_calls(requests, PROFILE_ROWS, PROFILE_CALLS)
    results["stages"] = {name: sample.summary() for name, sample in samples.items()}
    results["sizes"] = figures(samples, requests, sizes)
    results["environment"]["load_average_end"] = list(os.getloadavg())
    results["duration_s"] = time.perf_counter() - started
    return results


def _preparer(requests: Requests, variant: str, count: int) -> Any:
    def prepare(start: int) -> str:
        return requests.event(variant, start, count)
    return prepare


def profile_calls(requests: Requests, count: int, calls: int) -> Dict[str, str]:
    """cProfile of ``calls`` warm invocations per route of ``count`` rows: the top functions by own time
    (tottime), then the service's own functions (chalicelib) by cumulative time."""
    texts = {}
    for variant in VARIANTS:
        event = requests.event(variant, 0, count)
        invoke(event)  # warm
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            invoke(event)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(PROFILE_TOP)
        stats.sort_stats("cumulative").print_stats(r"chalicelib", PROFILE_TOP)
        texts[variant] = "\n".join(line.rstrip() for line in out.getvalue().splitlines() if line.strip())
    return texts


# ----- the report ---------------------------------------------------------------------------------------------------

def _ratio(value: float) -> str:
    return f"{value:.2f}x"


def table_lines(results: Dict[str, Any]) -> List[str]:
    lines = ["| rows | route | body bytes | event bytes | ms / call (p25-p75) | rows/s | CPU ms | rows / CPU-s "
             "| x batch (time) | paired x batch (p25-p75) | x batch (CPU) |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in results["sizes"]:
        for variant in VARIANTS:
            entry = row["variants"][variant]
            paired = entry.get("paired_ratio_to_batch")
            paired_text = (f"{_ratio(paired['median_us'])} ({paired['p25_us']:.2f}-{paired['p75_us']:.2f})"
                           if paired else "1 (baseline)")
            label = f"**{LABELS[variant]}**" if variant == BATCH else LABELS[variant]
            lines.append(f"| {row['rows']} | {label} | {entry['body_bytes']:,} | {entry['event_bytes']:,} | "
                         f"{entry['ms_per_call']:.2f} ({entry['p25_ms']:.2f}-{entry['p75_ms']:.2f}) | "
                         f"{entry['rows_per_s']:,.0f} | {entry['cpu_ms_per_call']:.2f} | "
                         f"{entry['rows_per_cpu_s']:,.0f} | {_ratio(entry['ratio_to_batch'])} | {paired_text} | "
                         f"{_ratio(entry['cpu_ratio_to_batch'])} |")
    return lines


def render_markdown(results: Dict[str, Any]) -> str:
    env, check, engine = results["environment"], results["check"], results["engine"]
    plan = results["plan"]
    checked = ", ".join(f"{name} {entry['equal_r']}/{entry['rows']}" for name, entry in check["stages"].items())
    lines = [
        "# Open Inference Protocol (KServe V2) against /predict/batch",
        "",
        f"{'Quick run (rough figures). ' if results['quick'] else ''}Model `{results['model']}` from a local S3, "
        f"served with the **{engine['name']}** engine (PFA_ENGINE {engine['setting']}: {engine['reason']}). "
        f"Measured {env['date_utc']} on {env['cpu_model']} ({env['cores']} cores), Python {env['python']}, "
        f"commit {env['git_commit']}{' (dirty)' if env.get('git_dirty') else ''}; load average "
        f"{env['load_average_start'][0]:.2f} at start, {env['load_average_end'][0]:.2f} at end; "
        f"{results['duration_s']:.0f} s in all.",
        "",
        "Each figure is one whole Lambda invocation in Python (`json.loads` of the API Gateway event, the Chalice "
        "app, `json.dumps` of its answer), the three routes of one N timed as stages of the same interleaved rounds "
        f"({plan['rounds']} rounds; per N: " + ", ".join(f"{n}: {k}" for n, k in plan["samples"].items())
        + f"), round r on the N rows from row r x {plan['stride']} (mod 208). **x batch** is the route's median / "
        "the baseline's median for the same N; *paired* is the median (and quartiles) of that ratio round by "
        "round, its own noise. *CPU* is this thread's CPU time (`time.thread_time`), which leaves out the time "
        "other processes held the core: on a busy machine it is the steadier figure. Body bytes are the HTTP body "
        "(the binary one before API Gateway's base64); event bytes are the Lambda event as JSON text, which carries "
        "the binary body base64-encoded.",
        "",
        *table_lines(results),
        "",
        f"**Answers** ({'passed' if check['passed'] else 'FAILED'}): each stage invoked once from row 0 before "
        f"timing, labels equal to the baseline's and to R's ({check['reference']}): {checked}.",
        "",
    ]
    for row in results["sizes"]:
        parts = [f"{SHORT[v]} {row['variants'][v]['body_bytes_per_row']:,.0f}" for v in VARIANTS]
        lines.append(f"- N = {row['rows']}: body bytes per row: " + ", ".join(parts) + "; V2's time per row over "
                     "the baseline's: " + ", ".join(f"{SHORT[v]} {row['variants'][v]['extra_us_per_row']:+.1f} us"
                                                    for v in V2_VARIANTS) + ".")
    if results.get("profile"):
        lines += ["", f"## Profile: {PROFILE_CALLS} invocations of {PROFILE_ROWS} rows per route (cProfile)", "",
                  "By own time (tottime), then the service's functions (chalicelib) by cumulative time. The "
                  "profiler slows small Python calls far more than the engine's, so read shares, not times.", ""]
        for variant, text in results["profile"].items():
            lines += [f"### {LABELS[variant]}", "", "```", text.strip(), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_results(results: Dict[str, Any], out_dir: Path) -> Tuple[Path, Path]:
    return write_report(results, out_dir, OPEN_INFERENCE_JSON, OPEN_INFERENCE_MD, render_markdown)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.open_inference",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, a few seconds; rough figures")
    parser.add_argument("--out", type=Path, default=LATEST_DIR,
                        help=f"where to write {OPEN_INFERENCE_MD} and {OPEN_INFERENCE_JSON} "
                             f"(default {shown(LATEST_DIR)})")
    parser.add_argument("--engine", choices=("auto", "titus", "compiled"), default=None,
                        help="PFA_ENGINE for the served model (default: the service's default)")
    parser.add_argument("--profile", action="store_true",
                        help=f"also cProfile one {PROFILE_ROWS}-row invocation per route, into the report and stderr")
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else FULL, quick=args.quick, engine=args.engine, profile=args.profile)
    json_path, md_path = write_results(results, args.out)
    print("\n".join(table_lines(results)))
    print(f"answers {'passed' if results['check']['passed'] else 'FAILED'}; engine {results['engine']['name']}; "
          f"wrote {shown(md_path)} and {shown(json_path)}")
    if args.profile:
        for variant, text in results["profile"].items():
            print(f"--- {LABELS[variant]} ---\n{text}", file=sys.stderr)
    return 0 if results["check"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
