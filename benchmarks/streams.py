"""Queue and stream scoring (Sonar): whole Lambda invocations of the app's SQS and Kinesis handlers, results queue
sends included, against the single ``POST /predict`` of the same run.

A real local SQS (moto, ``devtools.local_aws``) holds the results queue; the app runs on one runtime per engine
(titus, compiled) built from the bench's settings plus ``RESULTS_QUEUE`` and ``BATCH_ITEM_FAILURES=reported``.
Each invocation is ``json.loads`` of the event Lambda's event source mapping sends, ``app.score_queue(event,
context)`` or ``app.score_stream(event, context)``, and ``json.dumps`` of its answer, for batches of 1, 10, 100 and
the largest the event source delivers. That largest is not Lambda's batch-size bound of 10,000: a mapping passes a
batch in one call only up to the 6 MB invocation payload, which a few thousand Sonar messages already fill.

moto is not SQS: its SendMessageBatch costs several milliseconds on an empty queue and more as the queue fills
(each call scans every message held). So the results queue is purged, untimed, before every invocation, and during
the large ones a thread keeps purging it; and the cost of one SendMessageBatch on a shallow queue is measured on its
own, so that a reader can tell how much of a figure is moto's.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Iterator, List, Mapping, Tuple

import app as app_module
from benchmarks.engines import COMPILED, ENGINES, TITUS, EngineRuntimes
from benchmarks.examples import Example
from benchmarks.harness import STRIDE, Plan, summarize
from benchmarks.lambda_events import (
    RECORD_BUILDERS,
    answer_of,
    api_event,
    invoke,
    invoke_handler,
    message_id,
    records_event,
    sequence_number,
)
from chalicelib.settings import BATCH_ITEM_FAILURES, BATCH_ITEM_FAILURES_REPORTED, LAMBDA_PAYLOAD_LIMIT, RESULTS_QUEUE
from chalicelib.streams.event_sources import DEV_RECORDS, MAX_BATCH_SIZE
from chalicelib.streams.results import BATCH_ENTRIES
from chalicelib.wiring import build_runtime
from devtools.local_aws import LocalAws

SQS, KINESIS = "sqs", "kinesis"
SOURCES = (SQS, KINESIS)
HANDLERS = {SQS: "score_queue", KINESIS: "score_stream"}
SINGLE_STAGES = {COMPILED: "handler_compiled", TITUS: "handler"}
# moto allows one PurgeQueue a minute per queue, as SQS does, unless told otherwise; the bench purges often.
STRICT_PURGE = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"
# From this batch size on, a thread purges the results queue during the invocation, every PURGE_INTERVAL_S.
PURGED_FROM = 100
PURGE_INTERVAL_S = 0.05
CHECK_ROWS = (0, 41, 97, 150, 207)  # rows whose results are compared with /predict's answers, per source and engine
SEND_PROBE_CALLS = 20  # SendMessageBatch calls of ten results timed on their own, on a just-purged queue
EMPTY_EVENT_BYTES = len(json.dumps({"Records": []}))


@dataclass
class SendCounts:
    """What the runtimes' SendMessageBatch calls cost so far: calls, wall and this thread's CPU, entries."""

    calls: int = 0
    wall_ns: int = 0
    cpu_ns: int = 0
    sent: int = 0
    failed: int = 0

    def since(self, before: "SendCounts") -> "SendCounts":
        return SendCounts(self.calls - before.calls, self.wall_ns - before.wall_ns, self.cpu_ns - before.cpu_ns,
                          self.sent - before.sent, self.failed - before.failed)


class TimedSqs:
    """The SQS client the runtimes send results with: a real boto3 client whose SendMessageBatch calls are counted
    and timed; every other call goes straight through."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.counts = SendCounts()

    def send_message_batch(self, **kwargs: Any) -> Any:
        began, cpu_began = time.perf_counter_ns(), time.thread_time_ns()
        try:
            answer = self._client.send_message_batch(**kwargs)
        finally:
            counts = self.counts
            counts.cpu_ns += time.thread_time_ns() - cpu_began
            counts.wall_ns += time.perf_counter_ns() - began
            counts.calls += 1
        counts.sent += len(answer.get("Successful") or [])
        counts.failed += len(answer.get("Failed") or [])
        return answer

    def snapshot(self) -> SendCounts:
        return replace(self.counts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@contextlib.contextmanager
def local_aws() -> Iterator[LocalAws]:
    """A moto server for the results queue, which allows PurgeQueue as often as asked."""
    previous = os.environ.get(STRICT_PURGE)
    os.environ[STRICT_PURGE] = "false"  # the child reads it at start
    try:
        server = LocalAws()
        server.start()
    finally:
        if previous is None:
            del os.environ[STRICT_PURGE]
        else:
            os.environ[STRICT_PURGE] = previous
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def purging(sqs: Any, url: str, interval_s: float = PURGE_INTERVAL_S) -> Iterator[None]:
    """Purge the queue every ``interval_s`` from a thread while the block runs: moto's calls slow down as a queue
    fills, SQS's do not."""
    stop = threading.Event()

    def purge() -> None:
        while not stop.wait(interval_s):
            sqs.purge_queue(QueueUrl=url)

    thread = threading.Thread(target=purge, name="bench-results-purger", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def largest_batch(source: str, bodies: List[str]) -> Dict[str, Any]:
    """The largest batch of these bodies (cycled from the first) that one invocation can carry: Lambda's bound of
    MAX_BATCH_SIZE records, or fewer when the event would pass the 6 MB invocation payload."""
    build = RECORD_BUILDERS[source]
    # A record's size depends on its body and position (a partition key), not on the event's number.
    sizes = [len(json.dumps(build(bodies[position % len(bodies)], 1, position, DEV_RECORDS)))
             for position in range(MAX_BATCH_SIZE)]
    total, count = EMPTY_EVENT_BYTES, 0
    while count < MAX_BATCH_SIZE:
        grown = total + sizes[count] + (2 if count else 0)  # json.dumps separates records with ", "
        if grown > LAMBDA_PAYLOAD_LIMIT:
            break
        total, count = grown, count + 1
    event = records_event(source, [bodies[position % len(bodies)] for position in range(count)], 1, DEV_RECORDS)
    if len(event) != total:
        raise RuntimeError(f"{source}: an event of {count} records is {len(event)} bytes, not {total} as counted")
    full = EMPTY_EVENT_BYTES + sum(sizes) + 2 * (MAX_BATCH_SIZE - 1)
    return {"records": count, "event_bytes": total, "limit_bytes": LAMBDA_PAYLOAD_LIMIT,
            "bytes_at_batch_size_limit": full, "batch_size_limit": MAX_BATCH_SIZE}


@dataclass
class Invocation:
    """One timed invocation: wall, this thread's CPU and the process's CPU, and its results' sends."""

    wall_ms: float
    cpu_ms: float
    process_cpu_ms: float
    sends: SendCounts


@dataclass
class StreamBench:
    """The queue and stream handlers on each engine's runtime, sending to one results queue on ``sqs``."""

    runtimes: EngineRuntimes
    sends: TimedSqs
    sqs: Any
    results_url: str
    records: List[Any]
    bodies: List[str] = field(init=False)
    _events: int = 0

    def __post_init__(self) -> None:
        self.bodies = [json.dumps(record) for record in self.records]

    def event(self, source: str, rows: List[int]) -> Tuple[str, int]:
        """The event delivering these rows, as JSON text, and its number (which its ids carry)."""
        self._events += 1
        return records_event(source, [self.bodies[row] for row in rows], self._events, DEV_RECORDS), self._events

    def rows(self, start: int, size: int) -> List[int]:
        return [(start + offset) % len(self.records) for offset in range(size)]

    def purge(self) -> None:
        self.sqs.purge_queue(QueueUrl=self.results_url)

    def invoke(self, source: str, engine: str, event_text: str, size: int) -> Invocation:
        """One timed invocation on ``engine``'s runtime; it must answer no failures and send one result a record."""
        self.runtimes.use(engine)
        handler = getattr(app_module, HANDLERS[source])
        self.purge()
        gc.collect()  # cheap: the bench's long-lived objects are frozen out of the collector (see _measure)
        purger = purging(self.sqs, self.results_url) if size >= PURGED_FROM else contextlib.nullcontext()
        before = self.sends.snapshot()
        with purger:
            began, cpu_began, process_began = time.perf_counter_ns(), time.thread_time_ns(), time.process_time_ns()
            answer = invoke_handler(handler, event_text)
            process_ended, cpu_ended, ended = time.process_time_ns(), time.thread_time_ns(), time.perf_counter_ns()
        sends = self.sends.snapshot().since(before)
        if json.loads(answer) != {"batchItemFailures": []} or sends.sent != size or sends.failed:
            raise RuntimeError(f"{HANDLERS[source]} on {engine}, {size} records: answered {answer[:300]}, "
                               f"{sends.sent} results sent, {sends.failed} refused")
        return Invocation((ended - began) / 1e6, (cpu_ended - cpu_began) / 1e6, (process_ended - process_began) / 1e6,
                          sends)

    def received(self, expected: int) -> List[Dict[str, Any]]:
        """The results on the queue (untimed), once ``expected`` are there or it has nothing more."""
        found: List[Dict[str, Any]] = []
        empty = 0
        while len(found) < expected and empty < 3:
            messages = self.sqs.receive_message(QueueUrl=self.results_url, MaxNumberOfMessages=10,
                                                WaitTimeSeconds=1).get("Messages", [])
            empty = 0 if messages else empty + 1
            found.extend(json.loads(message["Body"]) for message in messages)
        return found

    def check(self, source: str, engine: str) -> Dict[str, Any]:
        """Score CHECK_ROWS in one invocation and compare each result with the answer of ``POST /predict`` for the
        same record on the same runtime: prediction and model (name and version)."""
        rows = list(CHECK_ROWS)
        event_text, number = self.event(source, rows)
        self.invoke(source, engine, event_text, len(rows))
        found = self.received(len(rows))
        key = "message_id" if source == SQS else "sequence_number"
        ids = {(message_id if source == SQS else sequence_number)(number, position): row
               for position, row in enumerate(rows)}
        by_id = {result["source"][key]: result for result in found}
        if len(found) != len(rows) or set(by_id) != set(ids):
            raise RuntimeError(f"{HANDLERS[source]} on {engine}: {len(found)} results for {len(rows)} records")
        for identifier, row in ids.items():
            status, body = answer_of(invoke(api_event("/predict", "/predict", self.bodies[row])))
            result = by_id[identifier]
            if status != 200 or result.get("prediction") != body["prediction"] or result["model"] != body["model"] \
                    or "error" in result:
                raise RuntimeError(f"{HANDLERS[source]} on {engine}, row {row}: result {result}, /predict answered "
                                   f"{status} {body}")
        return {"rows": rows, "equal_to_predict": len(rows),
                "result_bytes_max": max(len(json.dumps(result, separators=(",", ":"))) for result in found)}

    def send_probe(self, calls: int) -> Dict[str, Any]:
        """SendMessageBatch of ten typical results, ``calls`` times, each on a just-purged queue: moto's own cost."""
        bodies = [json.dumps({"id": None, "index": 0, "source": {"type": "sqs", "queue": DEV_RECORDS,
                                                                  "message_id": message_id(0, n)},
                              "model": {"name": "sonar_naive_bayes", "version": "0" * 32}, "prediction": "R"},
                             separators=(",", ":")) for n in range(BATCH_ENTRIES)]
        entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies)]
        walls, cpus = [], []
        for _ in range(calls):
            self.purge()
            began, cpu_began = time.perf_counter_ns(), time.thread_time_ns()
            self.sqs.send_message_batch(QueueUrl=self.results_url, Entries=entries)
            cpus.append((time.thread_time_ns() - cpu_began) / 1e6)
            walls.append((time.perf_counter_ns() - began) / 1e6)
        self.purge()
        return {"calls": calls, "entries": BATCH_ENTRIES, "median_ms": statistics.median(walls),
                "p25_ms": summarize(walls)["p25_us"], "p75_ms": summarize(walls)["p75_us"],
                "cpu_median_ms": statistics.median(cpus)}


