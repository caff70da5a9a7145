"""The load test: its open-arrival timetable, its verdict wording, and a short real run with its report.

locust (and gevent's monkey-patching) only ever runs in a subprocess here, never in the pytest process.
"""

from __future__ import annotations

import csv
import datetime
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from chalice_local import chalice_local

from loadtest.records import PhaseInfo, RecordWriter, RequestRecord, RunInfo, read_records
from loadtest.report import PUBLISHED, build
from loadtest.schedule import achieved_rate, arrival_count, constant_plan, rate_verdict, step_plan

PROJECT_DIR = Path(__file__).resolve().parent.parent
SLOW_SECONDS = 0.3


# ----- the timetable and the verdict, without any traffic ------------------------------------------------


def test_the_published_profile_plans_600_arrivals_100_ms_apart():
    (phase,) = constant_plan(10, 60)
    assert arrival_count(10, 60) == phase.arrivals == 600
    due = phase.due_times()
    assert due[0] == 0 and due[-1] == pytest.approx(59.9)
    # Each due time comes from the start, not from adding 0.1 599 times (which drifts in floating point).
    assert due[599] == 599 / 10
    assert all(b - a == pytest.approx(0.1) for a, b in zip(due, due[1:], strict=False))


def test_steps_follow_each_other_and_stop_at_the_max_rate():
    steps = step_plan(10, 20, 30, 75)
    assert [(step.rate, step.start, step.arrivals) for step in steps] == [(10, 0, 300), (30, 30, 900),
                                                                          (50, 60, 1500), (70, 90, 2100)]
    assert steps[1].due(0) == 30 and steps[1].due(1) == pytest.approx(30 + 1 / 30)


def test_the_verdict_says_missed_when_the_rate_or_the_count_falls_short():
    assert rate_verdict(9.4, 10, 564, 600) == (False, "achieved 9.40/s, target 10/s, 564 of 600 arrivals: MISSED")
    assert rate_verdict(10.0, 10, 600, 600) == (True, "achieved 10.00/s, target 10/s, 600 of 600 arrivals: OK")
    assert rate_verdict(10.0, 10, 599, 600)[0] is False  # right pace, one arrival short
    assert rate_verdict(9.8, 10, 600, 600)[0] is False  # all there, but 2% slow
    assert rate_verdict(None, 10, 0, 600) == (False, "achieved n/a, target 10/s, 0 of 600 arrivals: MISSED")
    assert achieved_rate(600, 0.001, 59.901) == pytest.approx(10)
    assert rate_verdict(10.2, 10, 10, 10)[0] is True  # 10 arrivals: 2% is 18 ms of launch jitter, not drift
    assert rate_verdict(10.4, 10, 10, 10)[0] is False


def _fake_run(folder: Path, rate: float, launched: int, planned: int) -> None:
    """run.json and requests.jsonl of a run whose arrivals came at `rate` instead of the planned 10/s."""
    info = RunInfo(profile="published", host="http://127.0.0.1:9", path="/predict", target_rate=10, duration=60,
                   batch_size=None, csv_data=str(PROJECT_DIR / "tests" / "data" / "sonar.csv"), rows=208,
                   keep_alive=False, request_timeout=30, grace=35, started_at="2026-01-01T00:00:00.000000Z",
                   started_epoch=1.0, launched=launched, finished=True,
                   phases=[PhaseInfo(index=0, rate=10, start=0, seconds=60, planned=planned, launched=launched,
                                     first_launch=0.0, last_launch=(launched - 1) / rate)])
    info.write(folder / "run.json")
    writer = RecordWriter(folder / "requests.jsonl")
    for number in range(launched):
        writer.write(RequestRecord(arrival=number, phase=0, due=number / 10, sent=number / rate,
                                   started_at=1.0 + number / rate, latency_ms=150.0 + number % 7, status=200,
                                   ok=True, error=None, records=1))
    writer.close()


def test_the_report_says_missed_when_the_timetable_was_not_kept(tmp_path):
    _fake_run(tmp_path, rate=9.4, launched=564, planned=600)
    report = build(tmp_path)
    assert not report.ok
    assert report.summary["rate_ok"] is False and report.summary["achieved_rate"] == pytest.approx(9.4)
    assert "Arrival rate: achieved 9.40/s, target 10/s, 564 of 600 arrivals: MISSED" in report.text
    assert "Verdict: NOT OK" in report.text
    assert (tmp_path / "summary.txt").read_text() == report.text


