"""The files a run leaves in its report folder besides locust's own: one JSON line per request, and run.json.

requests.jsonl: every response (or connection error) as the locustfile saw it through `events.request`.
run.json: what was planned and what was launched, phase by phase (the step profile has one phase per step).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REQUESTS_FILE = "requests.jsonl"
RUN_FILE = "run.json"
LOCUST_PREFIX = "locust"  # --csv prefix and --html name inside the report folder


@dataclass
class RequestRecord:
    """One request: times in seconds from the run's start (monotonic clock) except `started_at` (Unix time)."""

    arrival: int  # 0-based arrival number over the whole run
    phase: int
    due: float  # when the timetable said to send it
    sent: float  # when it was handed to the HTTP client
    started_at: float
    latency_ms: float  # request start to full response (includes connecting, as artillery's figure does)
    status: int  # HTTP status; 0 when no response came (connection error, timeout)
    ok: bool
    error: str | None
    records: int  # records in the body (batch size, or 1)
    bytes: int = 0

    @property
    def lag_ms(self) -> float:
        """How late the request left compared with the timetable."""
        return (self.sent - self.due) * 1000

    @property
    def done(self) -> float:
        """When the response was complete, in seconds from the run's start."""
        return self.sent + self.latency_ms / 1000


class RecordWriter:
    """Appends RequestRecords to a JSON-lines file, line-buffered so that a killed run keeps what it had."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] | None = open(path, "w", buffering=1)

    def write(self, record: RequestRecord) -> None:
        if self._handle is not None:
            self._handle.write(json.dumps(dataclasses.asdict(record), separators=(",", ":")) + "\n")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_records(path: Path) -> list[RequestRecord]:
    """Every record of a requests.jsonl file, in file order; a missing file reads as none."""
    if not path.exists():
        return []
    names = {item.name for item in dataclasses.fields(RequestRecord)}
    records = []
    for line in path.read_text().splitlines():
        if line.strip():
            data = json.loads(line)
            records.append(RequestRecord(**{key: value for key, value in data.items() if key in names}))
    return records


@dataclass
class PhaseInfo:
    """One phase (the whole run, or one step) as planned and as launched; times in s from the run's start."""

    index: int
    rate: float
    start: float
    seconds: float
    planned: int
    launched: int = 0
    first_launch: float | None = None
    last_launch: float | None = None
    # Filled for the step profile once the step's requests are all answered:
    evaluated: bool = False
    responses: int = 0
    failures: int = 0
    p99_ms: float | None = None
    passed: bool | None = None
    reason: str = ""


@dataclass
class RunInfo:
    """What the locustfile was asked to do and what it did."""

    profile: str
    host: str
    path: str  # the URL path each request POSTs to
    target_rate: float
    duration: float
    batch_size: int | None
    csv_data: str
    rows: int
    keep_alive: bool
    request_timeout: float
    grace: float
    p99_bound_ms: float | None = None
    started_at: str = ""  # ISO 8601 UTC
    started_epoch: float = 0.0
    phases: list[PhaseInfo] = field(default_factory=list)
    launched: int = 0
    unanswered: int = 0  # launched but neither answered nor failed when the run ended
    finished: bool = False  # False: the run was cut short (--run-time backstop, Ctrl-C)
    stop_reason: str = ""
    max_sustainable_rate: float | None = None

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")
        temporary.replace(path)

    @classmethod
    def read(cls, path: Path) -> RunInfo:
        data: dict[str, Any] = json.loads(path.read_text())
        phases = [PhaseInfo(**phase) for phase in data.pop("phases", [])]
        names = {item.name for item in dataclasses.fields(cls)}
        return cls(phases=phases, **{key: value for key, value in data.items() if key in names})
