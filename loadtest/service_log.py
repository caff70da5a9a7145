"""Server-side latencies from the local service's log (service.log in the report folder, local runs only).

The app logs one JSON line per request with its own `latency_ms` (handling inside the app, without the HTTP
server, the network and connecting); beside the client's figures it shows where the time goes.
"""

from __future__ import annotations

import json
from pathlib import Path

from loadtest.metrics import latency_summary

SERVICE_LOG = "service.log"


def post_latencies(path: Path) -> list[float]:
    """`latency_ms` of every POST request line in the log; none if there is no log."""
    if not path.exists():
        return []
    latencies = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "request" and entry.get("method") == "POST" and "latency_ms" in entry:
            latencies.append(float(entry["latency_ms"]))
    return latencies


def server_summary(folder: Path) -> dict[str, float | int | None] | None:
    """{"requests", "min", "median", "p95", "p99", "max"} of the app's own POST latencies, or None without a log."""
    latencies = post_latencies(folder / SERVICE_LOG)
    if not latencies:
        return None
    return {"requests": len(latencies), **{name: None if value is None else round(value, 2)
                                           for name, value in latency_summary(latencies).items()}}
