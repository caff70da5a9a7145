"""The report of one run, written into its folder beside locust's own CSV and HTML.

Reads run.json and requests.jsonl (written by the locustfile) and locust's <prefix>_stats.csv and
<prefix>_stats_history.csv; writes summary.txt (artillery's report layout, side by side with the published
figures), summary.json and PNG plots. `python -m loadtest.report FOLDER` (re)builds the report of a folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest import plots
from loadtest.metrics import latency_summary, percentile, status_counts
from loadtest.options import PROJECT_DIR
from loadtest.records import LOCUST_PREFIX, REQUESTS_FILE, RUN_FILE, PhaseInfo, RequestRecord, RunInfo, read_records
from loadtest.schedule import achieved_rate, rate_verdict
from loadtest.service_log import server_summary

SUMMARY_TXT = "summary.txt"
SUMMARY_JSON = "summary.json"

# The artillery report of the setup this service replaces.
PUBLISHED: dict[str, Any] = {
    "source": "artillery: 10 arrivals/s for 60 s, each POSTing one Sonar record (CSV order)",
    "scenarios_launched": 600,
    "scenarios_completed": 600,
    "requests": 600,
    "rps_sent": 9.93,
    "latency_ms": {"min": 115.6, "max": 806.8, "median": 149.1, "p95": 217.3, "p99": 300.1},
    "codes": {"200": 600},
}
_LATENCY_ORDER = ("min", "max", "median", "p95", "p99")  # as artillery lists them


@dataclass
class Report:
    folder: Path
    summary: dict[str, Any]
    text: str

    @property
    def ok(self) -> bool:
        return bool(self.summary["ok"])


def read_locust_csv(path: Path) -> list[dict[str, str]]:
    """Rows of one of locust's CSV files; none if it is missing."""
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _locust_totals(rows: list[dict[str, str]], requests: int, failures: int) -> dict[str, Any] | None:
    """locust's Aggregated row from <prefix>_stats.csv, and whether its counts match requests.jsonl."""
    total = next((row for row in rows if row.get("Name") == "Aggregated"), None)
    if total is None:
        return None

    def number(column: str) -> float | None:
        try:
            return float(total[column])
        except (KeyError, ValueError):
            return None

    counted, failed = number("Request Count"), number("Failure Count")
    return {"requests": counted, "failures": failed, "median_ms": number("Median Response Time"),
            "p95_ms": number("95%"), "p99_ms": number("99%"), "max_ms": number("Max Response Time"),
            "matches": counted == requests and failed == failures}


def _step_rows(info: RunInfo) -> list[dict[str, Any]]:
    rows = []
    for phase in info.phases:
        if phase.launched == 0:
            continue
        achieved = achieved_rate(phase.launched, phase.first_launch, phase.last_launch)
        cut_short = phase.reason.startswith("cut short")
        rate_ok, verdict = rate_verdict(achieved, phase.rate, phase.launched, phase.planned)
        rows.append({"step": phase.index + 1, "rate": phase.rate, "planned": phase.planned,
                     "launched": phase.launched, "achieved_rate": achieved, "rate_ok": rate_ok or cut_short,
                     "rate_verdict": "cut short" if cut_short else verdict, "responses": phase.responses,
                     "failures": phase.failures, "p99_ms": phase.p99_ms, "sustained": phase.passed,
                     "reason": phase.reason})
    return rows


