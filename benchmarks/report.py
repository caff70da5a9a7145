"""What a run writes: the headline summary against the targets, results.md, results.json and the console lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchmarks.containment import HOLDS, INVERTED, WITHIN_NOISE
from benchmarks.results_paths import RESULTS_JSON, RESULTS_MD, write_report
from benchmarks.stages import STAGES

TARGETS = {"sonar_overhead_us": 150.0, "cold_start_ms": 1000.0, "peak_rss_mb": 150.0,
           "sonar_compiled_over_floor": 3.0, "sonar_titus_over_compiled": 30.0,
           "forest_compiled_us": 400.0, "forest_titus_over_compiled": 10.0,
           "batch_compiled_records_per_cpu_s": 5000.0}
# How each target is met: the measured figure below ("<"), at most ("<=") or at least (">=") the target.
TARGET_COMPARISONS = {"sonar_overhead_us": "<", "cold_start_ms": "<", "peak_rss_mb": "<",
                      "sonar_compiled_over_floor": "<=", "sonar_titus_over_compiled": ">=",
                      "forest_compiled_us": "<=", "forest_titus_over_compiled": ">=",
                      "batch_compiled_records_per_cpu_s": ">="}
TARGET_FOREST_TREES = 100
TARGET_BATCH_SIZE = 1000


def _meets(value: float, comparison: str, target: float) -> bool:
    return value < target if comparison == "<" else value <= target if comparison == "<=" else value >= target


def target_rows(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each target, the figure measured for it in this run, and whether it is met. ``as_specified`` is False when
    the run measured it on less than the target names (--quick: a smaller forest, a smaller batch)."""
    sonar = results["models"]["sonar"]
    cold = results["cold_start"]["median"]
    forest = results["forest"]
    batch = results["batch_compiled"]["sizes"][-1]
    trees, size = forest["trees"], batch["size"]
    rows = [
        ("sonar_overhead_us", "Sonar service overhead: the handler, engine stubbed", "us",
         sonar["overhead_us"]["handler_engine_stubbed"], "Sonar, one request", True),
        ("cold_start_ms", "Cold start, spawn to first answer, PFA_ENGINE default (auto: the engine check "
         "included)", "ms", cold["to_first_answer_ms"], f"Sonar, median of {results['cold_start']['runs']}", True),
        ("peak_rss_mb", "Cold start peak RSS (VmHWM), PFA_ENGINE default", "MB", cold["peak_rss_mb"],
         f"Sonar, median of {results['cold_start']['runs']}", True),
        ("sonar_compiled_over_floor", "Sonar: compiled engine / plain-Python floor", "x",
         sonar["floor"]["compiled_over_floor"], "Sonar, same rounds", True),
        ("sonar_titus_over_compiled", "Sonar: titus engine / compiled engine", "x",
         sonar["compiled"]["titus_over_compiled_engine"], "Sonar, same rounds", True),
        ("forest_compiled_us", f"Random forest of {TARGET_FOREST_TREES} trees (pfactl export): compiled engine, "
         "per record", "us", forest["median_us"]["compiled"], f"{trees} trees, every Sonar row",
         trees == TARGET_FOREST_TREES),
        ("forest_titus_over_compiled", f"Random forest of {TARGET_FOREST_TREES} trees: titus / compiled, per record",
         "x", forest["titus_over_compiled"], f"{trees} trees, every Sonar row", trees == TARGET_FOREST_TREES),
        ("batch_compiled_records_per_cpu_s", f"`/predict/batch` of {TARGET_BATCH_SIZE:,} Sonar records, whole "
         "handler, compiled: records per CPU-second (process_time)", "records/CPU-s",
         batch["records_per_process_cpu_s"], f"batch of {size:,}", size == TARGET_BATCH_SIZE),
    ]
    return [{"key": key, "what": what, "unit": unit, "comparison": TARGET_COMPARISONS[key], "target": TARGETS[key],
             "measured": value, "measured_on": on, "as_specified": specified,
             "met": _meets(value, TARGET_COMPARISONS[key], TARGETS[key])}
            for key, what, unit, value, on, specified in rows]


