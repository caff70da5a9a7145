"""Open-model load test of the scoring service, as artillery runs it: arrivals on a fixed timetable.

Run with ONE user: `locust -f loadtest/locustfile.py --headless -u 1 -r 1 --host URL [--profile ...]`
(`python -m loadtest.run` does this and writes the report). That user, ArrivalDriver, is not a closed-loop
virtual user: it sleeps until each arrival's due time (computed from the run's start, so lateness never
accumulates) and spawns a greenlet that POSTs one request through `self.client`, so locust's statistics, CSV
and HTML see every request, and returns to the timetable at once. Slow answers therefore never slow the
arrivals down; they only raise the number of requests in flight. By default each request asks for its own
connection (`Connection: close`), as each artillery arrival is a new virtual user with its own connection;
`--keep-alive` reuses them instead.

After the last arrival it waits for the outstanding answers (at most --grace seconds) and quits the runner.
Every request is also written to <report dir>/requests.jsonl, and the timetable as planned and as launched to
<report dir>/run.json (report dir: --report-dir, else the folder of --csv); loadtest/report.py reads both.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Group
from locust import HttpUser, constant, events, task
from locust.clients import LocustHttpAdapter, ResponseContextManager
from locust.env import Environment
from locust.exception import StopUser
from locust.stats import CSV_STATS_INTERVAL_SEC

PROJECT_DIR = Path(__file__).resolve().parent.parent
# locust puts this file's folder on sys.path, not the project root that holds the loadtest package.
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from loadtest.data import Bodies, read_records  # noqa: E402
from loadtest.metrics import step_verdict  # noqa: E402
from loadtest.options import (  # noqa: E402
    API_KEY_ENV,
    DEFAULT_PROFILE,
    PROFILE_HELP,
    PROFILES,
    add_arguments,
    grace_seconds,
    plan,
    request_path,
)
from loadtest.records import (  # noqa: E402
    REQUESTS_FILE,
    RUN_FILE,
    PhaseInfo,
    RecordWriter,
    RequestRecord,
    RunInfo,
)
from loadtest.schedule import Phase, achieved_rate, rate_verdict  # noqa: E402

logger = logging.getLogger("loadtest")
PROGRESS_EVERY_SECONDS = 10


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    add_arguments(parser)
    parser.add_argument("--report-dir", default=None,
                        help="folder for requests.jsonl and run.json (default: the folder of --csv)")
    # --profile is locust's own free-form label; give it this test's choices and default.
    for action in parser._actions:
        if "--profile" in action.option_strings:
            action.choices = PROFILES
            action.default = DEFAULT_PROFILE
            action.help = PROFILE_HELP


@dataclass(frozen=True)
class Arrival:
    number: int  # over the whole run
    phase: int
    due: float  # seconds from the run's start


def _utc_iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _describe(error: BaseException | None) -> str:
    """A short description of a request's error: its innermost cause, as "Type: message"."""
    if error is None:
        return "unknown error"
    while error.__context__ is not None:
        error = error.__context__
    text = str(error)
    return f"{type(error).__name__}: {text[:200]}" if text else type(error).__name__


