"""Cold start in fresh processes: interpreter start, `import app`, model load, first request and peak RSS, against
a bare `python -c pass`; with the default PFA_ENGINE (auto: the load compiles the document to Python and checks
it against titus) and, alternately, with PFA_ENGINE=titus (no check), for comparison."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Mapping, Tuple

from benchmarks.engines import TITUS
from benchmarks.examples import DEFAULT_MODEL, PROJECT_DIR
from benchmarks.harness import Plan
from benchmarks.lambda_events import api_event
from chalicelib.settings import PFA_ENGINE
from devtools.local_s3 import LocalS3

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
choice = model.served.model.engine if model else None
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
    "engine": choice.name if choice else None, "check_ms": choice.check_ms if choice else None,
    "checked_inputs": choice.checked_inputs if choice else None,
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


def _cold_run(env: Mapping[str, str], event: str, answer: Any) -> Dict[str, Any]:
    """One child: spawn to first answer, by stage."""
    spawned_ns, wall_ms, out = _run_child(["-c", COLD_START_CHILD, event], env)
    child = json.loads(out.strip().splitlines()[-1])
    if child["status"] != 200 or child["body"].get("prediction") != answer:
        raise RuntimeError(f"cold start ({env.get(PFA_ENGINE, 'default')}) answered {child['status']} "
                           f"{child['body']}")
    return {
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
        "check_ms": child["check_ms"],
        "checked_inputs": child["checked_inputs"],
        "engine": child["engine"],
    }


def _medians(runs: List[Dict[str, Any]], bare_ms: float) -> Dict[str, Any]:
    medians = {name: statistics.median(run[name] for run in runs) for name, value in runs[0].items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    return {"median": medians,
            "ratio_to_bare_python": {name: value / bare_ms for name, value in medians.items() if name.endswith("_ms")},
            "engines": sorted({run["engine"] for run in runs}), "samples": runs}


def bench_cold_start(server: LocalS3, settings: Mapping[str, str], record: Any, answer: Any,
                     plan: Plan) -> Dict[str, Any]:
    """Interpreter start, `import app`, S3 fetch + compile (+ the engine check), first request, peak RSS: fresh
    processes, with the default PFA_ENGINE and, alternately, PFA_ENGINE=titus (``titus`` in the result)."""
    env = _child_environment(server, settings)
    titus_env = {**env, PFA_ENGINE: TITUS}
    event = api_event("/predict", "/predict", json.dumps(record))
    runs: List[Dict[str, Any]] = []
    titus_runs: List[Dict[str, Any]] = []
    bare: List[float] = []
    for attempt in range(plan.cold_runs + (1 if plan.cold_warmup else 0)):
        _, bare_ms, _ = _run_child(["-c", "pass"], env)
        # Which setting runs first alternates, so that neither always runs right after the bare interpreter.
        settings_order = [(runs, env), (titus_runs, titus_env)]
        if attempt % 2:
            settings_order.reverse()
        done = [(into, _cold_run(child_env, event, answer)) for into, child_env in settings_order]
        if plan.cold_warmup and attempt == 0:
            continue
        bare.append(bare_ms)
        for into, run in done:
            into.append(run)
    bare_ms = statistics.median(bare)
    default = _medians(runs, bare_ms)
    titus = _medians(titus_runs, bare_ms)
    return {
        "runs": len(runs), "warmup_run": plan.cold_warmup, "model": DEFAULT_MODEL,
        "pfa_engine": settings.get(PFA_ENGINE, "auto (default)"),
        "bare_python_ms": bare_ms, "bare_python_samples_ms": bare,
        **default,
        "titus": {"pfa_engine": TITUS, **titus},
        "default_minus_titus": {name: default["median"][name] - titus["median"][name]
                                   for name in ("load_model_ms", "compile_ms", "first_request_ms",
                                                "to_first_answer_ms", "peak_rss_mb")},
    }
