"""What a run writes: the headline summary against the targets, results.md, results.json and the console lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from benchmarks.containment import HOLDS, INVERTED, WITHIN_NOISE
from benchmarks.results_paths import RESULTS_JSON, RESULTS_MD
from benchmarks.stages import STAGES

TARGETS = {"sonar_overhead_us": 150.0, "cold_start_ms": 1000.0, "peak_rss_mb": 150.0}


def headline_summary(results: Dict[str, Any]) -> Dict[str, Any]:
    """The headline figures of a run and whether they meet the targets: results.json's "summary"."""
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
        "",
        "## Per request, in process",
        "",
        "Median time per request in microseconds, and as a ratio to the raw titus engine "
        "(`engine.action(x, check=False)`) of the same model, measured in the same rounds on the same records. "
        "Every stage runs the model the handler serves and is timed warm (after an untimed pass on the same "
        "records), as in a run of back-to-back requests.",
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
    lines.append("")
    return "\n".join(lines)


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
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / RESULTS_JSON, out_dir / RESULTS_MD
    json_path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    md_path.write_text(render_markdown(results))
    return json_path, md_path


def print_summary(results: Dict[str, Any], json_path: Path, md_path: Path) -> None:
    """The headline figures on stdout, and where the two files went."""
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
    for model in results["models"].values():
        for rule in model.get("containment", []):
            if rule["verdict"] != HOLDS:
                print(f"Containment: {model['name']} {rule['outer']} came out cheaper than {rule['inner']} "
                      f"({rule['verdict']}; see results.md)")
    print(f"Wrote {md_path} and {json_path} in {results['duration_s']:.0f} s")
