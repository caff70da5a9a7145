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
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence

# `python benchmarks/bench.py` (not -m) would not see app.py, chalicelib, devtools or the benchmarks package.
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

from chalice.test import Client  # noqa: E402

import app as app_module  # noqa: E402
from benchmarks.batch import bench_batch  # noqa: E402
from benchmarks.cold_start import bench_cold_start  # noqa: E402
from benchmarks.environment import environment  # noqa: E402
from benchmarks.examples import DEFAULT_MODEL, MODELS_PREFIX, PROJECT_DIR, load_examples  # noqa: E402
from benchmarks.floor import SonarFloor, floor_vs_r  # noqa: E402
from benchmarks.harness import FULL, QUICK, Plan  # noqa: E402
from benchmarks.report import TARGETS, headline_summary, print_summary, write_results  # noqa: E402
from benchmarks.stages import STUBBED_SUFFIX, bench_model  # noqa: E402
from chalicelib.served_model import compile_served  # noqa: E402
from chalicelib.wiring import build_runtime  # noqa: E402
from devtools.local_s3 import LocalS3, create_bucket  # noqa: E402

DEFAULT_OUT = PROJECT_DIR / "benchmarks"
SCHEMA = 1


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
                        "probabilities_vs_r": floor_vs_r(SonarFloor.from_file(sonar.path), sonar.records)}
    results["summary"] = headline_summary(results)
    results["environment"]["load_average_end"] = list(os.getloadavg())
    results["duration_s"] = time.perf_counter() - started
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples, a few seconds; rough figures")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write results.md and results.json")
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else FULL, quick=args.quick)
    json_path, md_path = write_results(results, args.out)
    print_summary(results, json_path, md_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