def test_the_report_of_a_kept_timetable_is_ok_and_compares_with_the_published_figures(tmp_path):
    _fake_run(tmp_path, rate=10, launched=600, planned=600)
    report = build(tmp_path)
    assert report.ok and "600 of 600 arrivals: OK" in report.text
    assert report.summary["median_ms"] == pytest.approx(153.0)
    assert report.summary["ratio_to_published"]["median"] == pytest.approx(153.0 / 149.1, abs=1e-3)
    assert "locust CSV: no Aggregated row found" in report.text  # no locust files in this folder


# ----- the open model against a slow server ----------------------------------------------------------------


class _SlowHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: list[tuple[str, object]]  # (path, parsed body), shared by the server's threads

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        sent = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.received.append((self.path, sent))
        time.sleep(SLOW_SECONDS)
        if isinstance(sent, dict) and "records" in sent:
            answer: dict[str, object] = {"predictions": ["R"] * len(sent["records"]), "errors": []}
        else:
            answer = {"prediction": "R"}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[tuple[str, list[tuple[str, object]]]]:
    """(URL, what it received) of an HTTP server on a free loopback port that answers every POST after 300 ms,
    many at once."""
    received: list[tuple[str, object]] = []
    handler = type("Handler", (_SlowHandler,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _locust(host: str, folder: Path, *arguments: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "locust", "-f", str(PROJECT_DIR / "loadtest" / "locustfile.py"), "--headless",
               "--host", host, "-u", "1", "-r", "1", "--run-time", "60s", "--csv", str(folder / "locust"),
               "--only-summary", *arguments]
    return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=timeout)


def _sonar_rows() -> list[dict[str, float]]:
    with open(PROJECT_DIR / "tests" / "data" / "sonar.csv", newline="") as handle:
        return [{name: float(value) for name, value in row.items() if name != "Class"}
                for row in csv.DictReader(handle)]


def test_arrivals_keep_their_timetable_when_answers_are_slow(slow_server, tmp_path):
    url, received = slow_server
    started = time.monotonic()
    result = _locust(url, tmp_path, "--rate", "10", "--duration", "2", "--grace", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    # It stopped by itself soon after the last answer, far from the 60 s --run-time backstop.
    assert time.monotonic() - started < 30
    records = sorted(read_records(tmp_path / "requests.jsonl"), key=lambda record: record.arrival)
    # A closed-loop user waiting 300 ms per answer would have sent 7; the open model sends all 20, on time.
    assert [record.arrival for record in records] == list(range(20))
    assert all(record.status == 200 and record.ok for record in records)
    assert all(record.latency_ms >= SLOW_SECONDS * 1000 for record in records)
    for record in records:
        assert record.due == pytest.approx(record.arrival / 10)
        assert 0 <= record.sent - record.due < 0.1, f"arrival {record.arrival} left {record.lag_ms:.1f} ms late"
    # Up to three requests were in flight at once, so nothing waited for an earlier answer.
    in_flight = max(sum(1 for other in records if other.sent <= record.sent < other.done) for record in records)
    assert in_flight >= 3
    info = RunInfo.read(tmp_path / "run.json")
    assert info.finished and info.launched == 20 and info.unanswered == 0
    (phase,) = info.phases
    assert achieved_rate(phase.launched, phase.first_launch, phase.last_launch) == pytest.approx(10, rel=0.01)
    # One Sonar record per request, without Class, in CSV order.
    assert sorted(received, key=lambda item: _sonar_rows().index(item[1])) == [
        ("/predict", row) for row in _sonar_rows()[:20]]


def test_the_batch_profile_posts_consecutive_rows_wrapping_around(slow_server, tmp_path):
    url, received = slow_server
    result = _locust(url, tmp_path, "--profile", "batch", "--batch-size", "100", "--rate", "5", "--duration", "1",
                     "--route", "/models/sonar_naive_bayes/predict", "--grace", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = _sonar_rows()
    assert len(received) == 5 and {path for path, _ in received} == {"/models/sonar_naive_bayes/predict/batch"}
    # Arrival n sends rows 100n ... 100n + 99 of the 208, wrapping around (answers may come in any order).
    expected = [[rows[(100 * arrival + offset) % len(rows)] for offset in range(100)] for arrival in range(5)]
    assert sorted(json.dumps(body) for _, body in received) == sorted(json.dumps({"records": batch})
                                                                         for batch in expected)
    assert expected[2] == rows[200:] + rows[:92]
    records = read_records(tmp_path / "requests.jsonl")
    assert len(records) == 5 and all(record.ok and record.records == 100 for record in records)


@pytest.mark.parametrize(("bound_ms", "sustained", "steps"), [(1000, 10.0, [True, True]), (250, None, [False])])
def test_the_step_profile_raises_the_rate_until_p99_exceeds_the_bound(slow_server, tmp_path, bound_ms, sustained,
                                                                      steps):
    url, _ = slow_server
    result = _locust(url, tmp_path, "--profile", "step", "--step-start", "5", "--step-increment", "5",
                     "--step-seconds", "1", "--max-rate", "10", "--p99-bound-ms", str(bound_ms), "--grace", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    info = RunInfo.read(tmp_path / "run.json")
    assert info.finished and info.max_sustainable_rate == sustained
    assert [phase.passed for phase in info.phases if phase.passed is not None] == steps
    report = build(tmp_path)
    assert "Highest sustainable rate: " + ("at least 10/s" if sustained else "none") in report.text
    assert (tmp_path / "steps_p99.png").stat().st_size > 0


# ----- a short real run against chalice local, through loadtest.run --------------------------------------


def test_a_short_run_against_chalice_local_writes_a_complete_report(s3, model_bucket, tmp_path):
    with chalice_local(s3.client_environment(), tmp_path / "chalice.log") as url:
        result = subprocess.run([sys.executable, "-m", "loadtest.run", "--host", url, "--rate", "20", "--duration", "3",
                                 "--reports-dir", str(tmp_path / "reports")],
                                cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (folder,) = (tmp_path / "reports").iterdir()
    assert folder.name.endswith("-published") and f"Report folder: {folder}" in result.stdout

    summary = json.loads((folder / "summary.json").read_text())
    for field in ("requests", "failures", "achieved_rate", "target_rate", "min_ms", "median_ms", "p95_ms", "p99_ms",
                  "max_ms", "status_codes", "profile", "host", "started_at", "duration"):
        assert field in summary, field
    assert summary["requests"] == summary["expected_requests"] == summary["arrivals_launched"] == 60
    assert summary["status_codes"] == {"200": 60} and summary["failures"] == 0
    assert summary["target_rate"] == 20 and summary["achieved_rate"] == pytest.approx(20, rel=0.01)
    assert summary["rate_ok"] and summary["ok"]
    assert summary["profile"] == "published" and summary["host"] == url and summary["duration"] == 3
    assert 0 < summary["min_ms"] <= summary["median_ms"] <= summary["p95_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    started = datetime.datetime.strptime(summary["started_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs((datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - started).total_seconds()) < 300
    assert summary["locust"]["matches"] and summary["locust"]["requests"] == 60
    assert summary["ratio_to_published"]["p99"] == pytest.approx(summary["p99_ms"] / 300.1, abs=1e-3)

    text = (folder / "summary.txt").read_text()
    assert "this run" in text and "published" in text and "this/published" in text
    for label, value in (("min", 115.6), ("median", 149.1), ("p95", 217.3), ("p99", 300.1), ("max", 806.8)):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{label}:"))
        assert f"{value:.1f}" in line and len(line.split()) == 4, line  # label, ours, published, ratio
    assert f"Scenarios launched:{'60':>17}{PUBLISHED['scenarios_launched']:>12}" in text
    # The text shows the achieved rate the summary holds, to two places (the summary keeps four, so the two
    # roundings may differ in the last place shown).
    assert f"Arrival rate: {summary['rate_verdict']}" in text
    shown = re.search(r"achieved (\d+\.\d\d)/s, target 20/s, 60 of 60 arrivals: OK", text)
    assert shown and abs(float(shown.group(1)) - summary["achieved_rate"]) <= 0.0051, text
    assert "MISSED" not in text
    assert text in result.stdout  # printed as well

    for name in ("latency_over_time.png", "latency_histogram.png"):
        png = (folder / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000, name
    for name in ("locust.html", "locust_stats.csv", "locust_stats_history.csv", "requests.jsonl", "run.json"):
        assert (folder / name).stat().st_size > 0, name
    assert len(read_records(folder / "requests.jsonl")) == 60
