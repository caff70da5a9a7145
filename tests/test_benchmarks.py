"""The bench and the cost tool work, and their arithmetic is right. No timing is asserted: only shapes,
agreement of answers, and the cost arithmetic (exact, in Decimal)."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from benchmarks import cost, prices
from benchmarks.examples import r_sonar_predictions, sonar_records
from benchmarks.floor import SonarFloor
from benchmarks.harness import timed_rounds
from benchmarks.report import TARGETS
from benchmarks.stages import STAGES
from chalicelib.served_model import compile_served

PROJECT_DIR = Path(__file__).resolve().parent.parent
SONAR_PFA = PROJECT_DIR / "models" / "sonar_naive_bayes.pfa"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m benchmarks.bench --quick` into a temp dir, in its own process (it reconfigures the app)."""
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--quick", "--out", str(out)],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_quick_bench_writes_results(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
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
    for row in results["batch"]["sizes"]:
        assert {"request_ms", "records_per_s", "ratio_to_single", "request_cpu_ms", "cpu_ratio_to_single"} <= set(row)
    assert set(results["summary"]["targets_met"]) == set(TARGETS)

    markdown = (quick_run / "results.md").read_text()
    for heading in ("## Per request, in process", "## Service overhead", "## Plain-Python floor (Sonar)",
                    "## Cold start", "## Batch throughput"):
        assert heading in markdown
    assert env["git_commit"] in markdown


def test_cost_from_quick_results(quick_run: Path) -> None:
    out = quick_run / "cost.md"
    assert cost.main(["--results", str(quick_run / "results.json"), "--out", str(out)]) == 0
    text = out.read_text()
    for figure in ("$0.62", "$0.062", "$0.0062", "$50.40", "per 1M predictions"):
        assert figure in text
    results = json.loads((quick_run / "results.json").read_text())
    estimate = cost.estimate(results, 512)
    assert [row["cost"].batch for row in estimate["batches"]] == [1, 10, 100]
    for row in estimate["batches"]:
        assert row["cost"].billed_ms >= row["cost"].duration_ms
        assert row["break_even"]["predictions_per_second"] > 0
    assert [row["batch"] for row in cost.summary_rows(estimate)] == [1, 10, 100]


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
                           n_inputs=7, rounds=3, block_us=50)
    assert set(timings) == {"empty", "work"}
    for timing in timings.values():
        assert timing["samples"] == 3 and timing["calls_per_sample"] >= 1
        assert {"median_us", "p25_us", "p75_us", "min_us"} <= set(timing)
        assert timing["cpu"]["samples"] == 3
