"""`make bench-ingest`: the published ingest replayed end to end on the local run: 50,000 Sonar records through the
Kinesis stream, scored by the app's `score_stream` in batches of 100, every result read back from the results queue.

    python -m benchmarks.ingest                  # 50,000 records, a few minutes; .local/bench/ingest.md and .json
    python -m benchmarks.ingest --records 5000   # a shorter one
    python -m benchmarks.ingest --out DIR        # write the two files into DIR instead
    python -m benchmarks.ingest --reference      # the full ingest into benchmarks/reference/, to commit; refused
                                                 # when tracked files differ from the commit

It starts what `make run` starts (devtools/run_local.py: the dev S3 with the Sonar model, in a scratch folder;
`chalice local`; moto's SQS and Kinesis with the dev stage's queues and stream; devtools/deliver_events.py, which
calls `score_queue` and `score_stream` as Lambda's event source mappings would, with the batch settings the app's
decorators declare), and nothing it writes is seen by another run (no .local/s3.json or streams.json). Before the
clock starts it asks `POST /predict` of `chalice local` for the answer to each of the 208 Sonar rows, and times
what moto's SQS calls cost against a queue's depth, on a scratch queue. Then it puts the records on the stream in
PutRecords of 500 (rows in turn, as fast as moto takes them: a real shard takes 1,000 records a second), while
several threads read the results queue (ReceiveMessage of ten, long polling, then DeleteMessageBatch). It reports
records per second end to end, the time to the first and to the last result, the invocations (from the handler's
`batch_scored` log lines) and their batch sizes, and the exact counts: every record's result once, none missing,
none duplicated, each equal to `/predict`'s answer for its row.

The results queue is drained while the records are being scored because moto's SQS slows down as a queue fills:
each ReceiveMessage and SendMessageBatch scans every message the queue holds (the depth figures in the report).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

# `python benchmarks/ingest.py` (not -m) would not see chalicelib, devtools or the benchmarks package.
_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if _PROJECT_ROOT not in sys.path:
    sys.path.insert(0, _PROJECT_ROOT)

import boto3  # noqa: E402

from benchmarks import prices  # noqa: E402
from benchmarks.environment import environment, tracked_changes  # noqa: E402
from benchmarks.examples import sonar_records  # noqa: E402
from benchmarks.results_paths import LATEST_DIR, REFERENCE_DIR, shown  # noqa: E402
from chalicelib.streams.event_sources import EventSources  # noqa: E402
from devtools.local_aws import free_port  # noqa: E402
from devtools.local_s3 import HOST  # noqa: E402
from devtools.local_streams import StageStreams  # noqa: E402
from devtools.run_local import local_run  # noqa: E402

INGEST_JSON, INGEST_MD = "ingest.json", "ingest.md"
PUT_RECORDS_BATCH = 500  # Kinesis's largest PutRecords
DRAINERS = 4
RECEIVE_WAIT_S = 1
QUIET_S = 5.0  # after the last expected result, how long the queue must stay empty (late duplicates would show)
DEPTHS = (10, 100, 500)  # queue depths at which moto's SQS calls are timed
DEPTH_CALLS = 5
DEPTH_SAMPLE_S = 2.0


def _progress(message: str) -> None:
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


@dataclass
class Arrivals:
    """Every result message read from the results queue, with when it was read (seconds since the start)."""

    started: float
    results: List[Tuple[float, str, Dict[str, Any]]] = field(default_factory=list)  # (when, SQS message id, body)
    unique: Dict[Tuple[str, Any], float] = field(default_factory=dict)
    receive_ms: List[float] = field(default_factory=list)
    delete_ms: List[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, messages: List[Dict[str, Any]], receive_ms: float, delete_ms: float) -> None:
        now = time.monotonic() - self.started
        bodies = [(message["MessageId"], json.loads(message["Body"])) for message in messages]
        with self.lock:
            self.receive_ms.append(receive_ms)
            if bodies:
                self.delete_ms.append(delete_ms)
            for message_id, body in bodies:
                self.results.append((now, message_id, body))
                self.unique.setdefault((str(body.get("source", {}).get("sequence_number")), body.get("index")), now)

    def count(self) -> int:
        with self.lock:
            return len(self.unique)


def _sqs(streams: StageStreams) -> Any:
    return boto3.session.Session().client("sqs", endpoint_url=streams.endpoint_url, region_name=streams.region,
                                          aws_access_key_id="local", aws_secret_access_key="local")


def _kinesis(streams: StageStreams) -> Any:
    return boto3.session.Session().client("kinesis", endpoint_url=streams.endpoint_url, region_name=streams.region,
                                          aws_access_key_id="local", aws_secret_access_key="local")


@contextlib.contextmanager
def draining(streams: StageStreams, arrivals: Arrivals, threads: int) -> Iterator[threading.Event]:
    """Read and delete the results queue from ``threads`` threads until the block ends."""
    stop = threading.Event()

    def drain() -> None:
        sqs, url = _sqs(streams), streams.results_queue.url
        while not stop.is_set():
            began = time.perf_counter()
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=RECEIVE_WAIT_S).get("Messages", [])
            received = time.perf_counter()
            if messages:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(number), "ReceiptHandle": message["ReceiptHandle"]}
                    for number, message in enumerate(messages)])
            arrivals.add(messages, (received - began) * 1000, (time.perf_counter() - received) * 1000)

    workers = [threading.Thread(target=drain, name=f"ingest-drain-{number}", daemon=True) for number in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield stop
    finally:
        stop.set()
        for worker in workers:
            worker.join(RECEIVE_WAIT_S + 30)


@contextlib.contextmanager
def sampling_depth(streams: StageStreams, started: float) -> Iterator[List[Dict[str, float]]]:
    """The results queue's depth (visible and in flight) every DEPTH_SAMPLE_S while the block runs."""
    samples: List[Dict[str, float]] = []
    stop = threading.Event()

    def sample() -> None:
        sqs = _sqs(streams)
        while not stop.wait(DEPTH_SAMPLE_S):
            attributes = sqs.get_queue_attributes(QueueUrl=streams.results_queue.url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            samples.append({"at_s": time.monotonic() - started,
                            "visible": int(attributes["ApproximateNumberOfMessages"]),
                            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"])})

    thread = threading.Thread(target=sample, name="ingest-depth", daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def moto_depth_costs(streams: StageStreams) -> List[Dict[str, float]]:
    """ReceiveMessage (ten, the messages left visible) and SendMessageBatch (ten) on a scratch queue held at each of
    DEPTHS messages: the median ms of DEPTH_CALLS calls each. The queue is deleted afterwards."""
    sqs = _sqs(streams)
    url = sqs.create_queue(QueueName=f"pfa-ingest-depth-{os.getpid()}")["QueueUrl"]
    body = json.dumps({"id": None, "index": 0, "prediction": "R", "padding": "x" * 200})
    entries = [{"Id": str(number), "MessageBody": body} for number in range(10)]
    rows, depth = [], 0
    try:
        for target in DEPTHS:
            while depth < target:
                sqs.send_message_batch(QueueUrl=url, Entries=entries)
                depth += 10
            receives, sends = [], []
            for _ in range(DEPTH_CALLS):
                began = time.perf_counter()
                sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
                receives.append((time.perf_counter() - began) * 1000)
            for _ in range(DEPTH_CALLS):
                began = time.perf_counter()
                sqs.send_message_batch(QueueUrl=url, Entries=entries)
                sends.append((time.perf_counter() - began) * 1000)
                depth += 10
            rows.append({"depth": target, "receive_ms": statistics.median(receives),
                         "send_batch_ms": statistics.median(sends)})
    finally:
        sqs.delete_queue(QueueUrl=url)
    return rows


def predict_answers(port: int, records: Sequence[Mapping[str, float]]) -> List[Dict[str, Any]]:
    """``POST /predict`` of each record to the local `chalice local`: the answers the results must equal."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    answers = []
    for record in records:
        request = urllib.request.Request(f"http://{HOST}:{port}/predict", data=json.dumps(record).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        with opener.open(request, timeout=30) as response:
            answers.append(json.loads(response.read()))
    return answers


def put_records(streams: StageStreams, records: Sequence[Mapping[str, float]], count: int,
                started: float) -> Tuple[Dict[str, int], Dict[str, Any]]:
    """Put ``count`` records (rows in turn) on the stream in PutRecords of 500, retrying any it turns down.

    Returns each record's sequence number mapped to its position, and what the puts took."""
    kinesis = _kinesis(streams)
    positions: Dict[str, int] = {}
    calls: List[float] = []
    retried = 0
    bodies = [json.dumps(record).encode() for record in records]
    for first in range(0, count, PUT_RECORDS_BATCH):
        pending = list(range(first, min(count, first + PUT_RECORDS_BATCH)))
        while pending:
            began = time.perf_counter()
            answer = kinesis.put_records(StreamName=streams.stream.name, Records=[
                {"Data": bodies[position % len(bodies)], "PartitionKey": str(position)} for position in pending])
            calls.append((time.perf_counter() - began) * 1000)
            refused = []
            for position, entry in zip(pending, answer["Records"], strict=True):
                if "SequenceNumber" in entry:
                    positions[entry["SequenceNumber"]] = position
                else:
                    refused.append(position)
            retried += len(refused)
            pending = refused
    return positions, {"calls": len(calls), "median_ms": statistics.median(calls), "records_retried": retried,
                       "done_at_s": time.monotonic() - started}


def invocations_from_log(text: str, source: str = "kinesis") -> Dict[str, Any]:
    """The handler's ``batch_scored`` lines for ``source`` in the run's log: invocations and their batches."""
    batches, durations, retried, records = [], [], 0, 0
    for line in text.splitlines():
        if not line.startswith("{") or '"batch_scored"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") != "batch_scored" or entry.get("source") != source:
            continue
        batches.append(int(entry["deliveries"]))
        records += int(entry.get("records") or 0)
        retried += int(entry.get("retried") or 0)
        durations.append(float(entry["duration_ms"]))
    whole_batch = sum("whole batch" in line for line in text.splitlines() if line.startswith("deliver_events"))
    return {"invocations": len(batches), "deliveries": sum(batches), "records_scored": records,
            "batch_min": min(batches, default=0), "batch_median": statistics.median(batches) if batches else 0,
            "batch_max": max(batches, default=0), "full_batches": sum(size == max(batches) for size in batches)
            if batches else 0, "retried": retried, "whole_batch_failures": whole_batch,
            "duration_ms_median": statistics.median(durations) if durations else None,
            "duration_ms_total": sum(durations)}


def check_results(arrivals: Arrivals, positions: Mapping[str, int], answers: Sequence[Mapping[str, Any]],
                  stream: str) -> Dict[str, Any]:
    """Each result against its record: once each, none missing, each /predict's answer for the record's row.

    A duplicate is either *received twice* (one results-queue message handed to two receives: SQS's standard
    queues may do that, and moto's receives race when several run at once) or *sent twice* (two result messages
    for one record: the record was scored again)."""
    messages: Dict[str, set] = {}
    receipts: Dict[str, int] = {}
    first_read: Dict[str, float] = {}
    gaps: List[float] = []
    wrong, errors, foreign = 0, 0, 0
    for at, message_id, result in arrivals.results:
        receipts[message_id] = receipts.get(message_id, 0) + 1
        if receipts[message_id] > 1:
            gaps.append(at - first_read[message_id])
            continue
        first_read[message_id] = at
        source = result.get("source") or {}
        sequence = str(source.get("sequence_number"))
        if source.get("type") != "kinesis" or source.get("stream") != stream or sequence not in positions \
                or result.get("index") != 0:
            foreign += 1
            continue
        messages.setdefault(sequence, set()).add(message_id)
        expected = answers[positions[sequence] % len(answers)]
        if "error" in result:
            errors += 1
        elif result.get("prediction") != expected["prediction"] or result.get("model") != expected["model"]:
            wrong += 1
    return {"expected": len(positions), "messages": len(arrivals.results), "unique": len(messages),
            "missing": len(positions) - len(messages),
            "sent_twice": sum(len(ids) - 1 for ids in messages.values()),
            "received_twice": sum(count - 1 for count in receipts.values()),
            "received_twice_gap_s_max": max(gaps, default=None),
            "wrong_answers": wrong, "errors": errors, "unknown": foreign}


def run(count: int, drainers: int, timeout_s: float) -> Dict[str, Any]:
    """The whole ingest; returns what ingest.json holds."""
    records = sonar_records()
    sources = EventSources.from_mapping(os.environ)  # deliver_events reads the same environment
    result: Dict[str, Any] = {"records": count, "rows": len(records), "source": "kinesis",
                              "batch_size": sources.stream_batch_size,
                              "batching_window_s": sources.stream_window_seconds, "drainers": drainers,
                              "put_records_batch": PUT_RECORDS_BATCH, "environment": environment()}
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pfa-ingest-") as scratch:
        log_path = Path(scratch) / "service.log"
        with open(log_path, "wb") as log:
            _progress(f"starting the local run (chalice local on port {port}, S3, SQS/Kinesis, deliver_events); "
                      f"its log: {log_path}")
            with local_run(port, data_dir=Path(scratch) / "s3", publish=False, output=log, streams=True,
                           aws_log_path=Path(scratch) / "aws.log") as local:
                streams = local.streams
                assert streams is not None and local.delivery is not None
                _progress("asking POST /predict for the answer to each row")
                answers = predict_answers(port, records)
                _progress(f"timing moto's SQS calls at queue depths {', '.join(map(str, DEPTHS))}")
                result["moto_depth_costs"] = moto_depth_costs(streams)
                started = time.monotonic()
                arrivals = Arrivals(started)
                _progress(f"putting {count:,} records on {streams.stream.name} (PutRecords of {PUT_RECORDS_BATCH}); "
                          f"{drainers} threads drain {streams.results_queue.name}")
                with draining(streams, arrivals, drainers), sampling_depth(streams, started) as depths:
                    positions, puts = put_records(streams, records, count, started)
                    _progress(f"  put in {puts['done_at_s']:.1f} s; waiting for the results")
                    finished = _wait(arrivals, count, started, timeout_s, local.delivery)
                result["depth_samples"] = depths
                result["timed_out"] = not finished
        result["invocations"] = invocations_from_log(log_path.read_text(errors="replace"))
    result["puts"] = puts
    result["counts"] = check_results(arrivals, positions, answers, streams.stream.name)
    result["timing"] = _timing(arrivals, count)
    result["drain"] = {"receives": len(arrivals.receive_ms), "receive_ms_median": _median(arrivals.receive_ms),
                       "delete_batch_ms_median": _median(arrivals.delete_ms)}
    result["published"] = {"batch_size": 100, "invocation_s": 3.8,
                           "cost": str(prices.PUBLISHED_COST_PER_EXECUTION * prices.PUBLISHED_PREDICTIONS / 100)}
    result["environment"]["load_average_end"] = list(os.getloadavg())
    return result


def _median(values: List[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def _wait(arrivals: Arrivals, count: int, started: float, timeout_s: float, delivery: Any) -> bool:
    """Until every result has come and the queue has stayed quiet for QUIET_S, or ``timeout_s`` has passed."""
    last_report, last_seen, last_total = started, started, 0
    while True:
        now = time.monotonic()
        total = len(arrivals.results)
        if total != last_total:
            last_seen, last_total = now, total
        if arrivals.count() >= count and now - last_seen >= QUIET_S:
            return True
        if now - started > timeout_s:
            return False
        if delivery.poll() is not None:
            raise RuntimeError(f"deliver_events exited with code {delivery.returncode}")
        if now - last_report >= 15:
            _progress(f"  {now - started:.0f} s: {arrivals.count():,} of {count:,} results")
            last_report = now
        time.sleep(0.2)


def _timing(arrivals: Arrivals, count: int) -> Dict[str, Any]:
    times = sorted(arrivals.unique.values())
    if not times:
        return {"first_result_s": None, "last_result_s": None, "records_per_s": None}
    last = times[-1]
    low, high = times[len(times) // 10], times[(len(times) * 9) // 10 - 1]
    steady = (len(times) * 9 // 10 - len(times) // 10) / (high - low) if high > low else None
    return {"first_result_s": times[0], "last_result_s": last, "records_per_s": len(times) / last,
            "steady_records_per_s": steady, "complete": len(times) >= count}


def render(result: Dict[str, Any]) -> str:
    env, counts, timing, calls = result["environment"], result["counts"], result["timing"], result["invocations"]
    puts, drain = result["puts"], result["drain"]
    depths = [sample["visible"] + sample["in_flight"] for sample in result["depth_samples"]]
    published = result["published"]
    published_invocations = result["records"] // published["batch_size"]
    answered = counts["unique"] - counts["wrong_answers"] - counts["errors"]
    exact = counts["unique"] == counts["expected"] and not counts["sent_twice"] and not counts["wrong_answers"] \
        and not counts["errors"] and not counts["unknown"]
    dirty = " (dirty tree)" if env.get("git_dirty") else ""
    lines = [
        "# Replayed ingest, end to end on the local run",
        "",
        f"Written by `make bench-ingest` (`python -m benchmarks.ingest`) on {env['date_utc']} at commit "
        f"`{env['git_commit']}`{dirty}: {env['cpu_model']}, {env['cores']} cores, load average "
        f"{env['load_average_start'][0]:.2f} at start, {env['load_average_end'][0]:.2f} at end; moto "
        f"{_moto_version()}. How it runs: `benchmarks/README.md`.",
        "",
        f"{result['records']:,} Sonar records (the {result['rows']} rows in turn, one record a message) put on the "
        f"local run's Kinesis stream in PutRecords of {result['put_records_batch']}, scored by `score_stream` "
        f"through devtools/deliver_events.py in batches of up to {result['batch_size']} (the app's "
        f"STREAM_BATCH_SIZE; window {result['batching_window_s']} s) on the default engine, results read back "
        f"from the results queue by {result['drainers']} threads.",
        "",
        "| | |",
        "| --- | ---: |",
        f"| records/s end to end (first put to last result) | **{_rate(timing['records_per_s'])}** |",
        f"| records/s between the 10th and 90th percentile of results | {_rate(timing.get('steady_records_per_s'))} |",
        f"| first result after | {_s(timing['first_result_s'])} |",
        f"| last result after | {_s(timing['last_result_s'])} |",
        f"| all records put after | {_s(puts['done_at_s'])} ({puts['calls']} PutRecords, median "
        f"{puts['median_ms']:.0f} ms; {puts['records_retried']} records retried) |",
        f"| invocations | {calls['invocations']:,} ({calls['full_batches']:,} of {calls['batch_max']} records; "
        f"records per invocation {calls['batch_min']} .. {calls['batch_max']}, median {calls['batch_median']:g}) |",
        f"| handler time per invocation (its `duration_ms`), median | {_ms(calls['duration_ms_median'])} ms |",
        f"| deliveries reported for retry / whole batches failed | {calls['retried']} / "
        f"{calls['whole_batch_failures']} |",
        f"| results read | {counts['messages']:,} messages: **{counts['unique']:,} of {counts['expected']:,} "
        f"records**, {counts['missing']:,} missing, {counts['sent_twice']:,} sent twice; "
        f"{counts['received_twice']:,} received twice |",
        f"| equal to `POST /predict`'s answer for the row | {answered:,} ({counts['wrong_answers']} differ, "
        f"{counts['errors']} errors, {counts['unknown']} not ours) |",
        f"| results queue depth (every {DEPTH_SAMPLE_S:.0f} s) | max {max(depths, default=0):,}, median "
        f"{_median([float(value) for value in depths]) or 0:g} |",
        f"| drain: ReceiveMessage, median / DeleteMessageBatch, median | {_ms(drain['receive_ms_median'])} ms / "
        f"{_ms(drain['delete_batch_ms_median'])} ms ({drain['receives']:,} receives) |",
        "",
        ("**Exact**: every record's result was sent once, arrived, and equals `/predict`'s answer"
         if exact else "**Not exact**: see the counts above")
        + (f"; {counts['received_twice']:,} of the {counts['messages']:,} messages read were the same results-queue "
           "message handed to two receives, counted once (the second came at most "
           f"{counts['received_twice_gap_s_max']:.2f} s after the first"
           + (": receives at the same moment; moto's receives race when several run at once, and SQS's standard "
              "queues may also hand a message out twice)." if counts["received_twice_gap_s_max"] < 1 else ").")
           if counts["received_twice"] else ".")
        + (" The run hit its time limit before the last result." if result["timed_out"] else ""),
        "",
        f"The published setup took about {published['invocation_s']} s an invocation at batch size "
        f"{published['batch_size']} (the model loaded on every call): {published_invocations:,} of them, one "
        f"shard's invocations one after another, would take "
        f"{published_invocations * published['invocation_s'] / 60:.0f} minutes. Here the model stays loaded, and "
        "most of an invocation's time is its SendMessageBatch calls to moto (the bench's *Queue and stream "
        "scoring* table).",
        "",
        "## moto's SQS against queue depth",
        "",
        f"On a scratch queue of the same moto before the ingest: ReceiveMessage of ten (the messages left visible) "
        f"and SendMessageBatch of ten, median of {DEPTH_CALLS} calls at each depth (the sends raise the depth by "
        "ten each). Both grow with the number of messages held, because moto scans them all on every call; SQS "
        "does not. That is why the results queue is drained while the records are scored.",
        "",
        "| messages in the queue | ReceiveMessage ms | SendMessageBatch ms |",
        "| ---: | ---: | ---: |",
    ]
    for row in result["moto_depth_costs"]:
        lines.append(f"| {row['depth']:,} | {row['receive_ms']:.1f} | {row['send_batch_ms']:.1f} |")
    lines.append("")
    return "\n".join(lines)


def _moto_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("moto")
    except metadata.PackageNotFoundError:
        return "unknown"


def _rate(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _s(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.1f} s"


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:,.1f}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=prices.PUBLISHED_PREDICTIONS,
                        help=f"records to ingest (default {prices.PUBLISHED_PREDICTIONS:,}, the published ingest)")
    parser.add_argument("--drainers", type=int, default=DRAINERS, help=f"threads reading the results queue "
                        f"(default {DRAINERS})")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="give up waiting for results after this many seconds (default 1200)")
    parser.add_argument("--out", type=Path, default=LATEST_DIR,
                        help=f"where to write {INGEST_MD} and {INGEST_JSON} (default {shown(LATEST_DIR)})")
    parser.add_argument("--reference", action="store_true",
                        help=f"the reference ingest: write {shown(REFERENCE_DIR)}/{INGEST_MD} and {INGEST_JSON}")
    args = parser.parse_args(argv)
    if args.records < 1 or args.drainers < 1:
        parser.error("--records and --drainers must be at least 1")
    if args.reference:
        if args.records != prices.PUBLISHED_PREDICTIONS or args.out != LATEST_DIR:
            parser.error("--reference is the full ingest into benchmarks/reference/: leave out --records and --out")
        changed = tracked_changes()
        if changed:
            print("A reference ingest measures a commit: commit or stash the changes to tracked files first:\n  "
                  + "\n  ".join(changed), file=sys.stderr)
            return 2
    out = REFERENCE_DIR if args.reference else args.out
    result = run(args.records, args.drainers, args.timeout)
    result["reference"] = args.reference
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / INGEST_JSON, out / INGEST_MD
    json_path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    text = render(result)
    md_path.write_text(text)
    print(text)
    print(f"Wrote {md_path} and {json_path}")
    counts = result["counts"]
    exact = counts["unique"] == counts["expected"] and not (counts["sent_twice"] or counts["wrong_answers"]
                                                            or counts["errors"] or counts["unknown"])
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