def summarize(info: RunInfo, records: list[RequestRecord], locust_rows: list[dict[str, str]]) -> dict[str, Any]:
    """Every figure of the report, as summary.json holds them."""
    latencies = [record.latency_ms for record in records]
    latency = latency_summary(latencies)
    answered = [record for record in records if record.status != 0]
    failures = sum(1 for record in records if not record.ok)
    lags = [record.lag_ms for record in records]
    elapsed = (max(record.done for record in records) - min(record.sent for record in records)) if records else 0.0
    steps = _step_rows(info) if info.profile == "step" else []
    if info.profile == "step":
        tried = [phase for phase in info.phases if phase.launched] or info.phases[:1]
        last = tried[-1]
        target, expected = last.rate, sum(phase.planned for phase in tried)
        achieved = achieved_rate(last.launched, last.first_launch, last.last_launch)
        rate_ok = all(step["rate_ok"] for step in steps)
        missed = [step for step in steps if not step["rate_ok"]]
        verdict = ("every step kept its timetable: OK" if rate_ok else
                   f"step {missed[0]['step']}: {missed[0]['rate_verdict']}")
        ok = info.finished and rate_ok
    else:
        phase = info.phases[0]
        target, expected = phase.rate, phase.planned
        achieved = achieved_rate(phase.launched, phase.first_launch, phase.last_launch)
        rate_ok, verdict = rate_verdict(achieved, target, info.launched, expected)
        ok = info.finished and rate_ok and failures == 0 and info.unanswered == 0 and len(records) == info.launched
    ratio = {name: (None if latency[name] is None else round(latency[name] / PUBLISHED["latency_ms"][name], 3))
             for name in _LATENCY_ORDER}
    errors: dict[str, int] = {}
    for record in records:
        if not record.ok:
            errors[record.error or "failed"] = errors.get(record.error or "failed", 0) + 1
    return {
        "profile": info.profile, "host": info.host, "path": info.path, "started_at": info.started_at,
        "duration": info.duration, "elapsed_s": round(elapsed, 3), "ok": ok,
        "target_rate": target, "achieved_rate": None if achieved is None else round(achieved, 4),
        "expected_requests": expected, "arrivals_launched": info.launched, "rate_ok": rate_ok,
        "rate_verdict": verdict,
        "requests": len(records), "failures": failures, "unanswered": info.unanswered,
        "scenarios_launched": info.launched, "scenarios_completed": len(answered),
        "requests_completed": len(answered),
        "rps_sent": round(len(records) / elapsed, 2) if elapsed > 0 else None,
        **{f"{name}_ms": None if value is None else round(value, 2) for name, value in latency.items()},
        "status_codes": status_counts(records), "errors": errors,
        "send_lag_ms": {"median": _rounded(percentile(lags, 50)), "p99": _rounded(percentile(lags, 99)),
                        "max": _rounded(percentile(lags, 100))},
        "batch_size": info.batch_size, "records_per_request": info.batch_size or 1, "keep_alive": info.keep_alive,
        "csv_data": info.csv_data, "finished": info.finished, "stop_reason": info.stop_reason,
        "locust": _locust_totals(locust_rows, len(records), failures),
        "published": PUBLISHED, "ratio_to_published": ratio,
        "p99_bound_ms": info.p99_bound_ms, "steps": steps, "max_sustainable_rate": info.max_sustainable_rate,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 and value != int(value) else f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def render(summary: dict[str, Any], info: RunInfo) -> str:
    """summary.txt: artillery's report layout with a published column and ours/published for the latencies."""
    published = summary["published"]
    lines = [f"Load test report: {summary['profile']} profile"]
    per_request = (f"{summary['records_per_request']} records per request" if summary["batch_size"] else
                   "1 record per request")
    csv_name = Path(info.csv_data)
    shown_csv = csv_name.relative_to(PROJECT_DIR) if csv_name.is_relative_to(PROJECT_DIR) else csv_name
    lines.append(f"  POST {summary['host']}{summary['path']}, {per_request} from {shown_csv} "
                 f"({info.rows} rows, in order)")
    if summary["profile"] == "step":
        plan = f"steps of {info.phases[0].seconds:g} s from {info.phases[0].rate:g}/s up to {info.phases[-1].rate:g}/s"
    else:
        plan = f"{summary['target_rate']:g} arrivals/s for {summary['duration']:g} s"
    connection = "connections reused" if summary["keep_alive"] else "a new connection per arrival"
    lines.append(f"  started {summary['started_at']}, {plan}, {connection}")
    lines.append("")
    row = "{:<24}{:>12}{:>12}{:>17}"
    lines.append(row.format("", "this run", "published", "this/published"))
    lines.append(row.format("Scenarios launched:", summary["scenarios_launched"], published["scenarios_launched"], ""))
    lines.append(row.format("Scenarios completed:", summary["scenarios_completed"],
                            published["scenarios_completed"], ""))
    lines.append(row.format("Requests completed:", summary["requests_completed"], published["requests"], ""))
    rps = summary["rps_sent"]
    lines.append(row.format("RPS sent:", "-" if rps is None else f"{rps:.2f}", f"{published['rps_sent']:.2f}", ""))
    lines.append("Request latency:")
    for name in _LATENCY_ORDER:
        ours = summary[f"{name}_ms"]
        ratio = summary["ratio_to_published"][name]
        lines.append(row.format(f"  {name}:", "-" if ours is None else f"{ours:.1f}",
                                f"{published['latency_ms'][name]:.1f}", "-" if ratio is None else f"{ratio:.2f}"))
    lines.append("Codes:")
    codes = sorted(set(summary["status_codes"]) | set(published["codes"]))
    for code in codes:
        label = "no response" if code == "0" else code
        lines.append(row.format(f"  {label}:", summary["status_codes"].get(code, 0), published["codes"].get(code, 0),
                                ""))
    if summary["errors"]:
        lines.append("Errors:")
        for message, count in sorted(summary["errors"].items(), key=lambda item: -item[1])[:10]:
            lines.append(f"  {count} x {message}")
    lines.append("")
    if summary["profile"] == "step":
        lines += _render_steps(summary, info.phases)
    else:
        lines.append(f"Arrival rate: {summary['rate_verdict']}")
    lag = summary["send_lag_ms"]
    if lag["max"] is not None:
        lines.append(f"Send lag behind the timetable: median {lag['median']:.1f} ms, p99 {lag['p99']:.1f} ms, "
                     f"max {lag['max']:.1f} ms")
    lines.append(f"Failures: {summary['failures']}, unanswered at the end: {summary['unanswered']}")
    if not summary["finished"]:
        lines.append(f"Run did not finish: {summary['stop_reason']}")
    server = summary.get("server_latency_ms")
    if server:
        lines.append(f"Inside the app (service.log, {server['requests']} POSTs): median {server['median']:.1f} ms, "
                     f"p95 {server['p95']:.1f} ms, p99 {server['p99']:.1f} ms, max {server['max']:.1f} ms")
    locust = summary["locust"]
    if locust is None:
        lines.append("locust CSV: no Aggregated row found")
    else:
        agreement = "counts match requests.jsonl" if locust["matches"] else "COUNTS DIFFER from requests.jsonl"
        lines.append(f"locust CSV (Aggregated): {_cell(locust['requests'])} requests, {_cell(locust['failures'])} "
                     f"failures, median {_cell(locust['median_ms'])} ms, p95 {_cell(locust['p95_ms'])} ms, "
                     f"p99 {_cell(locust['p99_ms'])} ms (locust rounds these): {agreement}")
    lines.append(f"Verdict: {'OK' if summary['ok'] else 'NOT OK'}")
    lines.append("")
    lines.append("Latency: from sending the request to the complete response, connection setup included; exact")
    lines.append("percentiles over every request (requests.jsonl). RPS sent: requests over first send to last answer.")
    lines.append(f"Published: {published['source']}.")
    if summary["profile"] != "published":
        lines.append(f"The published figures are for the published profile; this is the {summary['profile']} "
                     "profile, so compare with care.")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _render_steps(summary: dict[str, Any], phases: list[PhaseInfo]) -> list[str]:
    lines = [f"Steps (sustained: no errors and p99 <= {summary['p99_bound_ms']:g} ms):"]
    row = "  {:>6} {:>9} {:>11} {:>7} {:>9}  {}"
    lines.append(row.format("rate/s", "arrivals", "achieved/s", "errors", "p99 ms", "result"))
    for step in summary["steps"]:
        result = ("sustained" if step["sustained"] else "cut short" if step["sustained"] is None
                  else f"NOT sustained: {step['reason']}")
        if not step["rate_ok"]:
            result += f" ({step['rate_verdict']})"
        lines.append(row.format(f"{step['rate']:g}", f"{step['launched']}/{step['planned']}",
                                _cell(step["achieved_rate"]), step["failures"], _cell(step["p99_ms"]), result))
    best = summary["max_sustainable_rate"]
    top = phases[-1].rate if phases else None
    if best is None:
        lines.append("Highest sustainable rate: none (the first step was not sustained)")
    elif best == top:
        lines.append(f"Highest sustainable rate: at least {best:g}/s (every step up to --max-rate was sustained)")
    else:
        lines.append(f"Highest sustainable rate: {best:g}/s")
    lines.append(f"Schedule: {summary['rate_verdict']}")
    return lines


def build(folder: Path) -> Report:
    """Write summary.txt, summary.json and the PNGs into `folder`, from the files the run left there."""
    info = RunInfo.read(folder / RUN_FILE)
    records = read_records(folder / REQUESTS_FILE)
    locust_rows = read_locust_csv(folder / f"{LOCUST_PREFIX}_stats.csv")
    history = read_locust_csv(folder / f"{LOCUST_PREFIX}_stats_history.csv")
    summary = summarize(info, records, locust_rows)
    summary["server_latency_ms"] = server_summary(folder)
    text = render(summary, info)
    (folder / SUMMARY_JSON).write_text(json.dumps(summary, indent=2) + "\n")
    (folder / SUMMARY_TXT).write_text(text)
    title = f"{info.profile}: POST {info.host}{info.path}"
    plots.latency_over_time(records, history, summary["target_rate"], info.started_epoch,
                            folder / plots.OVER_TIME_PNG, title)
    latency = {name: summary[f"{name}_ms"] for name in ("median", "p95", "p99")}
    plots.latency_histogram(records, latency, PUBLISHED["latency_ms"], folder / plots.HISTOGRAM_PNG, title)
    if info.profile == "step" and info.p99_bound_ms is not None:
        plots.step_p99(info.phases, info.p99_bound_ms, folder / plots.STEPS_PNG, title)
    return Report(folder, summary, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.report", description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a report folder holding run.json and requests.jsonl")
    args = parser.parse_args(argv)
    if not (args.folder / RUN_FILE).exists():
        print(f"loadtest.report: no {RUN_FILE} in {args.folder}", file=sys.stderr)
        return 2
    report = build(args.folder)
    print(report.text, end="")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
