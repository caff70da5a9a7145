"""What each invocation of a handler cost, as devtools/deliver_events.py calls it: one JSON line per invocation,
for the benchmarks (`make bench-jobs`). Local use only; nothing deployed imports this.

Contract: `InvocationTimings(path)` appends to `path` (created if need be); `wrap(function, handler)` returns a
handler that calls `handler(event, context)`, returns or raises what it does, and writes one line:
`{"function", "request_id", "started_at" (epoch seconds), "wall_ms", "cpu_ms" (the calling thread's CPU time: the
handler runs in the thread that calls it), "process_cpu_ms" (the whole process's, every thread, while it ran: with
the work the app does off the request, such as loading the model), "first" (the first invocation of that function
in this process, the container's cold start: the app builds its runtime and loads the model then), "raised" (the
exception's type, or null), "records" (the event's), "calls" ({"<service>.<Operation>": n}: the AWS requests the
handler sent from the calling thread, one per HTTP attempt, as AWS bills them), "other_calls" (those the app's
other threads sent while it ran)}`.

The requests are counted through botocore's `before-send` event on boto3's default session, the one the app
builds its clients from: `watch_default_session()` must run before the app builds any (the app builds them on its
first invocation). Requests sent while no invocation runs (the app's background check for new model versions
between invocations: a frozen Lambda container sends none) are not counted, and neither are the delivery's own
(receiving and deleting messages, listing the bucket), whose clients come from sessions of their own; their CPU
time is in `process_cpu_ms` when it falls within an invocation.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

Handler = Callable[[dict[str, Any], Any], Any]


class InvocationTimings:
    """The timings file of one process; see the module's contract."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._invoked: set[str] = set()
        self._running: dict[int, Counter[str]] = {}  # the other threads' requests of each invocation under way
        self._next = 0

    def watch_default_session(self) -> None:
        """Count the requests of every client built from boto3's default session from now on."""
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        boto3.DEFAULT_SESSION.events.register("before-send", self._sent)

    def wrap(self, function: str, handler: Handler) -> Handler:
        def timed(event: dict[str, Any], context: Any) -> Any:
            calls: Counter[str] = Counter()
            others: Counter[str] = Counter()
            with self._lock:
                first = function not in self._invoked
                self._invoked.add(function)
                token, self._next = self._next, self._next + 1
                self._running[token] = others
            self._local.calls = calls
            raised: str | None = None
            started_at, wall = time.time(), time.perf_counter()
            cpu, process_cpu = time.thread_time(), time.process_time()
            try:
                return handler(event, context)
            except BaseException as error:
                raised = type(error).__name__
                raise
            finally:
                cpu_ms, process_cpu_ms = (time.thread_time() - cpu) * 1000, (time.process_time() - process_cpu) * 1000
                wall_ms = (time.perf_counter() - wall) * 1000
                self._local.calls = None
                with self._lock:
                    del self._running[token]
                records = event.get("Records") if isinstance(event, dict) else None
                self._write({"function": function, "request_id": getattr(context, "aws_request_id", None),
                             "started_at": round(started_at, 6), "wall_ms": round(wall_ms, 3),
                             "cpu_ms": round(cpu_ms, 3), "process_cpu_ms": round(process_cpu_ms, 3), "first": first,
                             "raised": raised, "records": len(records) if isinstance(records, list) else None,
                             "calls": dict(sorted(calls.items())), "other_calls": dict(sorted(others.items()))})

        return timed

    def _sent(self, event_name: str = "", **kwargs: Any) -> None:
        _, service, operation = (event_name.split(".", 2) + ["", ""])[:3]
        name = f"{service}.{operation}"
        calls = getattr(self._local, "calls", None)
        if calls is not None:
            calls[name] += 1
            return
        with self._lock:
            for others in self._running.values():
                others[name] += 1

    def _write(self, line: dict[str, Any]) -> None:
        with self._lock, open(self.path, "a") as out:
            out.write(json.dumps(line) + "\n")
