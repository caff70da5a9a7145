"""PNG plots of a run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from loadtest.records import PhaseInfo, RequestRecord  # noqa: E402

OVER_TIME_PNG = "latency_over_time.png"
HISTOGRAM_PNG = "latency_histogram.png"
STEPS_PNG = "steps_p99.png"
_PERCENTILES = (("median", 50, "tab:blue"), ("p95", 95, "tab:orange"), ("p99", 99, "tab:red"))


def _bin_seconds(rate: float) -> float:
    """Window width for the over-time percentiles: about 50 requests per window, 1 to 10 s."""
    return float(min(10, max(1, math.ceil(50 / rate)))) if rate > 0 else 1.0


def latency_over_time(records: Sequence[RequestRecord], history: Sequence[Mapping[str, str]], target_rate: float,
                      started_epoch: float, path: Path, title: str) -> None:
    """Top: median/p95/p99 latency per window of send time (exact, from the records), with locust's own rolling
    percentiles from _stats_history.csv dashed. Bottom: requests sent per second against the target rate."""
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True, height_ratios=(3, 2))
    if records:
        sent = np.array([record.sent for record in records])
        latency = np.array([record.latency_ms for record in records])
        width = _bin_seconds(target_rate)
        edges = np.arange(0, sent.max() + width, width)
        which = np.digitize(sent, edges) - 1
        centres: list[float] = []
        lines: dict[str, list[float]] = {name: [] for name, _, _ in _PERCENTILES}
        for index in range(len(edges)):
            chosen = latency[which == index]
            if chosen.size:
                centres.append(edges[index] + width / 2)
                for name, q, _ in _PERCENTILES:
                    lines[name].append(float(np.percentile(chosen, q)))
        for name, _, colour in _PERCENTILES:
            top.plot(centres, lines[name], marker="o", markersize=3, color=colour,
                     label=f"{name} per {width:g} s (exact)")
        failed = [record for record in records if not record.ok]
        if failed:
            top.scatter([record.sent for record in failed], [record.latency_ms for record in failed], marker="x",
                        color="black", label=f"failed ({len(failed)})", zorder=3)
        seconds = np.arange(0, math.floor(sent.max()) + 2)
        counts, _ = np.histogram(sent, bins=seconds)
        bottom.step(seconds[:-1], counts, where="post", color="tab:blue", label="requests sent per second")
    rows = [row for row in history if row.get("Name") == "Aggregated"]
    # With --csv-full-history locust writes per-request rows too, and its Aggregated percentiles are then over
    # roughly the last 10 s; without it they are cumulative since the start.
    window = "rolling ~10 s" if len(rows) < len(history) else "cumulative"
    if rows and started_epoch:
        times = [float(row["Timestamp"]) - started_epoch for row in rows]
        for name, q, colour in _PERCENTILES:
            column = "50%" if q == 50 else f"{q}%"
            # locust writes 0 while its window holds no answers yet: no latency, not a 0 ms one.
            values = [value if value > 0 else math.nan for value in (_number(row.get(column)) for row in rows)]
            top.plot(times, values, linestyle="--", linewidth=0.8, color=colour, alpha=0.6,
                     label=f"locust {name} ({window})")
        bottom.plot(times, [_number(row.get("Requests/s")) for row in rows], linestyle="--", color="tab:green",
                    label="locust Requests/s (answered)")
    if target_rate > 0:
        bottom.axhline(target_rate, color="grey", linestyle=":", label=f"target {target_rate:g}/s")
    top.set_ylabel("latency (ms)")
    top.set_title(title)
    top.grid(alpha=0.3)
    top.legend(fontsize=8, loc="best")
    bottom.set_xlabel("seconds since start")
    bottom.set_ylabel("requests/s")
    bottom.grid(alpha=0.3)
    bottom.legend(fontsize=8, loc="lower right")
    _save(figure, path)


def latency_histogram(records: Sequence[RequestRecord], summary: Mapping[str, float | None],
                      published: Mapping[str, float] | None, path: Path, title: str) -> None:
    """Histogram of every latency, with this run's median/p95/p99 (solid) and the published ones (dashed).

    When the two are far apart (more than 20x), the latency axis is logarithmic so that both stay readable.
    """
    figure, axes = plt.subplots(figsize=(10, 5))
    latencies = [record.latency_ms for record in records]
    marks = [value for value in (published or {}).values()] + [value for value in summary.values() if value]
    low = min(latencies + marks, default=1.0)
    high = max(latencies + marks, default=10.0)
    logarithmic = low > 0 and high / low > 20
    if latencies:
        count = min(100, max(10, len(latencies) // 10))
        # Bins over this run's own range (finely, whatever the published marks stretch the axis to).
        edges = np.geomspace(min(latencies) / 1.02, max(latencies) * 1.02, count + 1)
        bins: int | list[float] = [float(edge) for edge in edges] if logarithmic else count
        axes.hist(latencies, bins=bins, color="tab:blue", alpha=0.7, label=f"{len(latencies)} requests")
    for name, _, colour in _PERCENTILES:
        value = summary.get(name)
        if value is not None:
            axes.axvline(value, color=colour, label=f"{name} {value:.1f} ms")
        if published and name in published:
            axes.axvline(published[name], color=colour, linestyle="--", label=f"published {name} {published[name]} ms")
    if logarithmic:
        axes.set_xscale("log")
        axes.set_xlim(low / 1.3, high * 1.3)
    axes.set_xlabel("latency (ms)" + (", log scale" if logarithmic else ""))
    axes.set_ylabel("requests")
    _finish(figure, axes, title, path)


def step_p99(phases: Sequence[PhaseInfo], bound_ms: float, path: Path, title: str) -> None:
    """p99 of each evaluated step against its rate, with the bound; failed steps marked."""
    figure, axes = plt.subplots(figsize=(10, 5))
    evaluated = [(phase.rate, phase.p99_ms, phase.passed) for phase in phases if phase.p99_ms is not None]
    axes.plot([rate for rate, _, _ in evaluated], [p99 for _, p99, _ in evaluated], marker="o",
              color="tab:red", label="p99 of the step")
    for rate, p99, passed in evaluated:
        if passed is False:
            axes.scatter([rate], [p99], marker="x", s=80, color="black", zorder=3)
    axes.axhline(bound_ms, color="grey", linestyle="--", label=f"bound {bound_ms:g} ms")
    axes.set_xlabel("arrival rate (per second)")
    axes.set_ylabel("p99 latency (ms)")
    _finish(figure, axes, title, path)


def _finish(figure: Any, axes: Any, title: str, path: Path) -> None:
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    _save(figure, path)


def _save(figure: Any, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _number(text: str | None) -> float:
    try:
        return float(text) if text else math.nan
    except ValueError:  # locust writes N/A before the first answer
        return math.nan