class LoadRun:
    """The timetable, the bodies, the per-request record and run.json for one locust process."""

    def __init__(self, environment: Environment, options: Any) -> None:
        self.environment = environment
        self.profile: str = options.profile or DEFAULT_PROFILE
        self.phases: list[Phase] = plan(self.profile, options)
        self.path = request_path(self.profile, options.route)
        csv_path = Path(options.csv_data)
        if not csv_path.is_absolute() and not csv_path.exists():
            csv_path = PROJECT_DIR / csv_path
        drop = [name.strip() for name in options.drop_columns.split(",") if name.strip()]
        records = read_records(csv_path, drop)
        self.bodies = Bodies(records, options.batch_size if self.profile == "batch" else None)
        self.keep_alive = bool(options.keep_alive)
        self.timeout = float(options.request_timeout)
        self.grace = grace_seconds(options)
        self.p99_bound_ms = float(options.p99_bound_ms) if self.profile == "step" else None
        report_dir = options.report_dir or (os.path.dirname(options.csv_prefix) if options.csv_prefix else None)
        self.report_dir = Path(report_dir) if report_dir else None
        self.writer = RecordWriter(self.report_dir / REQUESTS_FILE) if self.report_dir else None
        self.info = RunInfo(
            profile=self.profile, host=(environment.host or "").rstrip("/"), path=self.path,
            target_rate=self.phases[0].rate if self.profile != "step" else self.phases[-1].rate,
            duration=max(phase.start + phase.seconds for phase in self.phases),
            batch_size=self.bodies.batch_size, csv_data=str(csv_path), rows=len(records), keep_alive=self.keep_alive,
            request_timeout=self.timeout, grace=self.grace, p99_bound_ms=self.p99_bound_ms,
            phases=[PhaseInfo(index=phase.index, rate=phase.rate, start=phase.start, seconds=phase.seconds,
                              planned=phase.arrivals) for phase in self.phases])
        self.phase_records: dict[int, list[RequestRecord]] = {phase.index: [] for phase in self.phases}
        self.answered = 0
        self.failed = 0
        self.t0 = 0.0
        self.claimed = False
        self.stop_reason = ""
        self.evaluators = Group()
        environment.events.request.add_listener(self.on_request)
        environment.events.quitting.add_listener(self.on_quitting)

    # ----- the timetable ---------------------------------------------------------------------------------

    def drive(self, send: Callable[[Arrival], None]) -> None:
        """Launch every arrival at its due time, wait for the answers (at most `grace` s), record the outcome."""
        self.t0 = time.monotonic()
        self.info.started_epoch = time.time()
        self.info.started_at = _utc_iso(self.info.started_epoch)
        self.write_info()
        logger.info("%s profile: POST %s%s, %s", self.profile, self.info.host, self.path, self._describe_plan())
        progress = gevent.spawn(self._report_progress)
        groups: list[Group] = []
        number = 0
        try:
            for phase, info in zip(self.phases, self.info.phases, strict=True):
                group = Group()
                groups.append(group)
                for index in range(phase.arrivals):
                    due = phase.due(index)
                    delay = self.t0 + due - time.monotonic()
                    if delay > 0:
                        gevent.sleep(delay)
                    if self.stop_reason:
                        break
                    group.spawn(send, Arrival(number, phase.index, due))
                    launched = time.monotonic() - self.t0
                    info.first_launch = launched if info.first_launch is None else info.first_launch
                    info.last_launch = launched
                    info.launched += 1
                    self.info.launched += 1
                    number += 1
                if self.p99_bound_ms is not None:
                    self.evaluators.spawn(self._evaluate_step, phase, info, group)
                if self.stop_reason:
                    break
            deadline = time.monotonic() + self.grace
            for group in groups:
                group.join(timeout=max(0.0, deadline - time.monotonic()))
            self.info.unanswered = sum(len(group) for group in groups)
            for group in groups:
                group.kill(block=True)
            self.evaluators.join(timeout=5)
            if self.p99_bound_ms is not None:
                self._conclude_steps()
            self.info.finished = True
        finally:
            progress.kill(block=False)
            if not self.info.finished:
                self.stop_reason = self.stop_reason or "cut short before the timetable ended"
                self.info.unanswered = max(0, self.info.launched - self.answered)
            self.info.stop_reason = self.stop_reason
            self.write_info()
        logger.info("done: %d launched, %d answered, %d failed, %d unanswered%s", self.info.launched,
                    self.answered, self.failed, self.info.unanswered,
                    f"; {self.stop_reason}" if self.stop_reason else "")

    def _describe_plan(self) -> str:
        if self.p99_bound_ms is not None:
            rates = ", ".join(f"{phase.rate:g}" for phase in self.phases)
            return (f"steps of {self.phases[0].seconds:g} s at {rates} arrivals/s, "
                    f"until p99 > {self.p99_bound_ms:g} ms or an error")
        phase = self.phases[0]
        return f"{phase.rate:g} arrivals/s for {phase.seconds:g} s = {phase.arrivals} arrivals"

    def _report_progress(self) -> None:
        while True:
            gevent.sleep(PROGRESS_EVERY_SECONDS)
            in_flight = self.info.launched - self.answered
            logger.info("t=%.0fs: %d launched, %d answered, %d in flight, %d failed", time.monotonic() - self.t0,
                        self.info.launched, self.answered, in_flight, self.failed)

    # ----- the step profile ------------------------------------------------------------------------------

    def _evaluate_step(self, phase: Phase, info: PhaseInfo, group: Group) -> None:
        """Once a step's requests are all answered: sustained (no errors, p99 within bound) or not."""
        group.join(timeout=self.grace)
        records = self.phase_records[phase.index]
        info.evaluated = True
        info.responses = len(records)
        info.failures = sum(1 for record in records if not record.ok)
        if info.launched < info.planned and self.stop_reason:
            info.reason = "cut short: an earlier step was not sustained"
            return
        achieved = achieved_rate(info.launched, info.first_launch, info.last_launch)
        rate_ok, _ = rate_verdict(achieved, phase.rate, info.launched, info.planned)
        assert self.p99_bound_ms is not None
        info.passed, info.p99_ms, info.reason = step_verdict(records, info.planned, info.launched, rate_ok,
                                                            self.p99_bound_ms)
        logger.info("step %d at %g/s: %s (%s)", phase.index + 1, phase.rate,
                    "sustained" if info.passed else "NOT sustained", info.reason)
        if not info.passed and not self.stop_reason:
            self.stop_reason = f"step {phase.index + 1} at {phase.rate:g}/s not sustained: {info.reason}"
        self.write_info()

    def _conclude_steps(self) -> None:
        sustained = None
        for info in self.info.phases:
            if info.passed is not True:
                break
            sustained = info.rate
        self.info.max_sustainable_rate = sustained

    # ----- what each request did -------------------------------------------------------------------------

    def check(self, response: ResponseContextManager) -> str | None:
        """Why this response is a failure, or None: HTTP 200 with a prediction (a full batch of them)."""
        status = response.status_code or 0
        if status == 0:
            return f"no response: {_describe(getattr(response, 'error', None))}"
        if status != 200:
            return f"HTTP {status}: {response.text[:200]}"
        try:
            body = response.json()
        except ValueError:
            return "HTTP 200 without a JSON body"
        if self.bodies.batch_size is None:
            return None if isinstance(body, dict) and "prediction" in body else "no prediction in the answer"
        predictions = body.get("predictions") if isinstance(body, dict) else None
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(predictions, list) or len(predictions) != self.bodies.batch_size:
            return f"expected {self.bodies.batch_size} predictions"
        if errors:
            return f"{len(errors)} record error(s), first: {json.dumps(errors[0])[:200]}"
        return None

    def on_request(self, context: dict[str, Any] | None = None, response_time: float = 0.0,
                   response: Any = None, exception: BaseException | None = None, start_time: float | None = None,
                   response_length: int = 0, **kwargs: Any) -> None:
        if not context or "arrival" not in context:
            return
        status = int(getattr(response, "status_code", 0) or 0)
        record = RequestRecord(arrival=context["arrival"], phase=context["phase"], due=context["due"],
                               sent=context["sent"], started_at=start_time or 0.0, latency_ms=float(response_time),
                               status=status, ok=exception is None,
                               error=None if exception is None else str(exception)[:300],
                               records=context["records"], bytes=int(response_length or 0))
        self.answered += 1
        self.failed += 0 if record.ok else 1
        self.phase_records[record.phase].append(record)
        if self.writer is not None:
            self.writer.write(record)

    def write_info(self) -> None:
        if self.report_dir is not None:
            self.info.write(self.report_dir / RUN_FILE)

    def on_quitting(self, **kwargs: Any) -> None:
        if self.info.started_epoch and not self.info.finished:
            self.info.stop_reason = self.info.stop_reason or "cut short before the timetable ended"
            self.info.unanswered = max(0, self.info.launched - self.answered)
        self.write_info()
        if self.writer is not None:
            self.writer.close()


