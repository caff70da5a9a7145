"""The bench and the cost tool work, and their arithmetic is right. No timing is asserted: only shapes,
agreement of answers, and the cost arithmetic (exact, in Decimal)."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from benchmarks import containment, cost, ingest, prices
from benchmarks import streams as streams_module
from benchmarks.examples import r_sonar_predictions, sonar_records
from benchmarks.floor import SonarFloor
from benchmarks.harness import Samples, Stage, rounds_of, timed_rounds
from benchmarks.lambda_events import records_event
from benchmarks.report import TARGETS, render_containment
from benchmarks.results_paths import COST_MD, LATEST_DIR, REFERENCE_DIR, RESULTS_JSON, RESULTS_MD, latest_results
from benchmarks.stages import STAGES
from chalicelib.served_model import compile_served

PROJECT_DIR = Path(__file__).resolve().parent.parent
SONAR_PFA = PROJECT_DIR / "models" / "sonar_naive_bayes.pfa"


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60, check=False)


def _in_git_work_tree() -> bool:
    try:
        return _git("rev-parse", "--is-inside-work-tree").stdout.strip() == "true"
    except OSError:
        return False


@dataclass(frozen=True)
class QuickRun:
    out: Path
    status_before: Optional[str]  # `git status --porcelain` around the run (None outside a git work tree)
    status_after: Optional[str]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    """`python -m benchmarks.bench --quick` into a temp dir, in its own process (it reconfigures the app)."""
    out = tmp_path_factory.mktemp("bench")
    in_git = _in_git_work_tree()
    before = _git("status", "--porcelain").stdout if in_git else None
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--quick", "--out", str(out)],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600, check=False)
    after = _git("status", "--porcelain").stdout if in_git else None
    assert done.returncode == 0, done.stderr[-3000:]
    return QuickRun(out, before, after)


def test_quick_bench_writes_results(quick_run: QuickRun) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    assert results["quick"] is True
    env = results["environment"]
    for key in ("cpu_model", "cores", "python", "platform", "date_utc", "git_commit", "git_dirty"):
        assert key in env
    assert set(results["models"]) == {"toy", "sonar", "iris"}
    stages = {key for key, _, _ in STAGES} - {"floor"}
    for short, model in results["models"].items():
        assert stages <= set(model["median_us"]), short
        assert stages <= set(model["cpu_median_us"]), short
        assert model["ratio_to_engine"]["engine"] == 1
        assert model["answers_equal_reference"] == model["rows"], short  # the engine agrees with R / sklearn
        assert {"handler_minus_engine", "handler_engine_stubbed", "app_only_engine_stubbed"} <= set(
            model["overhead_us"])
    floor = results["floor"]
    assert floor["rows"] == floor["labels_equal_engine"] == floor["labels_equal_reference"] == 208
    cold = results["cold_start"]
    assert cold["runs"] >= 1 and cold["bare_python_ms"] > 0
    for key in ("interpreter_start_ms", "import_app_ms", "load_model_ms", "s3_fetch_ms", "compile_ms",
                "first_request_ms", "to_first_answer_ms", "peak_rss_mb"):
        assert cold["median"][key] is not None, key
    assert [row["size"] for row in results["batch"]["sizes"]] == [1, 10, 100]
    assert [row["size"] for row in results["batch_compiled"]["sizes"]] == [1, 10, 100]
    assert results["batch_compiled"]["single"]["stage"] == "handler_compiled"
    for row in results["batch"]["sizes"] + results["batch_compiled"]["sizes"]:
        assert {"request_ms", "records_per_s", "ratio_to_single", "request_cpu_ms", "cpu_ratio_to_single",
                "request_process_cpu_ms", "records_per_process_cpu_s"} <= set(row)
    assert set(results["summary"]["targets_met"]) == set(TARGETS)

    markdown = (quick_run.out / RESULTS_MD).read_text()
    for heading in ("## Targets", "## Per request, in process", "### Containment checks",
                    "## Compiled engine against titus", "## Service overhead", "## Plain-Python floor (Sonar)",
                    "## Cold start", "## Batch throughput", "### Batch throughput, PFA_ENGINE=compiled",
                    "## Queue and stream scoring", "## Random forest", "## Engine choice at load"):
        assert heading in markdown
    assert env["git_commit"] in markdown


def test_both_engines_are_measured_and_agree(quick_run: QuickRun) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    for short, model in results["models"].items():
        # The compiled engine gives titus's answer on every row, and serves where PFA_ENGINE=compiled.
        assert model["compiled_answers_equal_titus"] == model["rows"], short
        assert model["engine_choice"]["name"] == "compiled" and model["engine_choice"]["checked_inputs"] > 0, short
        assert model["compiled"]["engine_us"] == model["median_us"]["engine_compiled"]
        assert model["compiled"]["titus_over_compiled_engine"] == pytest.approx(
            model["median_us"]["engine"] / model["median_us"]["engine_compiled"])
    assert results["floor"]["compiled_over_floor"] == pytest.approx(
        results["models"]["sonar"]["median_us"]["engine_compiled"] / results["floor"]["median_us"])
    forest = results["forest"]
    assert forest["trees"] == results["plan"]["forest_trees"] and forest["rows"] == 208
    assert forest["labels_equal_sklearn"] == {"titus": 208, "compiled": 208}
    assert {"titus", "compiled"} == set(forest["median_us"]) and forest["engine_choice"]["name"] == "compiled"
    assert set(results["engine_check"]) == {model["name"] for model in results["models"].values()} | {
        forest["model"]}
    for name, check in results["engine_check"].items():
        assert check["engine"] == "compiled" and check["check_ms"] > 0, name
        # The forest's check may run out of its time budget before its first input; the example models' do not.
        assert check["checked_inputs"] > 0 or name == forest["model"], name
    cold = results["cold_start"]
    assert cold["engines"] == ["compiled"] and cold["titus"]["engines"] == ["titus"]
    assert cold["median"]["checked_inputs"] > 0 and cold["titus"]["median"]["checked_inputs"] == 0
    assert cold["titus"]["median"]["to_first_answer_ms"] > 0


def test_targets_are_stated_with_the_figures_of_the_run(quick_run: QuickRun) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    markdown = (quick_run.out / RESULTS_MD).read_text()
    rows = results["summary"]["targets"]
    assert [row["key"] for row in rows] == list(TARGETS)
    targets_table = markdown.split("## Targets", 1)[1].split("\n## ", 1)[0]
    for row in rows:
        assert row["target"] == TARGETS[row["key"]]
        comparison, measured, target = row["comparison"], row["measured"], row["target"]
        holds = {"<": measured < target, "<=": measured <= target, ">=": measured >= target}[comparison]
        assert row["met"] == holds == results["summary"]["targets_met"][row["key"]]
        assert row["what"] in targets_table
    # --quick measures the forest and the largest batch smaller than the targets name, and says so.
    specified = {row["key"]: row["as_specified"] for row in rows}
    assert not specified["forest_compiled_us"] and not specified["batch_compiled_records_per_cpu_s"]
    assert specified["sonar_titus_over_compiled"]


def test_a_run_leaves_the_tree_as_it_was(quick_run: QuickRun) -> None:
    if quick_run.status_before is None:
        pytest.skip("not a git work tree")
    # Neither a tracked file changed nor a file git would see appeared (the run wrote only to its --out).
    assert quick_run.status_after == quick_run.status_before


def test_default_output_is_ignored_by_git_and_the_reference_is_not() -> None:
    if not _in_git_work_tree():
        pytest.skip("not a git work tree")
    for name in (RESULTS_JSON, RESULTS_MD, COST_MD):
        assert _git("check-ignore", "-q", str(LATEST_DIR / name)).returncode == 0, name
        assert _git("check-ignore", "-q", str(REFERENCE_DIR / name)).returncode == 1, name
    assert cost.DEFAULT_OUT == LATEST_DIR / COST_MD


def test_cost_reads_the_latest_run_else_the_reference(tmp_path: Path) -> None:
    latest, reference = tmp_path / "latest", tmp_path / "reference"
    latest.mkdir()
    assert latest_results(latest, reference) == reference / RESULTS_JSON
    (latest / RESULTS_JSON).write_text("{}")
    assert latest_results(latest, reference) == latest / RESULTS_JSON


def test_reference_run_is_a_full_run_into_the_reference_folder() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--reference", "--quick"], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "--reference" in done.stderr and "Traceback" not in done.stderr


def test_cost_from_quick_results(quick_run: QuickRun) -> None:
    out = quick_run.out / COST_MD
    assert cost.main(["--results", str(quick_run.out / RESULTS_JSON), "--out", str(out)]) == 0
    text = out.read_text()
    for figure in ("$0.62", "$0.062", "$0.0062", "$50.40", "per 1M predictions"):
        assert figure in text
    assert "Titus only" not in text
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    estimate = cost.estimate(results, 512)
    # The default, auto: the compiled engine is priced as the service's, titus beside it, row by row.
    assert estimate["setting"] == cost.AUTO and estimate["engines"] == [cost.COMPILED, cost.TITUS]
    assert [(row["cost"].batch, row["engine"], row["default"]) for row in estimate["batches"]] == [
        (size, engine, engine == cost.COMPILED) for size in (1, 10, 100) for engine in (cost.COMPILED, cost.TITUS)]
    for row in estimate["batches"]:
        assert row["cost"].billed_ms >= row["cost"].duration_ms
        assert row["break_even"]["predictions_per_second"] > 0
    assert [(row["short"], row["engine"]) for row in estimate["models"]] == [
        (short, engine) for short in ("toy", "sonar", "iris") for engine in (cost.COMPILED, cost.TITUS)]
    assert [(row["batch"], row["engine"]) for row in cost.summary_rows(estimate)] == [
        (1, cost.COMPILED), (10, cost.COMPILED), (100, cost.COMPILED)]
    assert [row["pfa_engine"] for row in estimate["init"]] == [cost.AUTO, cost.TITUS]
    # PFA_ENGINE=titus in the config: the same rows, titus's first and priced as the service's.
    titus = cost.estimate(results, 512, setting=cost.TITUS)
    assert titus["engines"] == [cost.TITUS, cost.COMPILED]
    assert [(row["batch"], row["engine"]) for row in cost.summary_rows(titus)] == [
        (1, cost.TITUS), (10, cost.TITUS), (100, cost.TITUS)]
    assert [row["pfa_engine"] for row in titus["init"]] == [cost.TITUS, cost.AUTO]
    # Under auto, a model the load check left on titus is priced on titus.
    results["engine_check"][results["batch"]["model"]]["engine"] = cost.TITUS
    assert cost.estimate(results, 512)["engines"] == [cost.TITUS, cost.COMPILED]
    assert cost.estimate(results, 512, setting=cost.COMPILED)["engines"] == [cost.COMPILED, cost.TITUS]


def _titus_only(results: Dict[str, Any]) -> Dict[str, Any]:
    """``results`` as a run from before the bench measured the compiled engine (schema 2) would have them."""
    old = json.loads(json.dumps(results))
    old["schema"] = 2
    for key in ("batch_compiled", "engine_check", "streams"):
        old.pop(key, None)
    for model in old["models"].values():
        for key in ("median_us", "cpu_median_us"):
            model[key] = {stage: value for stage, value in model[key].items() if "compiled" not in stage}
    old["cold_start"].pop("titus", None)
    old["cold_start"].pop("pfa_engine", None)
    return old


def test_cost_without_compiled_figures_prices_titus_and_says_so(quick_run: QuickRun, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    results = _titus_only(json.loads((quick_run.out / RESULTS_JSON).read_text()))
    estimate = cost.estimate(results, 512)
    assert not estimate["compiled_measured"] and estimate["engines"] == [cost.TITUS]
    assert {row["engine"] for row in estimate["batches"] + estimate["models"] + estimate["sensitivity"]} == {
        cost.TITUS}
    assert [row["batch"] for row in cost.summary_rows(estimate)] == [1, 10, 100]
    assert estimate["batches"][0]["measured_ms"] == results["models"]["sonar"]["cpu_median_us"]["handler"] / 1000
    assert [row["pfa_engine"] for row in estimate["init"]] == [cost.TITUS]
    path, out = tmp_path / RESULTS_JSON, tmp_path / COST_MD
    path.write_text(json.dumps(results))
    assert cost.main(["--results", str(path), "--out", str(out)]) == 0
    assert "no figures of the compiled engine" in capsys.readouterr().err
    text = out.read_text()
    assert "**Titus only.**" in text and "results schema 2" in text and "not what the service runs" in text
    for figure in ("$0.62", "$0.062", "$0.0062", "$50.40"):
        assert figure in text
    assert estimate["ingest"] == [] and "no figures of the queue and stream handlers" in text
    # The committed reference prices whichever engines it measured, and says so when it is titus only.
    reference = json.loads((REFERENCE_DIR / RESULTS_JSON).read_text())
    reference_estimate = cost.estimate(reference, 512)
    assert ("**Titus only.**" in cost.render(reference_estimate, reference)) == (
        not cost.compiled_measured(reference))


def test_queue_and_stream_handlers_are_measured_against_predict(quick_run: QuickRun) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    streams, sonar = results["streams"], results["models"]["sonar"]
    samples = {int(size): rounds for size, rounds in results["plan"]["stream_samples"].items()}
    assert sorted(samples) == [1, 10, 100] and results["plan"]["stream_max_samples"] == 0  # --quick: no largest
    assert [(row["source"], row["engine"], row["size"]) for row in streams["rows"]] == [
        (source, engine, size) for source in streams_module.SOURCES for engine in (cost.COMPILED, cost.TITUS)
        for size in (1, 10, 100)]
    for engine, stage in (("compiled", "handler_compiled"), ("titus", "handler")):
        single = streams["single"][engine]
        # The baseline is the bench's own single /predict of that engine, measured in the same run.
        assert single["stage"] == stage and single["request_ms"] == sonar["median_us"][stage] / 1000
        assert single["request_cpu_ms"] == sonar["cpu_median_us"][stage] / 1000
    for row in streams["rows"]:
        single = streams["single"][row["engine"]]
        assert row["handler"] == {"sqs": "score_queue", "kinesis": "score_stream"}[row["source"]]
        assert row["invocations"] == samples[row["size"]] and not row["largest"]
        assert row["records_per_s"] == pytest.approx(row["size"] * 1000 / row["request_ms"])
        assert row["ratio_to_predict"] == pytest.approx(row["records_per_s"] / single["records_per_s"])
        assert row["cpu_ratio_to_predict"] == pytest.approx(row["records_per_cpu_s"] / single["records_per_cpu_s"])
        assert row["send_calls"] == -(-row["size"] // 10)  # the results, ten to a SendMessageBatch
        assert 0 < row["sends_ms"] < row["request_ms"] and 0 <= row["sends_wait_ms"] <= row["sends_ms"]
    # Every source and engine gave /predict's answer for each record checked.
    for by_engine in streams["checks"].values():
        assert set(by_engine) == {"compiled", "titus"}
        for check in by_engine.values():
            assert check["equal_to_predict"] == len(check["rows"]) > 0
    assert streams["moto_send_batch"]["calls"] > 0 and streams["moto_send_batch"]["median_ms"] > 0
    for largest in streams["largest"].values():
        assert largest["event_bytes"] <= largest["limit_bytes"] < largest["bytes_at_batch_size_limit"]
        assert 0 < largest["records"] < largest["batch_size_limit"]
    markdown = (quick_run.out / RESULTS_MD).read_text()
    section = markdown.split("## Queue and stream scoring", 1)[1].split("\n## ", 1)[0]
    assert "moto's SendMessageBatch costs" in section and "6.0 MB invocation payload" in section
    table = _table_rows(section, "Checked before timing")
    assert len(table) == len(streams["rows"])
    assert [cells[:3] for cells in table] == [[f"{row['handler']} ({row['source']})", row["engine"], f"{row['size']:,}"]
                                              for row in streams["rows"]]


def test_the_largest_stream_batch_fills_the_invocation_payload() -> None:
    bodies = [json.dumps(record) for record in sonar_records()]
    for source in streams_module.SOURCES:
        largest = streams_module.largest_batch(source, bodies)
        cycled = [bodies[n % len(bodies)] for n in range(largest["records"] + 1)]
        fits, over = (records_event(source, cycled[:size], 7, streams_module.DEV_RECORDS)
                      for size in (len(cycled) - 1, len(cycled)))
        assert len(fits) <= largest["limit_bytes"] < len(over)
        assert largest["limit_bytes"] == 6 * 1024 * 1024


def test_ingest_cost_arithmetic() -> None:
    # At a full vCPU nothing is projected: 17.69 ms of CPU and 5 ms of waits bill as 23 ms, 500 times.
    row = {"size": 100, "request_cpu_ms": 17.69, "request_ms": 40.0, "sends_wait_ms": 5.0}
    queue = cost.ingest_cost("sqs", row, 1769, result_bytes=300, message_bytes=900)
    assert (queue.invocations, queue.billed_ms, queue.results_requests, queue.input_requests) == (500, 23, 5000, 10000)
    assert queue.lambda_duration == cost.duration_cost(23, 1769) * 500
    assert queue.lambda_requests == Decimal("0.0001") and queue.results == Decimal("0.002")
    assert queue.input == Decimal("0.004") and queue.total == queue.lambda_total + Decimal("0.006")
    # The wall clock less the waits is the work; Kinesis's reads are not priced.
    stream = cost.ingest_cost("kinesis", row, 1769, 300, 900, clock="wall")
    assert stream.measured_ms == 35.0 and stream.billed_ms == 40 and stream.input_requests == 0 and stream.input == 0
    # One record per invocation: one SendMessageBatch and one DeleteMessageBatch each; a remainder rounds up.
    single = cost.ingest_cost("sqs", {**row, "size": 1}, 512, 300, 900)
    assert (single.invocations, single.results_requests, single.input_requests) == (50_000, 50_000, 55_000)
    assert single.billed_ms == math.ceil(17.69 / cost.cpu_share(512) + 5.0)
    odd = cost.ingest_cost("sqs", {**row, "size": 3}, 512, 300, 900, records=10)
    assert (odd.invocations, odd.results_requests, odd.input_requests) == (4, 4, 1 + 4)
    # A call over 64 KB is billed per chunk: ten results of 10 KB are two requests a call.
    assert cost.ingest_cost("sqs", row, 512, 10 * 1024, 900).results_requests == 10_000


def test_ingest_cost_from_quick_results(quick_run: QuickRun) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    estimate = cost.estimate(results, 512)
    published = {1: Decimal("0.62"), 10: Decimal("0.062"), 100: Decimal("0.0062")}
    assert [(row["source"], row["cost"].batch, row["engine"]) for row in estimate["ingest"]] == [
        (source, size, engine) for source in ("sqs", "kinesis") for size in (1, 10, 100)
        for engine in (cost.COMPILED, cost.TITUS)]
    for row in estimate["ingest"]:
        ingest = row["cost"]
        assert row["default"] == (row["engine"] == cost.COMPILED) and row["published"] == published[ingest.batch]
        assert row["ratio"] == ingest.total / row["published"]
        assert ingest.invocations == 50_000 // ingest.batch
        assert ingest.lambda_requests == prices.LAMBDA_PER_REQUEST * ingest.invocations
        assert ingest.results_requests == 50_000 // min(ingest.batch, 10)
        assert (ingest.input_requests > 0) == (row["source"] == "sqs")
        assert ingest.billed_ms >= ingest.duration_ms > ingest.measured_ms
    text = cost.render(estimate, results)
    table = _table_rows(text, "## An ingest of 50,000 records from a queue or a stream")
    assert len(table) == len(estimate["ingest"]) and [cells[-3] for cells in table[:2]] == ["$0.62", "$0.62"]


def _table_rows(markdown: str, heading: str) -> List[List[str]]:
    """The cells of the first table under ``heading`` (its body: no header, no rule)."""
    lines = markdown.split(heading, 1)[1].splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        table.append([cell.strip().strip("*") for cell in line.strip("|").split("|")])
    return table


@pytest.mark.parametrize("clock", ["cpu", "wall"])
@pytest.mark.parametrize("engine, block, stage", [("compiled", "batch_compiled", "handler_compiled"),
                                                  ("titus", "batch", "handler")])
def test_single_record_is_one_figure_in_bench_and_cost(quick_run: QuickRun, clock: str, engine: str, block: str,
                                                       stage: str) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    sonar = results["models"]["sonar"]
    stage_key, batch_key = ("cpu_median_us", "request_cpu_ms") if clock == "cpu" else ("median_us", "request_ms")
    handler_ms = sonar[stage_key][stage] / 1000
    # The bench: batch size 1 is the engine's handler stage itself, and the baseline of its batch ratios.
    single, first = results[block]["single"], results[block]["sizes"][0]
    assert results[block]["engine"] == engine
    assert first["size"] == 1 and first["stage"] == single["stage"] == stage
    assert first[batch_key] == single[batch_key] == handler_ms
    assert first["ratio_to_single"] == 1 and first["requests"] == sonar["stages"][stage]["samples"]
    # The cost: batch size 1, Sonar's own row and the memory table's 512 MB row all price that one figure.
    estimate = cost.estimate(results, 512, clock)
    sonar_row = next(row for row in estimate["models"] if row["short"] == "sonar" and row["engine"] == engine)
    batch_one = next(row for row in estimate["batches"] if row["cost"].batch == 1 and row["engine"] == engine)
    assert batch_one["measured_ms"] == sonar_row["measured_ms"] == handler_ms
    assert batch_one["cost"] == sonar_row["cost"]
    assert batch_one["default"] == sonar_row["default"] == (engine == cost.COMPILED)
    assert next(row for row in estimate["sensitivity"] if row["memory_mb"] == 512 and row["engine"] == engine)[
        "cost"] == sonar_row["cost"]
    # And cost.md prints it the same way in both tables.
    text = cost.render(estimate, results)
    batch_rows = _table_rows(text, "## This service: Sonar at 512 MB")
    model_rows = _table_rows(text, "## Each model, one prediction per request")
    assert [row[:2] for row in batch_rows] == [[str(size), name] for size in (1, 10, 100)
                                               for name in (cost.COMPILED, cost.TITUS)]
    table_one = next(row for row in batch_rows if row[:2] == ["1", engine])
    sonar_line = next(row for row in model_rows if row[:2] == ["sonar_naive_bayes", engine])
    assert table_one[2] == sonar_line[2] == cost.measured(handler_ms)
    assert table_one[4] == sonar_line[4]  # billed ms


def test_containment_rules_are_checked_and_reported(quick_run: QuickRun) -> None:
    results = json.loads((quick_run.out / RESULTS_JSON).read_text())
    markdown = (quick_run.out / RESULTS_MD).read_text()
    for model in results["models"].values():
        checks = {(rule["outer"], rule["inner"]): rule for rule in model["containment"]}
        expected = {(rule.outer, rule.inner) for rule in containment.RULES}
        if "batch" in results and results["batch"]["model"] == model["name"]:
            expected |= {(row["stage"], "engine") for row in results["batch"]["sizes"] if row["size"] > 1}
            expected |= {(row["stage"], "engine_compiled") for row in results["batch_compiled"]["sizes"]
                         if row["size"] > 1}
        assert set(checks) == expected, model["name"]
        for (outer, inner), rule in checks.items():
            assert rule["outer_median_us"] == model["median_us"][outer]
            assert rule["inner_median_us"] == rule["times"] * model["median_us"][inner]
            assert rule["times"] == (int(outer.rsplit("_", 1)[1]) if outer.startswith("batch_") else 1)
            assert rule["verdict"] in containment.VERDICTS
            # The verdict follows from the figures shown: it holds exactly when the medians are in order.
            assert (rule["verdict"] == containment.HOLDS) == (rule["outer_median_us"] >= rule["inner_median_us"])
            assert rule["paired_difference_us"]["samples"] == min(
                model["stages"][outer]["samples"], model["stages"][inner]["samples"])
            shown_inner = inner if rule["times"] == 1 else f"{rule['times']} x {inner}"
            assert f"| {model['name']} | {outer} >= {shown_inner} |" in markdown
            if rule["verdict"] != containment.HOLDS:
                assert f"{model['name']}: {outer} < {shown_inner} ({rule['verdict']})" in markdown


def _samples(values: List[float]) -> Samples:
    return Samples(calls_per_sample=1, wall=dict(enumerate(values)), cpu=dict(enumerate(values)))


def test_an_inverted_containment_is_flagged_not_hidden() -> None:
    engine = _samples([100.0, 101.0, 99.0, 100.0, 102.0, 98.0])
    cheaper = _samples([90.0, 91.0, 89.0, 90.0, 92.0, 88.0])  # faster in every round: the measurement is suspect
    noisy = _samples([95.0, 106.0, 94.0, 105.0, 96.0, 99.0])  # lower median, but on both sides of the engine
    dearer = _samples([110.0, 111.0, 109.0, 110.0, 112.0, 108.0])
    verdicts = {}
    for name, score in (("cheaper", cheaper), ("noisy", noisy), ("dearer", dearer)):
        samples = {"engine": engine, "score": score}
        medians = {key: statistics.median(value.wall.values()) for key, value in samples.items()}
        [rule] = containment.check(samples, medians)
        verdicts[name] = rule["verdict"]
        model: Dict[str, Any] = {"name": f"m_{name}", "containment": [rule]}
        text = "\n".join(render_containment({"m": model}, ["m"]))
        if rule["verdict"] == containment.HOLDS:
            assert "Every rule holds." in text
        else:
            assert f"**{rule['verdict']}**" in text and f"m_{name}: score < engine" in text
    assert verdicts == {"cheaper": containment.INVERTED, "noisy": containment.WITHIN_NOISE,
                        "dearer": containment.HOLDS}


def test_published_comparison_is_reproduced_exactly() -> None:
    published = cost.published_comparison()
    assert published["batch_costs"] == {1: Decimal("0.62"), 10: Decimal("0.062"), 100: Decimal("0.0062")}
    assert published["instance_monthly"] == Decimal("50.40")
    assert [cost.money(value) for value in published["batch_costs"].values()] == ["$0.62", "$0.062", "$0.0062"]
    assert cost.money(published["instance_monthly"]) == "$50.40"
    assert cost.money(published["per_execution"], 7) == "$0.0000124"


def test_lambda_billing_arithmetic() -> None:
    # Rounded up to the millisecond, at least one.
    assert [cost.billed_ms(ms) for ms in (0.01, 0.999, 1.0, 1.001, 7.0, 7.01)] == [1, 1, 1, 2, 7, 8]
    # One second at 1 GB, a million times: the GB-second price times a million, plus the request charges.
    one = cost.per_million(1000.0, 1, 1024)
    assert one.lambda_duration == Decimal("16.6667")
    assert one.lambda_requests == Decimal("0.20")
    assert one.api_gateway == Decimal("3.50")
    assert one.total == Decimal("20.3667")
    # A batch of 10 is a tenth of the invocations; half the memory halves the duration charge.
    ten = cost.per_million(1000.0, 10, 512)
    assert ten.invocations == 100_000
    assert ten.lambda_duration == Decimal("0.833335")
    assert ten.lambda_requests == Decimal("0.02") and ten.api_gateway == Decimal("0.35")
    # CPU in proportion to memory, capped at one vCPU (1,769 MB).
    assert cost.projected_ms(1.0, 1769) == 1.0 == cost.projected_ms(1.0, 3008)
    assert cost.projected_ms(1.0, 512) == pytest.approx(1769 / 512)


def test_break_even_rate() -> None:
    # $50.40 per million predictions: the instance's month buys exactly one million.
    even = cost.break_even(Decimal("50.40"))
    assert even["predictions_per_month"] == 1_000_000
    assert even["predictions_per_second"] == Decimal(1_000_000) / (prices.HOURS_PER_MONTH * 3600)


def test_lambda_memory_from_chalice_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lambda_memory_size": 1024, "stages": {"prod": {"lambda_memory_size": 2048},
                                                                         "dev": {}}}))
    assert cost.lambda_memory_mb(config) == 1024
    assert cost.lambda_memory_mb(config, "prod") == 2048
    assert cost.lambda_memory_mb(config, "dev") == 1024
    config.write_text("{}")
    assert cost.lambda_memory_mb(config) == cost.CHALICE_DEFAULT_MEMORY_MB
    assert cost.lambda_memory_mb() == json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())[
        "lambda_memory_size"]


def test_engine_setting_from_chalice_config(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"environment_variables": {"PFA_ENGINE": " Titus "}, "stages": {
        "compiled": {"environment_variables": {"PFA_ENGINE": "compiled"}}, "dev": {"environment_variables": {}}}}))
    assert cost.engine_setting(config) == cost.TITUS
    assert cost.engine_setting(config, "compiled") == cost.COMPILED
    assert cost.engine_setting(config, "dev") == cost.TITUS
    config.write_text(json.dumps({"stages": {"prod": {"environment_variables": {"PFA_ENGINE": "fast"}}}}))
    assert cost.engine_setting(config) == cost.AUTO  # the service's default
    with pytest.raises(ValueError, match="PFA_ENGINE"):
        cost.engine_setting(config, "prod")
    config_json = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    assert cost.engine_setting() == config_json.get("environment_variables", {}).get("PFA_ENGINE", cost.AUTO)


def test_sonar_floor_agrees_with_r_and_the_engine() -> None:
    floor = SonarFloor.from_file(SONAR_PFA)
    records, r_rows = sonar_records(), r_sonar_predictions()
    assert len(records) == len(r_rows) == 208
    assert [floor.predict(record) for record in records] == [row["pred"] for row in r_rows]
    for record, row in zip(records, r_rows, strict=True):
        probabilities = floor.probabilities(record)
        assert probabilities["M"] + probabilities["R"] == pytest.approx(1)
        assert probabilities["M"] == pytest.approx(row["prob_M"], abs=1e-3)
    served = compile_served(SONAR_PFA.read_bytes(), "models/sonar_naive_bayes.pfa")
    assert [floor.predict(record) for record in records[:40]] == [served.predict(record) for record in records[:40]]


def test_sonar_floor_mirrors_missing_values() -> None:
    floor = SonarFloor.from_file(SONAR_PFA)
    record = dict(sonar_records()[0])
    with_null = {**record, "V1": None}
    without = {key: value for key, value in record.items() if key != "V1"}
    # A null feature adds m.ln(1) = 0, exactly as leaving it out; the engine answers the same.
    assert floor.log_likelihoods(with_null) == floor.log_likelihoods(without)
    served = compile_served(SONAR_PFA.read_bytes(), "models/sonar_naive_bayes.pfa")
    nulls = {**record, **{f"V{n}": None for n in range(1, 31)}}
    assert floor.predict(with_null) == served.predict(with_null)
    assert floor.predict(nulls) == served.predict(nulls)


def test_timed_rounds_returns_wall_and_cpu_medians() -> None:
    timings = timed_rounds({"empty": lambda i: None, "work": lambda i: sum(range(50 + i))},
                           n_inputs=7, rounds=4, block_us=50)
    assert set(timings) == {"empty", "work"}
    for samples in timings.values():
        timing = samples.summary()
        assert timing["samples"] == 4 and timing["calls_per_sample"] >= 1
        assert {"median_us", "p25_us", "p75_us", "min_us"} <= set(timing)
        assert timing["cpu"]["samples"] == 4


def _spin(microseconds: float) -> None:
    until = time.perf_counter_ns() + microseconds * 1000
    while time.perf_counter_ns() < until:
        pass


def test_every_stage_of_a_round_runs_on_the_same_inputs_in_balanced_orders() -> None:
    # Each call takes at least block_us, so the first estimate is one call per stage, and in a round each stage
    # makes one untimed call and one timed call.
    block_us, rounds, inputs = 200.0, 6, 11
    calls: List[Tuple[str, int]] = []

    def stage(name: str) -> Callable[[int], None]:
        def call(index: int) -> None:
            calls.append((name, index))
            _spin(block_us)

        return call

    def slow(prepared: Tuple[int]) -> None:
        calls.append(("slow", prepared[0]))
        _spin(block_us)

    names = ["a", "b", "c", "d"]
    stages: Dict[str, Any] = {name: stage(name) for name in names}
    stages["slow"] = Stage(slow, prepare=lambda index: (index,), samples=2)
    timed_rounds(stages, n_inputs=inputs, rounds=rounds, block_us=block_us)
    timed = calls[len(stages):]  # after one warm-up call per stage
    orders = []
    for round_no in range(rounds):
        size = 2 * (len(names) + (1 if round_no in rounds_of(2, rounds) else 0))
        block, timed = timed[:size], timed[size:]
        assert block[::2] == block[1::2]  # the untimed pass, then the timed one, on the same input
        block = block[::2]
        assert {index for _, index in block} == {(round_no * 37) % inputs}, block  # the same input for every stage
        orders.append([name for name, _ in block if name != "slow"])
    assert not timed
    for even, odd in zip(orders[::2], orders[1::2], strict=True):
        assert sorted(even) == names and odd == even[::-1]  # each order is followed by its reverse


def _arrivals(results: List[Tuple[str, Dict[str, Any]]]) -> ingest.Arrivals:
    arrivals = ingest.Arrivals(started=time.monotonic())
    arrivals.add([{"MessageId": message_id, "Body": json.dumps(body)} for message_id, body in results], 10.0, 5.0)
    return arrivals


def test_ingest_counts_tell_a_second_receipt_from_a_second_result() -> None:
    answers = [{"prediction": "R", "model": {"name": "m", "version": "1"}},
               {"prediction": "M", "model": {"name": "m", "version": "1"}}]
    positions = {"100": 0, "101": 1, "102": 2}

    def result(sequence: str, prediction: str) -> Dict[str, Any]:
        return {"id": None, "index": 0, "model": {"name": "m", "version": "1"}, "prediction": prediction,
                "source": {"type": "kinesis", "stream": "s", "sequence_number": sequence}}

    # 100 read twice as one message, 101 sent twice as two, 102 wrong, and a stranger's result.
    arrivals = _arrivals([("a", result("100", "R")), ("a", result("100", "R")), ("b", result("101", "M")),
                          ("c", result("101", "M")), ("d", result("102", "M")), ("e", result("999", "R"))])
    counts = ingest.check_results(arrivals, positions, answers, "s")
    assert counts == {"expected": 3, "messages": 6, "unique": 3, "missing": 0, "sent_twice": 1, "received_twice": 1,
                      "received_twice_gap_s_max": 0.0, "wrong_answers": 1, "errors": 0, "unknown": 1}
    assert ingest.check_results(_arrivals([("a", result("100", "R"))]), positions, answers, "s")["missing"] == 2


def test_ingest_reads_invocations_from_the_handlers_log_lines() -> None:
    def line(source: str, deliveries: int, retried: int = 0) -> str:
        return json.dumps({"ts": "t", "level": "INFO", "event": "batch_scored", "source": source,
                           "deliveries": deliveries, "records": deliveries, "retried": retried, "duration_ms": 2.5})

    log = "\n".join([line("kinesis", 100), "not json", line("kinesis", 100), line("sqs", 10), line("kinesis", 40, 1),
                     "deliver_events: pfa (request r) raised X: y; the whole batch of 40 failed",
                     json.dumps({"event": "request", "source": "kinesis"})])
    calls = ingest.invocations_from_log(log)
    assert (calls["invocations"], calls["deliveries"], calls["batch_min"], calls["batch_max"]) == (3, 240, 40, 100)
    assert (calls["full_batches"], calls["retried"], calls["whole_batch_failures"]) == (2, 1, 1)
    assert calls["duration_ms_total"] == 7.5


def test_a_small_ingest_on_the_local_run_is_exact(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.ingest", "--records", "250", "--out", str(tmp_path)],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    result = json.loads((tmp_path / ingest.INGEST_JSON).read_text())
    counts = result["counts"]
    assert counts["expected"] == counts["unique"] == 250 and counts["missing"] == counts["sent_twice"] == 0
    assert counts["wrong_answers"] == counts["errors"] == counts["unknown"] == 0
    assert result["invocations"]["deliveries"] == 250 and result["invocations"]["batch_max"] <= result["batch_size"]
    assert result["timing"]["complete"] and 0 < result["timing"]["first_result_s"] <= result["timing"]["last_result_s"]
    assert [row["depth"] for row in result["moto_depth_costs"]] == list(ingest.DEPTHS)
    assert "**Exact**" in (tmp_path / ingest.INGEST_MD).read_text()


def test_a_reference_ingest_is_the_full_one() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.ingest", "--reference", "--records", "5"],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "--reference" in done.stderr and "Traceback" not in done.stderr
