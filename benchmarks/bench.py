"""`make bench`: where the time of a prediction goes, for each example model, and what a cold start costs.

    python -m benchmarks.bench              # about a minute; writes .local/bench/results.md and results.json
    python -m benchmarks.bench --quick      # a few seconds, rough figures (what the tests run)
    python -m benchmarks.bench --out DIR    # write the two files into DIR instead
    python -m benchmarks.bench --reference  # the run kept under version control: benchmarks/reference/, with
                                            # its cost.md; refused when tracked files differ from the commit

The bench starts its own real local S3 (devtools.local_s3), uploads the example models to a bucket, points
the app at it (one runtime built with PFA_ENGINE=titus, one with PFA_ENGINE=compiled) and measures in this
process: each stage of a request, the whole Lambda invocation through the Chalice app on each engine, a
plain-Python floor for the Sonar model, and batch throughput, all in the same interleaved rounds; then the queue and
stream handlers (score_queue, score_stream) against a local SQS (devtools.local_aws), a random forest exported by
pfactl on both engines, and what the engine choice costs at load. A run writes outside
version control (``.local/``, ignored by git), so it never dirties the tree; only ``--reference`` writes the
tracked copy. The cold start is measured in fresh child processes (default PFA_ENGINE, and PFA_ENGINE=titus).
Machines are noisy, so every figure comes with a ratio to a baseline measured in the same run (raw
``engine.action``, a bare ``python -c pass``, a single request): compare ratios across machines and runs, not
absolute times. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

# `python benchmarks/bench.py` (not -m) would not see app.py, chalicelib, devtools or the benchmarks package.
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

from chalice.test import Client  # noqa: E402

import app as app_module  # noqa: E402
from benchmarks.cold_start import bench_cold_start  # noqa: E402
from benchmarks.engines import EngineRuntimes  # noqa: E402
from benchmarks.environment import environment, tracked_changes  # noqa: E402
from benchmarks.examples import DEFAULT_MODEL, MODELS_PREFIX, PROJECT_DIR, load_examples  # noqa: E402
from benchmarks.floor import SonarFloor, floor_vs_r  # noqa: E402
from benchmarks.forest import FOREST_KEY, bench_forest, build_forest  # noqa: E402
from benchmarks.harness import FULL, QUICK, Plan  # noqa: E402
from benchmarks.loads import bench_loads  # noqa: E402
from benchmarks.report import TARGETS, headline_summary, print_summary, write_results  # noqa: E402
from benchmarks.results_paths import COST_MD, LATEST_DIR, REFERENCE_DIR, shown  # noqa: E402
from benchmarks.stages import STUBBED_SUFFIX, bench_model  # noqa: E402
from benchmarks.streams import bench_streams  # noqa: E402
from chalicelib.served_model import compile_served  # noqa: E402
from chalicelib.wiring import build_runtime  # noqa: E402
from devtools.local_s3 import create_bucket, temporary_local_s3  # noqa: E402

SCHEMA = 4  # 4: the queue and stream handlers ("streams")



def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(plan: Plan, quick: bool = False) -> Dict[str, Any]:
    """Measure everything; returns what results.json holds."""
    started = time.perf_counter()
    results: Dict[str, Any] = {"schema": SCHEMA, "quick": quick, "environment": environment(),
                               "plan": {"rounds": plan.rounds, "block_us": plan.block_us,
                                        "batch_samples": {str(k): v for k, v in plan.batch_samples.items()},
                                        "compiled_batch_samples": {str(k): v for k, v in
                                                                   plan.compiled_batch_samples.items()},
                                        "forest_trees": plan.forest_trees, "forest_rounds": plan.forest_rounds,
                                        "load_runs": plan.load_runs, "cold_runs": plan.cold_runs,
                                        "stream_samples": {str(k): v for k, v in plan.stream_samples.items()},
                                        "stream_max_samples": plan.stream_max_samples},
                               "targets": dict(TARGETS)}
    examples = load_examples()
    sonar = next(example for example in examples if example.short == "sonar")
    _progress("starting a local S3")
    with temporary_local_s3("pfa-bench-s3-") as server:
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
        results["s3"] = {"server": "devtools.local_s3.LocalS3 (SeaweedFS)", "bucket": bucket, **settings,
                         "PFA_ENGINE": "titus, and compiled for the *compiled* rows (one runtime each)"}
        runtimes = EngineRuntimes(settings, lambda environ: build_runtime(environ, s3_client=client))
        models: Dict[str, Any] = {}
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the request log lines
                with Client(app_module.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as test_client:
                    for example in examples:
                        _progress(f"per-request stages: {example.name}")
                        is_sonar = example is sonar
                        if is_sonar:
                            _progress("  with batches of " + ", ".join(str(size) for size in sorted(
                                plan.batch_samples)) + " (titus), " + ", ".join(
                                str(size) for size in sorted(plan.compiled_batch_samples)) + " (compiled)")
                        floor = SonarFloor.from_file(example.path) if is_sonar else None
                        models[example.short] = bench_model(example, runtimes, test_client.http, plan, floor,
                                                            plan.batch_samples if is_sonar else None,
                                                            plan.compiled_batch_samples if is_sonar else None)
        finally:
            runtimes.close()
        results["batch"] = models["sonar"].pop("batch")
        results["batch_compiled"] = models["sonar"].pop("batch_compiled")
        results["models"] = models
        _progress("queue and stream handlers against a local SQS: batches of " + ", ".join(
            str(size) for size in sorted(plan.stream_samples)) + (
            ", and the largest the event source delivers" if plan.stream_max_samples else ""))
        results["streams"] = bench_streams(client, settings, sonar, models["sonar"], plan, _progress)
        _progress(f"random forest of {plan.forest_trees} trees: titus and compiled on every Sonar row")
        results["forest"] = bench_forest(plan)
        _progress(f"engine choice at load: {plan.load_runs} load(s) per model and setting")
        documents = {example.name: (example.path.read_bytes(), f"{MODELS_PREFIX}{example.name}.pfa")
                     for example in examples}
        documents["sonar_random_forest"] = (build_forest(plan.forest_trees)[0], FOREST_KEY)
        results["engine_check"] = bench_loads(documents, plan.load_runs)
        first_answer = compile_served(sonar.path.read_bytes(), settings["MODEL_KEY"]).predict(sonar.records[0])
        _progress(f"cold start: {plan.cold_runs} run(s) each with the default PFA_ENGINE and with titus")
        results["cold_start"] = bench_cold_start(server, settings, sonar.records[0], first_answer, plan)
    results["floor"] = {"model": DEFAULT_MODEL, **models["sonar"]["floor"],
                        "probabilities_vs_r": floor_vs_r(SonarFloor.from_file(sonar.path), sonar.records)}
    results["summary"] = headline_summary(results)
    results["environment"]["load_average_end"] = list(os.getloadavg())
    results["duration_s"] = time.perf_counter() - started
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few samples, a few seconds; rough figures")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where to write results.md and results.json (default {shown(LATEST_DIR)})")
    parser.add_argument("--reference", action="store_true",
                        help=f"the reference run: write {shown(REFERENCE_DIR)}/, with its cost.md")
    args = parser.parse_args(argv)
    if args.reference:
        if args.quick or args.out is not None:
            parser.error("--reference is a full run into benchmarks/reference/: leave out --quick and --out")
        changed = tracked_changes()
        if changed:
            print("A reference run measures a commit: commit or stash the changes to tracked files first:\n  "
                  + "\n  ".join(changed), file=sys.stderr)
            return 2
    out = REFERENCE_DIR if args.reference else args.out if args.out is not None else LATEST_DIR
    results = run(QUICK if args.quick else FULL, quick=args.quick)
    results["reference"] = args.reference
    json_path, md_path = write_results(results, out)
    print_summary(results, json_path, md_path)
    if args.reference:
        from benchmarks import cost

        return cost.main(["--results", str(json_path), "--out", str(out / COST_MD)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
