"""The load test's parameters, shared by the locustfile (as locust custom arguments) and loadtest.run.

`--profile` is locust's own option (a free-form label that locust shows in its HTML report); the locustfile
restricts it to PROFILES and defaults it to "published".
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Protocol

from loadtest.schedule import Phase, constant_plan, step_plan

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROFILES = ("published", "batch", "step")
DEFAULT_PROFILE = "published"
DEFAULT_CSV = PROJECT_DIR / "tests" / "data" / "sonar.csv"
API_KEY_ENV = "LOADTEST_API_KEY"  # sent as x-api-key (prod stages); read from the environment, never recorded
PROFILE_HELP = ("published: one record per request at --rate for --duration, as the published artillery test; "
                "batch: POST <route>/batch with --batch-size records per request; "
                "step: raise the rate step by step until p99 exceeds --p99-bound-ms or an error appears")


class _Parser(Protocol):
    def add_argument(self, *args: Any, **kwargs: Any) -> Any: ...


def add_arguments(parser: _Parser) -> None:
    """Add the load test's options (all but --profile and --host) to an argparse-compatible parser."""
    parser.add_argument("--rate", type=float, default=10.0, help="arrivals per second (default 10)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of arrivals (default 60)")
    parser.add_argument("--route", default="/predict",
                        help="path each arrival POSTs to (default /predict; e.g. /models/NAME/predict); "
                             "the batch profile appends /batch")
    parser.add_argument("--csv-data", default=str(DEFAULT_CSV),
                        help="CSV whose rows are the records, sent in order, wrapping around "
                             "(default tests/data/sonar.csv)")
    parser.add_argument("--drop-columns", default="Class",
                        help="comma-separated CSV columns left out of the records (default Class)")
    parser.add_argument("--batch-size", type=int, default=10,
                        help="records per request for the batch profile, e.g. 1, 10 or 100 (default 10)")
    parser.add_argument("--step-start", type=float, default=10.0, help="step profile: first rate (default 10/s)")
    parser.add_argument("--step-increment", type=float, default=10.0,
                        help="step profile: rate added per step (default 10/s)")
    parser.add_argument("--step-seconds", type=float, default=20.0,
                        help="step profile: seconds per step (default 20)")
    parser.add_argument("--max-rate", type=float, default=100.0,
                        help="step profile: highest rate tried (default 100/s)")
    parser.add_argument("--p99-bound-ms", type=float, default=500.0,
                        help="step profile: a step is sustainable while its p99 stays within this (default 500 ms)")
    parser.add_argument("--request-timeout", type=float, default=30.0,
                        help="seconds before a request counts as failed (default 30)")
    parser.add_argument("--grace", type=float, default=None,
                        help="seconds to wait for answers after the last arrival (default request timeout + 5)")
    parser.add_argument("--keep-alive", action="store_true",
                        help="reuse connections between arrivals (default: a new connection per arrival, "
                             "as artillery gives each arrival its own virtual user)")


def grace_seconds(options: Any) -> float:
    """Seconds to wait for outstanding answers after the last arrival."""
    grace = options.grace
    return float(grace) if grace is not None else float(options.request_timeout) + 5


def plan(profile: str, options: Any) -> list[Phase]:
    """The phases the profile runs with these options; raises ValueError for impossible values."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if profile == "step":
        return step_plan(options.step_start, options.step_increment, options.step_seconds, options.max_rate)
    if profile == "batch" and options.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {options.batch_size}")
    return constant_plan(options.rate, options.duration)


def request_path(profile: str, route: str) -> str:
    """The path requests POST to: the route, plus /batch for the batch profile."""
    path = "/" + route.strip("/")
    return path + "/batch" if profile == "batch" else path


def forwarded(options: argparse.Namespace) -> list[str]:
    """The load test's options as command-line arguments for the locustfile."""
    arguments: list[str] = []
    for name in ("rate", "duration", "route", "csv_data", "drop_columns", "batch_size", "step_start",
                 "step_increment", "step_seconds", "max_rate", "p99_bound_ms", "request_timeout", "grace"):
        value = getattr(options, name)
        if value is not None:
            arguments += ["--" + name.replace("_", "-"), str(value)]
    if options.keep_alive:
        arguments.append("--keep-alive")
    return arguments