def headline_summary(results: Dict[str, Any]) -> Dict[str, Any]:
    """The headline figures of a run and whether they meet the targets: results.json's "summary"."""
    sonar = results["models"]["sonar"]
    cold = results["cold_start"]["median"]
    overhead = sonar["overhead_us"]["handler_engine_stubbed"]
    targets = target_rows(results)
    return {
        "sonar_engine_us": sonar["median_us"]["engine"],
        "sonar_engine_compiled_us": sonar["median_us"]["engine_compiled"],
        "sonar_handler_us": sonar["median_us"]["handler"],
        "sonar_handler_compiled_us": sonar["median_us"]["handler_compiled"],
        "sonar_overhead_us": overhead,
        "sonar_overhead_minus_us": sonar["overhead_us"]["handler_minus_engine"],
        "sonar_floor_us": sonar["median_us"]["floor"],
        "cold_start_ms": cold["to_first_answer_ms"],
        "cold_start_titus_ms": results["cold_start"]["titus"]["median"]["to_first_answer_ms"],
        "peak_rss_mb": cold["peak_rss_mb"],
        "targets": targets,
        "targets_met": {row["key"]: row["met"] for row in targets},
    }


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
    if results.get("reference"):
        written = ("Reference run, written by `make bench-reference` (`python -m benchmarks.bench --reference`) "
                   f"at commit `{env.get('git_commit_full') or env['git_commit']}`")
    else:
        written = ("Written by `make bench` (`python -m benchmarks.bench" + (" --quick" if results["quick"] else "")
                   + "`)")
    lines = [
        "# Benchmark results",
        "",
        written + "; raw numbers in `results.json`, how to read them in `benchmarks/README.md`.",
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
        f"- Run: {results['plan']['rounds']} interleaved rounds (each round: every stage on the same records, "
        "warm, in a shuffled order that the next round reverses), blocks of about "
        f"{results['plan']['block_us']:.0f} us; {results['duration_s']:.0f} s in all",
    ]
    lines += render_targets(results)
    lines += [
        "",
        "## Per request, in process",
        "",
        "Median time per request in microseconds, and as a ratio to the raw titus engine "
        "(`engine.action(x, check=False)`) of the same model, measured in the same rounds on the same records. "
        "Every stage runs the model the handler serves and is timed warm (after an untimed pass on the same "
        "records), as in a run of back-to-back requests. Two runtimes serve the app, one built with "
        "PFA_ENGINE=titus (every row but the *compiled* ones) and one with PFA_ENGINE=compiled; a stage that "
        "goes through the app points it at its runtime, untimed, before its passes.",
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
    lines += render_containment(models, shorts)
    lines += render_compiled(models, shorts)
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
        for key in ("engine", "engine_compiled", "handler", "handler_compiled", "handler_stubbed", "app_stubbed"):
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
        "| | median us | x engine | x floor |",
        "| --- | ---: | ---: | ---: |",
        f"| titus engine | {_us(models['sonar']['median_us']['engine'])} | 1x | "
        f"{_ratio(1 / floor['ratio_to_engine'])} |",
        f"| compiled engine | {_us(models['sonar']['median_us']['engine_compiled'])} | "
        f"{_ratio(models['sonar']['ratio_to_engine']['engine_compiled'])} | {_ratio(floor['compiled_over_floor'])} |",
        f"| plain Python | {_us(floor['median_us'])} | {_ratio(floor['ratio_to_engine'])} | 1x |",
        "",
        f"Same label as the engine on {floor['labels_equal_engine']}/{floor['rows']} rows, as R on "
        f"{floor['labels_equal_reference']}/{floor['rows']}; largest difference from R's P(M): "
        f"{floor['probabilities_vs_r']['max_abs_diff_prob_M']:.2g}.",
    ]
    cold = results["cold_start"]
    medians, titus = cold["median"], cold["titus"]
    titus_medians = titus["median"]
    lines += [
        "",
        "## Cold start (Sonar, fresh process)",
        "",
        f"Median of {cold['runs']} runs" + (" after one untimed run (so .pyc files exist)" if cold["warmup_run"]
                                            else "") +
        f"; baseline: a bare `python -c pass` from spawn to exit, **{_ms(cold['bare_python_ms'])} ms**, "
        "timed alternately with the runs. The child does what a Lambda container does: import the app, load "
        "the default model (settings, boto3 client, S3 GET, compile), then answer one `POST /predict` event. "
        f"With the default PFA_ENGINE (auto; the model was served by {', '.join(cold['engines'])}) the load also "
        "compiles the document to Python and checks it against titus; the same child with PFA_ENGINE=titus "
        f"(served by {', '.join(titus['engines'])}) ran alternately with it, for comparison.",
        "",
        "| stage | default (auto) ms | x bare python | PFA_ENGINE=titus ms | x bare python | auto - titus ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, label in (("interpreter_start_ms", "interpreter start (spawn to first line)"),
                       ("import_app_ms", "`import app` (chalice, boto3, titus, numpy)"),
                       ("load_model_ms", "load the model (S3 client, fetch, compile, engine check)"),
                       ("s3_fetch_ms", "- of which S3 fetch"),
                       ("compile_ms", "- of which compile (titus, and for auto the compiled engine and the check)"),
                       ("check_ms", "- - of which the engine choice (`EngineChoice.check_ms`: compile to Python + "
                                    "check)"),
                       ("first_request_ms", "first request"),
                       ("to_first_answer_ms", "**spawn to first answer**"),
                       ("process_wall_ms", "process spawn to exit")):
        cells = []
        for figures in (medians, titus_medians):
            value = figures.get(key)
            cells += [_ms(value), _ratio(value / cold["bare_python_ms"]) if value is not None else "-"]
        both = medians.get(key) is not None and titus_medians.get(key) is not None
        difference = _ms(medians[key] - titus_medians[key]) if both else "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {difference} |")
    lines += [
        "",
        f"The check at this cold start compared {medians['checked_inputs']:.0f} inputs. Peak RSS with "
        f"PFA_ENGINE=titus: {titus_medians['peak_rss_mb']:.1f} MB.",

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
        "PFA_ENGINE=titus first; the compiled engine's table follows. "
        f"Batch size 1 is a single `{single['route']}`: the *handler (total)* row above, the same measurement, "
        f"{_ms(single['request_ms'])} ms ({single['records_per_s']:,.0f} records/s) by the wall clock, "
        f"{_ms(single['request_cpu_ms'])} ms of CPU ({single['records_per_cpu_s']:,.0f} records per CPU-second). "
        f"The batches (`{batch['route']}`) were timed in the same rounds, each starting at the round's record. "
        "Records/s per CPU-second is the fair comparison: a batch request runs for up to seconds and, on a shared "
        "machine, waits for the CPU far more often than a request of a few milliseconds, which the wall clock "
        "counts against it.",
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
    lines += render_compiled_batch(results["batch_compiled"], batch)
    if "streams" in results:
        lines += render_streams(results["streams"])
    lines += render_forest(results["forest"])
    lines += render_engine_check(results["engine_check"])
    lines.append("")
    return "\n".join(lines)


def _figure(value: float, unit: str) -> str:
    if unit == "x":
        return _ratio(value)
    if unit == "records/CPU-s":
        return f"{value:,.0f} records/CPU-s"
    return f"{_us(value) if unit == 'us' else _ms(value)} {unit}"


def render_targets(results: Dict[str, Any]) -> List[str]:
    """Each target against the figure measured for it in this run."""
    lines = [
        "",
        "## Targets",
        "",
        "Each figure was measured in this run; the ratios are of two figures measured in the same rounds.",
        "",
        "| target | measured | on | met |",
        "| --- | ---: | --- | --- |",
    ]
    for row in results["summary"]["targets"]:
        target = f"{row['comparison']} {_figure(row['target'], row['unit'])}"
        verdict = "met" if row["met"] else "**not met**"
        if not row["as_specified"]:
            verdict += " (on less than the target names: see *on*)"
        lines.append(f"| {row['what']}: {target} | {_figure(row['measured'], row['unit'])} | "
                     f"{row['measured_on']} | {verdict} |")
    if results["quick"]:
        lines += ["", "Quick run: few samples, and the forest and the batch are smaller than the targets name."]
    return lines


def render_compiled(models: Dict[str, Any], shorts: List[str]) -> List[str]:
    """Per model: the compiled engine and its handler against titus's, and the engine choice it was loaded with."""
    lines = [
        "",
        "## Compiled engine against titus",
        "",
        "The same rounds: the raw titus engine (`engine.action(x, check=False)`) and the compiled instance the "
        "PFA_ENGINE=compiled runtime serves (`action(x)`), and the whole handler on each runtime. *Same answers*: "
        "rows on which the compiled engine's encoded output equals titus's. *Check*: the load-time check of the "
        "compiled runtime's model (inputs compared, `EngineChoice.check_ms`, which includes compiling to Python).",
        "",
        "| model | titus engine us | compiled engine us | titus / compiled | handler, titus us | handler, compiled us "
        "| titus / compiled | compiled handler - engine us | same answers | check |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for short in shorts:
        model = models[short]
        medians, compiled, choice = model["median_us"], model["compiled"], model["engine_choice"]
        lines.append(f"| {model['name']} | {_us(medians['engine'])} | {_us(medians['engine_compiled'])} | "
                     f"{_ratio(compiled['titus_over_compiled_engine'])} | {_us(medians['handler'])} | "
                     f"{_us(medians['handler_compiled'])} | {_ratio(compiled['titus_over_compiled_handler'])} | "
                     f"{_us(model['overhead_us']['compiled_handler_minus_engine'])} | "
                     f"{model['compiled_answers_equal_titus']}/{model['rows']} | "
                     f"{choice['checked_inputs']} inputs, {_ms(choice['check_ms'])} ms |")
    return lines


def render_compiled_batch(batch: Dict[str, Any], titus_batch: Dict[str, Any]) -> List[str]:
    single = batch["single"]
    titus_sizes = {row["size"]: row for row in titus_batch["sizes"]}
    lines = [
        "",
        "### Batch throughput, PFA_ENGINE=compiled",
        "",
        f"The same route on the runtime built with PFA_ENGINE=compiled, in the same rounds; batch size 1 is the "
        f"*handler (total), compiled* row: {_ms(single['request_ms'])} ms. CPU-s here is the process's CPU time "
        "(`time.process_time`: every thread of the process; the tables above use this thread's, which is the "
        "same unless another thread works). *x titus*: records per process-CPU-second against the titus table's "
        "same batch size.",
        "",
        "| batch size | requests timed | ms per request | records/s (wall) | x single | process CPU ms per request "
        "| records per CPU-s | x single | x titus |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in batch["sizes"]:
        titus = titus_sizes.get(row["size"])
        versus = _ratio(row["records_per_process_cpu_s"] / titus["records_per_process_cpu_s"]) if titus else "-"
        lines.append(f"| {row['size']} | {row['requests']} | {_ms(row['request_ms'])} | "
                     f"{row['records_per_s']:,.0f} | {_ratio(row['ratio_to_single'])} | "
                     f"{_ms(row['request_process_cpu_ms'])} | {row['records_per_process_cpu_s']:,.0f} | "
                     f"{_ratio(row['process_cpu_ratio_to_single'])} | {versus} |")
    return lines


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def render_streams(streams: Dict[str, Any]) -> List[str]:
    """The queue and stream handlers per engine and batch size, against the single request of the same run."""
    single, probe, largest = streams["single"], streams["moto_send_batch"], streams["largest"]
    checks = [check for by_engine in streams["checks"].values() for check in by_engine.values()]
    equal, compared = sum(check["equal_to_predict"] for check in checks), sum(len(check["rows"]) for check in checks)
    rows_checked = ", ".join(str(row) for row in checks[0]["rows"])
    lines = [
        "",
        "## Queue and stream scoring (Sonar, whole Lambda invocation)",
        "",
        "`app.score_queue(event, context)` and `app.score_stream(event, context)` as Lambda invokes them: `json.loads` "
        "of the event an SQS or a Kinesis event source mapping sends (one Sonar record a message, rows in turn), the "
        "handler (read, validate and score each record, send one result message per record to the results queue, "
        "SendMessageBatch of ten), `json.dumps` of its answer; every invocation had to answer no "
        "`batchItemFailures` and send every record's result. The results queue is on a local moto SQS "
        "(`devtools.local_aws`). Compiled engine first (the runtime built with PFA_ENGINE=compiled: what the "
        "default, auto, serves Sonar with), then titus. *x /predict*: records/s against the single "
        f"`POST /predict` of the same engine in this run (*handler (total), compiled*: "
        f"{_ms(single['compiled']['request_ms'])} ms; *handler (total)*: {_ms(single['titus']['request_ms'])} ms); "
        "CPU is this thread's.",
        "",
        f"**moto's SendMessageBatch costs {probe['median_ms']:.1f} ms a call** here (ten results on a just-purged "
        f"queue, median of {probe['calls']}, quartiles {probe['p25_ms']:.1f} .. {probe['p75_ms']:.1f} ms; "
        f"{probe['cpu_median_ms']:.1f} ms of it this process's CPU, botocore's work). That is moto's speed, not "
        "SQS's, and it dominates the small batches below. moto also slows down as a queue fills (every call scans "
        "every message it holds), which SQS does not: so the results queue is purged, untimed, before each "
        f"invocation, and from {streams['purged_from']} records every {streams['purge_interval_s'] * 1000:.0f} ms "
        "during it. *Waits*: the time in SendMessageBatch that was not this process's CPU (moto's and the "
        "loopback's share), which the CPU columns leave out.",
        "",
        "Largest batch: Lambda takes a batch size of up to "
        f"{largest['sqs']['batch_size_limit']:,} (SQS: with a batching window), but passes a batch in one call "
        f"only up to the {_mb(largest['sqs']['limit_bytes'])} invocation payload (CreateEventSourceMapping, "
        f"`BatchSize`): with Sonar messages that is {largest['sqs']['records']:,} SQS messages or "
        f"{largest['kinesis']['records']:,} Kinesis records (an event of "
        f"{largest['sqs']['batch_size_limit']:,} would be {_mb(largest['sqs']['bytes_at_batch_size_limit'])} or "
        f"{_mb(largest['kinesis']['bytes_at_batch_size_limit'])}), timed from the first row each time.",
        "",
        f"Checked before timing: on each source and engine one invocation of rows {rows_checked} put on the results "
        f"queue the prediction and model (name and version) `POST /predict` answers for each: {equal}/{compared}.",
        "",
        "| source | engine | batch size | invocations timed | ms per invocation | records/s | x /predict | CPU ms per "
        "invocation | records per CPU-s | x /predict (CPU) | SendMessageBatch calls | ms in sends (share) | waits ms |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in streams["rows"]:
        size = f"{row['size']:,}" + (" (largest)" if row["largest"] else "")
        lines.append(f"| {row['handler']} ({row['source']}) | {row['engine']} | {size} | {row['invocations']} | "
                     f"{_ms(row['request_ms'])} | {row['records_per_s']:,.0f} | {_ratio(row['ratio_to_predict'])} | "
                     f"{_ms(row['request_cpu_ms'])} | {row['records_per_cpu_s']:,.0f} | "
                     f"{_ratio(row['cpu_ratio_to_predict'])} | {row['send_calls']:,.0f} | {_ms(row['sends_ms'])} "
                     f"({row['sends_share']:.0%}) | {_ms(row['sends_wait_ms'])} |")
    return lines


def render_forest(forest: Dict[str, Any]) -> List[str]:
    medians, cpu = forest["median_us"], forest["cpu_median_us"]
    labels, choice = forest["labels_equal_sklearn"], forest["engine_choice"]
    return [
        "",
        f"## Random forest ({forest['trees']} trees, exported by pfactl)",
        "",
        f"scikit-learn's `RandomForestClassifier(n_estimators={forest['trees']}, random_state={forest['seed']})` "
        f"fitted on {forest['fitted_on']} ({_ms(forest['fit_ms'])} ms), exported by `{forest['exported_by']}` "
        f"({forest['document_bytes']:,} bytes of PFA) and served by each engine; each of {forest['rounds']} "
        f"interleaved rounds scores every one of the {forest['rows']} rows on each engine (after an untimed pass "
        "over them); per record, median over the rounds.",
        "",
        "| engine | us per record | CPU us per record | x titus |",
        "| --- | ---: | ---: | ---: |",
        f"| titus `engine.action(x, check=False)` | {_us(medians['titus'])} | {_us(cpu['titus'])} | 1x |",
        f"| compiled `action(x)` | {_us(medians['compiled'])} | {_us(cpu['compiled'])} | "
        f"{_ratio(medians['compiled'] / medians['titus'])} |",
        "",
        f"titus / compiled: **{_ratio(forest['titus_over_compiled'])}** (CPU: "
        f"{_ratio(forest['cpu_titus_over_compiled'])}). scikit-learn's label on {labels['titus']}/{forest['rows']} "
        f"rows by titus, {labels['compiled']}/{forest['rows']} by the compiled engine. Load-time check "
        f"(PFA_ENGINE=compiled): {_inputs(choice['checked_inputs'])} inputs, {_ms(choice['check_ms'])} ms.",
    ]


def render_engine_check(checks: Dict[str, Any]) -> List[str]:
    lines = [
        "",
        "## Engine choice at load (in process)",
        "",
        "`compile_served` of each model with PFA_ENGINE=titus (titus compiles the document; no check) and with the "
        "default, auto (also compiles it to Python and checks the compiled engine against titus on the example "
        "request and seeded inputs, within a time budget), alternately; medians. *Check* is "
        "`EngineChoice.check_ms` (compile to Python + the check) and `checked_inputs`.",
        "",
        "| model | load, titus ms | load, auto ms | auto - titus ms | check ms | inputs checked | chosen |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, check in checks.items():
        lines.append(f"| {name} | {_ms(check['load_titus_ms'])} | {_ms(check['load_auto_ms'])} | "
                     f"{_ms(check['auto_minus_titus_ms'])} | {_ms(check['check_ms'])} | "
                     f"{_inputs(check['checked_inputs'])} | {check['engine']} |")
    lines += ["", "*0, nothing compared*: the check's time budget ran out (building its own titus engine counts "
              "against it) before the first input, and the compiled engine was chosen all the same."]
    return lines


def _inputs(count: int) -> str:
    return f"**{count}, nothing compared**" if count == 0 else str(count)


def render_containment(models: Dict[str, Any], shorts: List[str]) -> List[str]:
    """The containment checks: a stage that runs another inside it, against that one."""
    lines = [
        "",
        "### Containment checks",
        "",
        "A stage that runs another one inside it cannot really be cheaper. *Paired* is the outer stage minus the "
        "inner one (times the batch size, for a batch) round by round (same inputs, same moment): its median and "
        "quartiles, and the share of rounds in which the outer stage was the slower. *Inverted within noise*: "
        "the medians are in the wrong order but the paired quartiles straddle zero, so the two cost about the "
        "same and noise decided; *inverted*: the outer stage was faster in three rounds out of four or more, "
        "which this bench's design should rule out.",
        "",
        "| model | outer >= inner | outer us | inner us | paired median (p25 .. p75) us | outer slower | verdict |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    flagged = []
    for short in shorts:
        for rule in models[short].get("containment", []):
            paired = rule["paired_difference_us"]
            verdict = rule["verdict"]
            shown_verdict = f"**{verdict}**" if verdict in (INVERTED, WITHIN_NOISE) else verdict
            inner = rule["inner"] if rule.get("times", 1) == 1 else f"{rule['times']} x {rule['inner']}"
            lines.append(f"| {models[short]['name']} | {rule['outer']} >= {inner} | "
                         f"{_us(rule['outer_median_us'])} | {_us(rule['inner_median_us'])} | "
                         f"{_signed(paired['median_us'])} ({_signed(paired['p25_us'])} .. {_signed(paired['p75_us'])})"
                         f" | {paired['outer_slower_share']:.0%} | {shown_verdict} |")
            if verdict != HOLDS:
                flagged.append(f"{models[short]['name']}: {rule['outer']} < {inner} ({verdict})")
    lines += ["", ("Flagged: " + "; ".join(flagged) + ".") if flagged else "Every rule holds."]
    return lines


def _signed(value: float) -> str:
    return ("-" if value < 0 else "+") + _us(abs(value))


def write_results(results: Dict[str, Any], out_dir: Path) -> Tuple[Path, Path]:
    return write_report(results, out_dir, RESULTS_JSON, RESULTS_MD, render_markdown)


def print_summary(results: Dict[str, Any], json_path: Path, md_path: Path) -> None:
    """The headline figures on stdout, and where the two files went."""
    summary = results["summary"]
    sonar = results["models"]["sonar"]
    print(f"Sonar: engine {_us(summary['sonar_engine_us'])} us; handler {_us(summary['sonar_handler_us'])} us "
          f"({_ratio(sonar['ratio_to_engine']['handler'])} engine); overhead {_us(summary['sonar_overhead_us'])} us "
          f"(handler - engine {_us(summary['sonar_overhead_minus_us'])} us); plain-Python floor "
          f"{_us(summary['sonar_floor_us'])} us ({_ratio(sonar['ratio_to_engine']['floor'])} engine)")
    print(f"Sonar compiled: engine {_us(summary['sonar_engine_compiled_us'])} us "
          f"({_ratio(sonar['compiled']['titus_over_compiled_engine'])} faster than titus, "
          f"{_ratio(sonar['floor']['compiled_over_floor'])} the floor); handler "
          f"{_us(summary['sonar_handler_compiled_us'])} us")
    print(f"Cold start to first answer {_ms(summary['cold_start_ms'])} ms "
          f"({_ratio(results['cold_start']['ratio_to_bare_python']['to_first_answer_ms'])} bare python; "
          f"PFA_ENGINE=titus {_ms(summary['cold_start_titus_ms'])} ms); peak RSS {summary['peak_rss_mb']:.1f} MB")
    forest = results["forest"]
    print(f"Random forest ({forest['trees']} trees) per record: titus {_us(forest['median_us']['titus'])} us, "
          f"compiled {_us(forest['median_us']['compiled'])} us ({_ratio(forest['titus_over_compiled'])})")
    for label, batch in (("titus", results["batch"]), ("compiled", results["batch_compiled"])):
        print(f"Batch records per CPU-second, {label} (x single): " + ", ".join(
            f"{row['size']}: {row['records_per_process_cpu_s']:,.0f} ({_ratio(row['process_cpu_ratio_to_single'])})"
            for row in batch["sizes"]))
    print("Batch records/s, wall clock, titus (x single): " + ", ".join(
        f"{row['size']}: {row['records_per_s']:,.0f} ({_ratio(row['ratio_to_single'])})"
        for row in results["batch"]["sizes"]))
    if "streams" in results:
        streams = results["streams"]
        for source in ("sqs", "kinesis"):
            rows = [row for row in streams["rows"] if row["source"] == source and row["engine"] == "compiled"]
            print(f"{source} records per CPU-second, compiled (x /predict): " + ", ".join(
                f"{row['size']}: {row['records_per_cpu_s']:,.0f} ({_ratio(row['cpu_ratio_to_predict'])})"
                for row in rows) + f"; moto's SendMessageBatch {streams['moto_send_batch']['median_ms']:.1f} ms a call")
    for row in summary["targets"]:
        print(f"Target {row['key']}: {_figure(row['measured'], row['unit'])} "
              f"{row['comparison']} {_figure(row['target'], row['unit'])}? "
              f"{'met' if row['met'] else 'NOT met'}" + ("" if row["as_specified"] else f" ({row['measured_on']})"))
    for model in results["models"].values():
        for rule in model.get("containment", []):
            if rule["verdict"] != HOLDS:
                print(f"Containment: {model['name']} {rule['outer']} came out cheaper than {rule['inner']} "
                      f"({rule['verdict']}; see results.md)")
    print(f"Wrote {md_path} and {json_path} in {results['duration_s']:.0f} s")