def _figures(size: int, runs: List[Invocation], single: Mapping[str, float]) -> Dict[str, Any]:
    wall = statistics.median(run.wall_ms for run in runs)
    cpu = statistics.median(run.cpu_ms for run in runs)
    process = statistics.median(run.process_cpu_ms for run in runs)
    sends_ms = statistics.median(run.sends.wall_ns / 1e6 for run in runs)
    sends_cpu_ms = statistics.median(run.sends.cpu_ns / 1e6 for run in runs)
    calls = statistics.median(run.sends.calls for run in runs)
    wait_ms = statistics.median((run.sends.wall_ns - run.sends.cpu_ns) / 1e6 for run in runs)
    per_s, per_cpu_s = size * 1000 / wall, size * 1000 / cpu
    return {"size": size, "invocations": len(runs), "request_ms": wall, "request_cpu_ms": cpu,
            "request_process_cpu_ms": process, "ms_per_record": wall / size, "records_per_s": per_s,
            "records_per_cpu_s": per_cpu_s, "records_per_process_cpu_s": size * 1000 / process,
            "ratio_to_predict": per_s / single["records_per_s"],
            "cpu_ratio_to_predict": per_cpu_s / single["records_per_cpu_s"],
            "send_calls": calls, "sends_ms": sends_ms, "sends_cpu_ms": sends_cpu_ms, "sends_wait_ms": wait_ms,
            "sends_share": sends_ms / wall, "ms_per_send": sends_ms / calls if calls else None,
            "wall": summarize([run.wall_ms for run in runs]), "cpu": summarize([run.cpu_ms for run in runs]),
            "purged_during": size >= PURGED_FROM}


