"""`make bench-jobs` in small: a 2,000-row job on the local run with one chunk worker and with two, every line
checked. The report's structure and its exactness are checked, never its timings."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from benchmarks import jobs
from devtools.chalice_stage import function_settings

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_a_small_job_benchmark_is_exact_with_one_worker_and_with_two(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.jobs", "--rows", "2000", "--workers", "1", "2",
                           "--chunk-rows", "500", "--out", str(tmp_path)],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    result = json.loads((tmp_path / jobs.JOBS_JSON).read_text())
    assert result["exact"] and result["rows"] == 2000 and result["chunk_rows_setting"] == 500
    assert (tmp_path / "jobs-sonar-2000.csv").read_text().count("\n") == 2001  # the header and the rows
    assert [run["workers"] for run in result["runs"]] == [1, 2]
    for run in result["runs"]:
        check = run["check"]
        assert check["exact"] and check["lines"] == check["expected_lines"] == 2000
        assert check["out_of_order"] == check["mismatches"] == check["error_lines"] == 0
        assert check["sample_checked"] == check["sample_size"] == 2000 and check["errors_bytes"] == 0
        assert any("Class" in note for note in check["notes"]) and check["model"] == result["model"]
        assert run["plan"]["chunks"] == 4 and run["plan"]["chunk_rows"] == 500
        calls = run["invocations"]
        # At least once: a chunk message handed out twice is scored again and counted once ("duplicate").
        assert calls["chunk_invocations"] >= 4 and calls["chunk_raised"] == calls["chunk_failed_lines"] == 0
        assert 1 <= calls["chunk_cold"] <= run["workers"] and len(calls["start_job"]) == 1
        assert (calls["outcomes"]["scored"], calls["outcomes"]["succeeded"]) == (3, 1)
        assert sum(calls["outcomes"].values()) == calls["chunk_invocations"]
        timing = run["timing"]
        assert timing["first_state"] in ("queued", "running") and timing["rows_per_s"] > 0
        assert run["speed_up"] > 0
        priced = run["cost"]
        assert priced["invocations"] == 1 + calls["chunk_invocations"] and priced["api_calls"] == 2
        assert priced["memory_mb"] == function_settings("dev", "score_chunk").memory_mb
        assert priced["requests"]["sqs.SendMessageBatch"] == 1 and priced["requests"]["dynamodb.UpdateItem"] >= 5
        per_million = {name: Decimal(value) for name, value in priced["per_million"].items()}
        parts = ("lambda_duration", "lambda_requests", "api_gateway", "sqs", "dynamodb", "s3_requests")
        assert per_million["total"] == sum(per_million[name] for name in parts) and all(
            per_million[name] > 0 for name in parts)
    assert [row["batch"] for row in result["predict_batch"]["rows"]] == [100, 1000]
    assert result["predict_batch_here"]["batch"] == 1000 and result["predict_batch_here"]["calls"] == 2
    assert result["chunk_seconds_setting"] == jobs.CHUNK_SECONDS
    assert [row["instance"] for row in result["sagemaker"]["rows"]] == ["ml.t2.medium", "ml.c5.large"]
    text = (tmp_path / jobs.JOBS_MD).read_text()
    for heading in ("## Rows per second", "## Invocations", "## Exact", "## Cost per million rows"):
        assert heading in text
    assert "**Exact**" in text and "SageMaker asynchronous inference" in text


def test_a_dynamodb_item_is_sized_as_dynamodb_counts_it() -> None:
    # Names plus values; a number is about a byte per two significant digits plus one; a map adds 3 bytes and
    # one per member.
    assert jobs.item_bytes({"job_id": {"S": "a" * 32}}) == 6 + 32
    assert jobs.item_bytes({"n": {"N": "12345"}, "z": {"N": "0"}}) == (1 + 4) + (1 + 2)
    assert jobs.item_bytes({"m": {"M": {"ab": {"N": "10"}, "t": {"BOOL": True}}}}) == 1 + 3 + (2 + 2 + 1) + (1 + 1 + 1)
    assert jobs.item_bytes({"l": {"L": [{"S": "xy"}]}}) == 1 + 3 + 2 + 1


def test_an_invocation_is_billed_for_its_cpu_at_the_memory_share_and_its_waits_as_they_are() -> None:
    duration, billed, charge = jobs.lambda_invocation({"cpu_ms": 1.0, "process_cpu_ms": 100.0, "wall_ms": 150.0}, 1769)
    assert (duration, billed) == (150.0, 150)
    duration, billed, _ = jobs.lambda_invocation({"cpu_ms": 100.0, "wall_ms": 150.0}, 512)
    assert abs(duration - (100 * 1769 / 512 + 50)) < 1e-9 and billed == 396
    assert charge == Decimal(150) / 1000 * Decimal(1769) / 1024 * Decimal("0.0000166667")