_RUN: LoadRun | None = None


@events.init.add_listener
def _on_init(environment: Environment, **kwargs: Any) -> None:
    global _RUN
    options = environment.parsed_options
    if options is None:  # used as a library without locust's command line: nothing to set up
        return
    try:
        _RUN = LoadRun(environment, options)
    except (ValueError, OSError) as error:
        logger.error("loadtest: %s", error)
        sys.exit(2)


class ArrivalDriver(HttpUser):
    """The one user: keeps the open-model timetable; see the module docstring."""

    wait_time = constant(0)  # unused: the single task runs the whole timetable, then quits the runner

    def on_start(self) -> None:
        run = _RUN
        if run is None:
            return
        # Many requests may be in flight at once: let the pool keep that many connections for reuse.
        self.client.base_url = self.client.base_url.rstrip("/")  # a stage URL may end in "/"
        for prefix in ("http://", "https://"):
            self.client.mount(prefix, LocustHttpAdapter(None, pool_connections=4, pool_maxsize=512))
        self.client.headers["Content-Type"] = "application/json"
        if not run.keep_alive:
            self.client.headers["Connection"] = "close"
        api_key = os.environ.get(API_KEY_ENV)
        if api_key:
            self.client.headers["x-api-key"] = api_key

    @task
    def keep_timetable(self) -> None:
        run = _RUN
        if run is None or run.claimed:
            logger.warning("loadtest: only one ArrivalDriver runs the timetable (run with -u 1); stopping this one")
            raise StopUser()
        run.claimed = True
        run.drive(self._send)
        # locust writes its CSV files every CSV_STATS_INTERVAL_SEC and not again on quitting: let it catch up.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.5)
        runner = self.environment.runner
        if runner is not None:
            gevent.spawn(runner.quit)  # from another greenlet: quit() stops this user too
        gevent.sleep(3600)

    def _send(self, arrival: Arrival) -> None:
        run = _RUN
        assert run is not None
        sent = time.monotonic() - run.t0
        context = {"arrival": arrival.number, "phase": arrival.phase, "due": arrival.due, "sent": sent,
                   "records": run.bodies.records_per_request}
        with self.client.post(run.path, data=run.bodies.body(arrival.number), name=run.path, timeout=run.timeout,
                              catch_response=True, context=context) as response:
            problem = run.check(response)
            if problem is None:
                response.success()
            else:
                response.failure(problem)