def single_request(model: Mapping[str, Any], engine: str) -> Dict[str, Any]:
    """The bench's single ``POST /predict`` on ``engine`` (its handler stage), in records per second."""
    stage = SINGLE_STAGES[engine]
    wall_us, cpu_us = model["median_us"][stage], model["cpu_median_us"][stage]
    return {"stage": stage, "request_ms": wall_us / 1000, "request_cpu_ms": cpu_us / 1000,
            "records_per_s": 1e6 / wall_us, "records_per_cpu_s": 1e6 / cpu_us}


def bench_streams(s3_client: Any, settings: Mapping[str, str], sonar: Example, model: Mapping[str, Any],
                  plan: Plan, progress: Callable[[str], None] = lambda message: None) -> Dict[str, Any]:
    """Records per second through ``score_queue`` and ``score_stream`` per engine and batch size, against the
    single request of ``model`` (bench_model's Sonar figures, measured earlier in the same run)."""
    with local_aws() as aws:
        sqs = aws.client("sqs")
        url = sqs.create_queue(QueueName=f"pfa-bench-results-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        sends = TimedSqs(aws.client("sqs"))
        runtime_settings = {**settings, RESULTS_QUEUE: url, BATCH_ITEM_FAILURES: BATCH_ITEM_FAILURES_REPORTED}
        runtimes = EngineRuntimes(runtime_settings,
                                  lambda environ: build_runtime(environ, s3_client=s3_client, sqs_client=sends))
        bench = StreamBench(runtimes, sends, sqs, url, list(sonar.records))
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # the handlers' log lines
                return _measure(bench, model, plan, progress)
        finally:
            runtimes.close()


def _measure(bench: StreamBench, model: Mapping[str, Any], plan: Plan,
             progress: Callable[[str], None]) -> Dict[str, Any]:
    largest = {source: largest_batch(source, bench.bodies) for source in SOURCES}
    checks = {source: {engine: bench.check(source, engine) for engine in ENGINES} for source in SOURCES}
    probe = bench.send_probe(SEND_PROBE_CALLS)
    for source in SOURCES:  # warm: each handler and engine once at a small size
        for engine in ENGINES:
            bench.invoke(source, engine, bench.event(source, bench.rows(0, 10))[0], 10)
    schedule = [(size, rounds, False) for size, rounds in sorted(plan.stream_samples.items())]
    if plan.stream_max_samples:
        schedule.append((0, plan.stream_max_samples, True))
    runs: Dict[Tuple[str, str, int, bool], List[Invocation]] = {}
    gc.collect()
    gc.freeze()  # as in timed_rounds: no invocation pays for collections that scan the bench's own heap
    try:
        for size, rounds, is_largest in schedule:
            sizes = {source: largest[source]["records"] if is_largest else size for source in SOURCES}
            progress("  " + (f"largest batches ({sizes[SQS]:,} SQS messages, {sizes[KINESIS]:,} Kinesis records)"
                             if is_largest else f"batches of {size}")
                     + f": {rounds} invocation(s) per handler and engine")
            for (source, engine), invocation in _rounds(bench, sizes, rounds, is_largest):
                runs.setdefault((source, engine, sizes[source], is_largest), []).append(invocation)
    finally:
        gc.unfreeze()
    singles = {engine: single_request(model, engine) for engine in ENGINES}
    rows = [{"source": source, "handler": HANDLERS[source], "engine": engine, "largest": is_largest,
             **_figures(size, invocations, singles[engine])}
            for (source, engine, size, is_largest), invocations in runs.items()]
    # The default engine first (auto serves Sonar compiled), as cost.md orders them.
    rows.sort(key=lambda row: (SOURCES.index(row["source"]), row["engine"] != COMPILED, row["size"]))
    return {"model": model["name"], "sources": {source: {"handler": HANDLERS[source], "records_from": DEV_RECORDS}
                                                for source in SOURCES},
            "single": singles, "largest": largest, "checks": checks, "moto_send_batch": probe,
            "message_bytes_max": max(len(body.encode("utf-8")) for body in bench.bodies),
            "purged_from": PURGED_FROM, "purge_interval_s": PURGE_INTERVAL_S, "rows": rows}


def _rounds(bench: StreamBench, sizes: Mapping[str, int], rounds: int,
            from_first_row: bool) -> Iterator[Tuple[Tuple[str, str], Invocation]]:
    """Rounds of one invocation per source and engine, in a shuffled order that the next round reverses; each
    round's batches start at the round's row (or at the first, for the largest, whose size was counted from it)."""
    order = random.Random(0)
    sequence = [(source, engine) for source in SOURCES for engine in ENGINES]
    for round_no in range(rounds):
        if round_no % 2 == 0:
            order.shuffle(sequence)
        else:
            sequence.reverse()
        start = 0 if from_first_row else (round_no * STRIDE) % len(bench.records)
        for source, engine in sequence:
            event_text = bench.event(source, bench.rows(start, sizes[source]))[0]
            yield (source, engine), bench.invoke(source, engine, event_text, sizes[source])
