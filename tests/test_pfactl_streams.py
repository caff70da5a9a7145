"""`pfactl send` and `pfactl results` against the real local SQS and Kinesis (the moto server of the `aws`
fixture): what reaches the queue or stream, batching and retries, draining results, and how pfactl finds the
queues and stream of `make run` through .local/streams.json."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.compiler.choice import TITUS
from pfactl.cli import main
from pfactl.csv_rows import row_converter
from pfactl.envelopes import Envelope
from pfactl.inspect import load_model
from pfactl.stream_senders import KinesisStream, Sender, SqsQueue
from pfactl.streams_target import LOCAL_STREAMS_FILE, QUEUE, STREAM, Target

ROOT = Path(__file__).resolve().parent.parent
SONAR = ROOT / "models" / "sonar_naive_bayes.pfa"
SONAR_CSV = ROOT / "tests" / "data" / "sonar.csv"
SONAR_ROWS = 208
PFACTL = Path(sys.executable).parent / "pfactl"


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def sqs(aws):
    return aws.client("sqs")


@pytest.fixture
def kinesis(aws):
    return aws.client("kinesis")


@pytest.fixture
def queue(sqs) -> tuple[str, str]:
    """A new queue: (name, url)."""
    name = unique("pfactl-q")
    return name, sqs.create_queue(QueueName=name)["QueueUrl"]


@pytest.fixture
def stream(kinesis) -> str:
    """A new one-shard stream's name."""
    name = unique("pfactl-s")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    return name


def drain_queue(sqs, url: str) -> list[dict[str, Any]]:
    """Every message on the queue (received and deleted), as parsed JSON."""
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return bodies
        bodies += [json.loads(message["Body"]) for message in messages]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for index, m in enumerate(messages)])


def read_stream(kinesis, name: str) -> list[tuple[str, dict[str, Any]]]:
    """Every record of the stream's one shard: (partition key, parsed data)."""
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    iterator = iterator["ShardIterator"]
    records: list[tuple[str, dict[str, Any]]] = []
    while iterator:
        page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
        if not page["Records"]:
            return records
        records += [(record["PartitionKey"], json.loads(record["Data"])) for record in page["Records"]]
        iterator = page.get("NextShardIterator")
    return records


def messages_left(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def sonar_records() -> list[Any]:
    """What pfactl/csv_rows.py makes of each data row of the Sonar CSV, in order."""
    served = load_model(SONAR, engine=TITUS).served
    header, *rows = list(csv.reader(SONAR_CSV.open(newline="")))
    converter = row_converter(header, served.model.input_schema, served.input_keys, lambda message: None)
    return [converter.convert(cells) for cells in rows]


def write_jsonl(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


# ----- send: CSV ---------------------------------------------------------------------------------


def test_send_sonar_csv_to_a_queue_one_envelope_a_row(capsys, sqs, queue):
    name, url = queue
    code, out, err = run(capsys, "send", SONAR_CSV, "--queue", name, "--document", SONAR)
    assert code == 0, err
    assert out == f"sent 208 records in 208 messages to queue {name}; 0 rows not sent\n"
    assert one_line(err) == "pfactl: warning: ignoring CSV column(s) not in the model's input: Class"
    envelopes = sorted(drain_queue(sqs, url), key=lambda envelope: envelope["id"])
    assert [envelope["id"] for envelope in envelopes] == list(range(1, SONAR_ROWS + 1))
    expected = sonar_records()
    for envelope in envelopes:
        assert set(envelope) == {"id", "record"}
        assert envelope["record"] == expected[envelope["id"] - 1]


def test_send_sonar_csv_to_a_stream_names_the_model(capsys, kinesis, stream):
    code, out, err = run(capsys, "send", SONAR_CSV, "--stream", stream, "--document", SONAR,
                         "--model", "sonar_naive_bayes", "--drop", "Class")
    assert code == 0 and err == ""  # Class dropped as asked: no warning
    assert out == f"sent 208 records in 208 messages to stream {stream}; 0 rows not sent\n"
    records = read_stream(kinesis, stream)
    expected = sonar_records()
    assert [key for key, _ in records] == [str(row) for row in range(1, SONAR_ROWS + 1)]
    assert [data for _, data in records] == [{"id": row, "model": "sonar_naive_bayes", "record": expected[row - 1]}
                                             for row in range(1, SONAR_ROWS + 1)]


def test_a_bad_csv_row_is_reported_and_skipped(capsys, sqs, queue, tmp_path):
    name, url = queue
    rows = list(csv.reader(SONAR_CSV.open(newline="")))[:13]
    rows[5] = rows[5][:3]  # data row 5: too few cells
    with (tmp_path / "bad.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
        handle.write("\n")  # a blank line is not a row
    code, out, err = run(capsys, "send", tmp_path / "bad.csv", "--queue", name, "--document", SONAR,
                         "--records-per-message", "3", "--drop", "Class")
    assert code == 0
    assert out == f"sent 11 records in 5 messages to queue {name}; 1 row not sent\n"
    assert one_line(err) == "pfactl: row 5 not sent: 3 cells, the header has 61 columns"
    envelopes = sorted(drain_queue(sqs, url), key=lambda envelope: envelope["id"])
    # The bad row ends its envelope, so that a result's row is still id + index.
    assert [(envelope["id"], len(envelope["records"])) for envelope in envelopes] == [
        (1, 3), (4, 1), (6, 3), (9, 3), (12, 1)]
    expected = sonar_records()
    for envelope in envelopes:
        for index, record in enumerate(envelope["records"]):
            assert record == expected[envelope["id"] + index - 1]


def test_csv_id_column_is_the_id_and_is_not_sent(capsys, sqs, queue, tmp_path):
    name, url = queue
    map_model = tmp_path / "sum.pfa"  # a map input without input_keys: every other column would be a key
    map_model.write_text(json.dumps({"input": {"type": "map", "values": "double"}, "output": "int",
                                     "action": [{"map.len": "input"}]}))
    data = tmp_path / "orders.csv"
    data.write_text("order,a,b\nA-17,1,2\n 18 ,3,4\n,5,6\n")
    code, out, err = run(capsys, "send", data, "--queue", name, "--document", map_model, "--id-column", "order")
    assert code == 0
    assert out == f"sent 2 records in 2 messages to queue {name}; 1 row not sent\n"
    assert one_line(err) == "pfactl: row 3 not sent: id column 'order': expected 1-256 characters, got 0"
    assert sorted(drain_queue(sqs, url), key=lambda envelope: envelope["id"]) == [
        {"id": "18", "record": {"a": 3.0, "b": 4.0}}, {"id": "A-17", "record": {"a": 1.0, "b": 2.0}}]
    code, out, err = run(capsys, "send", data, "--queue", name, "--document", map_model, "--drop", "c")
    assert code == 1 and out == ""
    assert one_line(err) == f"pfactl: --drop c: the CSV header of {data} has no such column (it has order, a, b)"


def test_csv_needs_the_model_and_fetches_it_from_the_bucket(capsys, sqs, queue, s3_client, model_bucket,
                                                            scratch_bucket, tmp_path, monkeypatch):
    name, url = queue
    monkeypatch.chdir(ROOT)  # the default model is .chalice/config.json's MODEL_KEY
    monkeypatch.delenv("MODEL_KEY", raising=False)
    head = "".join(SONAR_CSV.open().readlines()[:4])
    data = tmp_path / "head.csv"
    data.write_text(head)
    code, out, err = run(capsys, "send", data, "--queue", name, "--bucket", model_bucket)
    assert code == 0, err
    assert out == f"sent 3 records in 3 messages to queue {name}; 0 rows not sent\n"
    s3_client.upload_file(str(SONAR), scratch_bucket, "models/sonar.pfa")
    code, out, err = run(capsys, "send", data, "--queue", name, "--bucket", scratch_bucket, "--model", "sonar")
    assert code == 0, err
    envelopes = drain_queue(sqs, url)
    assert len(envelopes) == 6 and sorted(envelope.get("model", "-") for envelope in envelopes) == ["-"] * 3 + [
        "sonar"] * 3
    code, out, err = run(capsys, "send", data, "--queue", name, "--bucket", scratch_bucket, "--model", "nope")
    assert code == 1 and out == ""
    assert one_line(err).startswith(f"pfactl: no model document at s3://{scratch_bucket}/models/nope.pfa")
    assert drain_queue(sqs, url) == []


# ----- send: JSON lines --------------------------------------------------------------------------


def test_jsonl_ten_records_a_message_and_bad_lines(capsys, sqs, queue, tmp_path):
    name, url = queue
    lines = [json.dumps({"x": row}) for row in range(1, 26)]
    lines[14] = '{"x": oops'  # row 15
    lines[19] = '{"x": 1e999}'  # row 20: no double holds it
    data = tmp_path / "records.jsonl"
    data.write_text("\n".join(lines[:3]) + "\n\n" + "\n".join(lines[3:]) + "\n")
    code, out, err = run(capsys, "send", data, "--queue", name, "--records-per-message", "10")
    assert code == 0
    assert out == f"sent 23 records in 4 messages to queue {name}; 2 rows not sent\n"
    reported = err.strip().splitlines()
    assert reported[0].startswith("pfactl: row 15 not sent: line is not valid JSON")
    assert reported[1] == "pfactl: row 20 not sent: a number out of the range of a double"
    envelopes = sorted(drain_queue(sqs, url), key=lambda envelope: envelope["id"])
    assert [(envelope["id"], len(envelope["records"])) for envelope in envelopes] == [
        (1, 10), (11, 4), (16, 4), (21, 5)]
    for envelope in envelopes:
        assert set(envelope) == {"id", "records"}
        for index, record in enumerate(envelope["records"]):
            assert record == {"x": envelope["id"] + index}


def test_jsonl_id_field_is_the_id_and_is_not_sent(capsys, kinesis, stream, tmp_path):
    data = write_jsonl(tmp_path / "records.jsonl", [
        {"order": "A-1", "x": 1}, {"order": 7, "x": 2}, {"x": 3}, {"order": True, "x": 4}, [5],
        {"order": "A-6", "x": 6, "label": "R"}])
    code, out, err = run(capsys, "send", data, "--stream", stream, "--id-column", "order", "--drop", "label")
    assert code == 0
    assert out == f"sent 3 records in 3 messages to stream {stream}; 3 rows not sent\n"
    assert err.strip().splitlines() == [
        "pfactl: row 3 not sent: no id field 'order'",
        "pfactl: row 4 not sent: id field 'order': expected a string or an integer, got true",
        "pfactl: row 5 not sent: not a JSON object, so no id field 'order'"]
    assert read_stream(kinesis, stream) == [("A-1", {"id": "A-1", "record": {"x": 1}}),
                                            ("7", {"id": 7, "record": {"x": 2}}),
                                            ("A-6", {"id": "A-6", "record": {"x": 6}})]


def test_id_column_needs_one_record_a_message(capsys, queue, tmp_path):
    data = write_jsonl(tmp_path / "records.jsonl", [{"order": 1}])
    code, out, err = run(capsys, "send", data, "--queue", queue[0], "--id-column", "order",
                         "--records-per-message", "2")
    assert code == 1 and out == ""
    assert one_line(err).startswith("pfactl: --id-column needs one record a message")


def test_a_message_over_the_queues_limit_is_reported(capsys, sqs, queue, tmp_path):
    name, url = queue
    data = write_jsonl(tmp_path / "big.jsonl", ["x" * 300_000, "small"])
    code, out, err = run(capsys, "send", data, "--queue", name)
    assert code == 1
    assert out == f"sent 1 record in 1 message to queue {name}; 1 row not sent\n"
    assert one_line(err) == ("pfactl: row 1 not sent (message id 1): the message is 300,020 bytes, over the "
                             "queue's limit of 262,144")
    assert drain_queue(sqs, url) == [{"id": 2, "record": "small"}]


@pytest.mark.parametrize("content, message", [
    (None, "cannot read {path}: No such file or directory"),
    ("", "{path} is empty; expected one JSON record a line"),
    ("\n\n", "{path} is empty; expected one JSON record a line"),
])
def test_missing_or_empty_data_is_named(capsys, queue, tmp_path, content, message):
    path = tmp_path / "data.jsonl"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "send", path, "--queue", queue[0])
    assert code == 1 and out == ""
    assert one_line(err) == "pfactl: " + message.format(path=path)


def test_the_installed_script_sends_stdin(sqs, queue):
    name, url = queue
    done = subprocess.run([str(PFACTL), "send", "-", "--queue", url], input='{"x": 1}\n[2]\n', capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"sent 2 records in 2 messages to queue {name}; 0 rows not sent\n"
    assert sorted(drain_queue(sqs, url), key=lambda body: body["id"]) == [{"id": 1, "record": {"x": 1}},
                                                                        {"id": 2, "record": [2]}]


# ----- batching and retries (the real server, with faults injected in front of it) ------------------


class Recording:
    """Passes SendMessageBatch / PutRecords to the real client, noting each call's entries and bytes, and
    failing the entries listed in ``fail`` (a list of sets of envelope ids, one per call; None: ok)."""

    def __init__(self, client: Any, fail: list[set[Any]] | None = None, sender_fault: bool = False) -> None:
        self.client = client
        self.calls: list[list[bytes]] = []
        self.fail = list(fail or [])
        self.sender_fault = sender_fault

    def _failing(self) -> set[str]:
        return {str(identifier) for identifier in (self.fail.pop(0) if self.fail else set())}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls.append([entry["MessageBody"].encode() for entry in Entries])
        failing = self._failing()
        ok = [entry for entry in Entries if str(json.loads(entry["MessageBody"])["id"]) not in failing]
        failed = [{"Id": entry["Id"], "SenderFault": self.sender_fault, "Code": "InternalError",
                   "Message": "try again"} for entry in Entries if entry not in ok]
        response = self.client.send_message_batch(QueueUrl=QueueUrl, Entries=ok) if ok else {}
        return {"Successful": response.get("Successful", []), "Failed": failed}

    def put_records(self, StreamName: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([record["Data"] for record in Records])
        failing = self._failing()
        ok = [record for record in Records if record["PartitionKey"] not in failing]
        answered = iter(self.client.put_records(StreamName=StreamName, Records=ok)["Records"] if ok else [])
        results = [next(answered) if record in ok else
                   {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded"}
                   for record in Records]
        return {"FailedRecordCount": len(Records) - len(ok), "Records": results}


def envelope(row: int, size: int = 10) -> Envelope:
    body = json.dumps({"id": row, "record": "x" * size}).encode()
    return Envelope(row, row, 1, body)


def send_all(sender: Sender, envelopes: list[Envelope]) -> None:
    for item in envelopes:
        sender.add(item)
    sender.flush()


def test_sqs_batches_keep_to_ten_messages_and_256_kib(sqs, queue):
    name, url = queue
    recording = Recording(sqs)
    sender = Sender(SqsQueue(recording, url, Target(QUEUE, name, "local")), report=pytest.fail)
    send_all(sender, [envelope(row) for row in range(1, 24)] + [envelope(row, 100_000) for row in range(24, 31)])
    assert [len(call) for call in recording.calls] == [10, 10, 5, 2, 2, 1]
    assert all(sum(map(len, call)) <= 256 * 1024 for call in recording.calls)
    assert (sender.counts.records, sender.counts.messages, sender.counts.unsent_rows) == (30, 30, 0)
    assert sorted(body["id"] for body in drain_queue(sqs, url)) == list(range(1, 31))


def test_failed_sqs_entries_are_retried_with_backoff_then_reported(sqs, queue):
    name, url = queue
    waits: list[float] = []
    reports: list[str] = []
    recording = Recording(sqs, fail=[{2, 5}, {5}, {5}, {5}, {5}])
    sender = Sender(SqsQueue(recording, url, Target(QUEUE, name, "local")), report=reports.append,
                    sleep=waits.append)
    send_all(sender, [envelope(row) for row in range(1, 8)])
    assert [len(call) for call in recording.calls] == [7, 2, 1, 1, 1]
    assert waits == [0.2, 0.4, 0.8, 1.6]
    assert reports == ["row 5 not sent (message id 5): InternalError: try again (after 5 attempts)"]
    assert (sender.counts.records, sender.counts.messages, sender.counts.unsent_rows) == (6, 6, 1)
    assert sorted(body["id"] for body in drain_queue(sqs, url)) == [1, 2, 3, 4, 6, 7]  # each once


def test_an_sqs_entry_failed_by_the_sender_is_not_retried(sqs, queue):
    name, url = queue
    waits: list[float] = []
    reports: list[str] = []
    recording = Recording(sqs, fail=[{1}], sender_fault=True)
    sender = Sender(SqsQueue(recording, url, Target(QUEUE, name, "local")), report=reports.append,
                    sleep=waits.append)
    send_all(sender, [envelope(1), envelope(2)])
    assert len(recording.calls) == 1 and waits == []
    assert reports == ["row 1 not sent (message id 1): InternalError: try again"]


def test_kinesis_batches_of_500_and_failed_records_are_retried(kinesis, stream):
    waits: list[float] = []
    recording = Recording(kinesis, fail=[{"3"}, set(), {"600"}])
    sender = Sender(KinesisStream(recording, Target(STREAM, stream, "local")), report=pytest.fail,
                    sleep=waits.append)
    send_all(sender, [envelope(row) for row in range(1, 1101)])
    assert [len(call) for call in recording.calls] == [500, 1, 500, 1, 100]
    assert waits == [0.2, 0.2]
    assert (sender.counts.records, sender.counts.unsent_rows) == (1100, 0)
    keys = [key for key, _ in read_stream(kinesis, stream)]
    assert sorted(map(int, keys)) == list(range(1, 1101))


# ----- results -----------------------------------------------------------------------------------


def result(message_id: str, index: int | None = 0, error: bool = False) -> str:
    body: dict[str, Any] = {"id": None, "index": index,
                            "source": {"type": "sqs", "queue": "records", "message_id": message_id},
                            "model": {"name": "sonar_naive_bayes", "version": "v1"}}
    if error:
        body["error"] = {"code": "invalid_input", "message": "expected double"}
    else:
        body["prediction"] = "R"
    return json.dumps(body)


def fill(sqs, url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(index), "MessageBody": body}
                                                      for index, body in enumerate(bodies[start:start + 10])])


def test_results_drains_the_queue_and_drops_duplicates(capsys, sqs, queue, tmp_path):
    name, url = queue
    distinct = [result(f"m{n}", error=n in (3, 7)) for n in range(1, 13)]
    fill(sqs, url, distinct + [distinct[0], distinct[5], distinct[11]])
    out_file = tmp_path / "results.jsonl"
    code, out, err = run(capsys, "results", "--output", out_file, "--queue", name, "--dedupe", "--idle-seconds", "0")
    assert code == 0 and out == ""
    assert one_line(err) == (f"wrote 12 results from queue {name} to {out_file}: 10 predictions, 2 errors; "
                             f"3 duplicates dropped")
    assert sorted(out_file.read_text().splitlines()) == sorted(distinct)  # each body as received
    assert messages_left(sqs, url) == 0


def test_results_without_dedupe_writes_duplicates_and_appends(capsys, sqs, queue, tmp_path):
    name, url = queue
    out_file = tmp_path / "results.jsonl"
    out_file.write_text(result("earlier") + "\n")
    fill(sqs, url, [result("m1", 0), result("m1", 1), result("m1", 0), result("m2", None, error=True)])
    code, _, err = run(capsys, "results", "-o", out_file, "--queue", name, "--idle-seconds", "0")
    assert code == 0
    assert one_line(err) == (f"wrote 4 results (3 distinct) from queue {name} to {out_file}: 3 predictions, "
                             f"1 error; 0 duplicates dropped (1 duplicate written: --dedupe drops them)")
    lines = out_file.read_text().splitlines()
    assert lines[0] == result("earlier") and len(lines) == 5
    assert messages_left(sqs, url) == 0


def test_results_stops_at_expect_and_leaves_the_rest_on_the_queue(capsys, sqs, queue, tmp_path):
    name, url = queue
    bodies = [result(f"m{n}") for n in range(1, 31)]
    fill(sqs, url, bodies)
    out_file = tmp_path / "results.jsonl"
    code, _, err = run(capsys, "results", "-o", out_file, "--queue", name, "--expect", "12")
    assert code == 0
    assert one_line(err) == (f"wrote 12 results from queue {name} to {out_file}: 12 predictions, 0 errors; "
                             f"0 duplicates dropped")
    first = out_file.read_text().splitlines()
    assert len(first) == 12 and len(set(first)) == 12
    assert messages_left(sqs, url) == 18
    # The messages it did not write went back at once, visible to the next run.
    code, _, err = run(capsys, "results", "-o", out_file, "--queue", name, "--expect", "18", "--idle-seconds", "0")
    assert code == 0, err
    assert sorted(out_file.read_text().splitlines()) == sorted(bodies)


def test_results_says_when_fewer_than_expected_arrive(capsys, sqs, queue, tmp_path):
    name, url = queue
    fill(sqs, url, [result("m1"), "not json"])
    code, out, err = run(capsys, "results", "-o", "-", "--queue", name, "--expect", "5", "--idle-seconds", "1")
    assert code == 1
    assert out == result("m1") + "\n"
    warning, summary = err.strip().splitlines()
    assert warning.startswith("pfactl: warning: message ") and warning.endswith(" is not JSON: left on the queue")
    assert summary == (f"wrote 1 result from queue {name} to stdout: 1 prediction, 0 errors; 0 duplicates dropped; "
                       f"1 message not JSON, left on the queue; expected 5 distinct results, got 1 (nothing "
                       f"received for 1 s)")
    assert messages_left(sqs, url) == 1


def test_results_names_a_file_it_cannot_write_and_keeps_the_messages(capsys, sqs, queue, tmp_path):
    name, url = queue
    fill(sqs, url, [result("m1")])
    code, out, err = run(capsys, "results", "-o", tmp_path / "no" / "such" / "out.jsonl", "--queue", name)
    assert code == 1
    assert one_line(err) == f"pfactl: cannot write {tmp_path / 'no' / 'such' / 'out.jsonl'}: No such file or directory"
    assert messages_left(sqs, url) == 1


def test_an_unknown_queue_or_stream_is_one_line(capsys, aws, tmp_path):
    data = write_jsonl(tmp_path / "records.jsonl", [1])
    code, _, err = run(capsys, "send", data, "--queue", "no-such-queue-here")
    assert code == 1 and one_line(err) == f"pfactl: queue no-such-queue-here at {aws.endpoint_url} does not exist"
    code, _, err = run(capsys, "send", data, "--stream", "no-such-stream-here")
    assert code == 1 and one_line(err) == f"pfactl: stream no-such-stream-here at {aws.endpoint_url} does not exist"
    code, _, err = run(capsys, "results", "-o", tmp_path / "out.jsonl", "--queue", "no-such-queue-here")
    assert code == 1 and "does not exist" in one_line(err)
    assert not (tmp_path / "out.jsonl").exists()


# ----- finding the queues and stream of `make run` -------------------------------------------------


@pytest.fixture
def project(monkeypatch, tmp_path, aws):
    """An empty folder to run in, where the environment's SQS and Kinesis endpoints lead nowhere: only the
    endpoint in .local/streams.json reaches the local server."""
    for name in ("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_KINESIS"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def publish_streams(aws, sqs, kinesis_name: str, folder: Path) -> dict[str, Any]:
    queues = {}
    for role in ("records", "results", "dead_letter"):
        name = unique(f"pfactl-{role.replace('_', '-')}")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queues[f"{role}_queue"] = {"name": name, "url": url, "arn": f"arn:aws:sqs:{aws.region}:123456789012:{name}"}
    state = {"endpoint_url": aws.endpoint_url, "region": aws.region, **queues,
             "stream": {"name": kinesis_name, "arn": f"arn:aws:kinesis:{aws.region}:123456789012:stream/x"}}
    (folder / LOCAL_STREAMS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (folder / LOCAL_STREAMS_FILE).write_text(json.dumps(state))
    return state


def test_send_and_results_find_the_local_queues_and_stream(capsys, aws, sqs, kinesis, stream, project,
                                                           monkeypatch):
    state = publish_streams(aws, sqs, stream, project)
    records, results = state["records_queue"], state["results_queue"]
    data = write_jsonl(project / "records.jsonl", [{"x": 1}, {"x": 2}])
    (project / "sub" / "dir").mkdir(parents=True)
    monkeypatch.chdir(project / "sub" / "dir")

    code, out, err = run(capsys, "send", data, "--queue")
    assert code == 0, err
    assert out == f"sent 2 records in 2 messages to queue {records['name']}; 0 rows not sent\n"
    assert sorted(body["id"] for body in drain_queue(sqs, records["url"])) == [1, 2]

    code, out, err = run(capsys, "send", data, "--stream", "--records-per-message", "2")
    assert code == 0, err
    assert out == f"sent 2 records in 1 message to stream {stream}; 0 rows not sent\n"
    assert read_stream(kinesis, stream) == [("1", {"id": 1, "records": [{"x": 1}, {"x": 2}]})]

    fill(sqs, results["url"], [result("m1"), result("m2")])
    code, _, err = run(capsys, "results", "-o", project / "out.jsonl", "--expect", "2")
    assert code == 0, err
    assert one_line(err).startswith(f"wrote 2 results from queue {results['name']} to ")
    assert len((project / "out.jsonl").read_text().splitlines()) == 2


def test_without_a_target_the_error_says_what_to_pass(capsys, project):
    data = write_jsonl(project / "records.jsonl", [1])
    code, _, err = run(capsys, "send", data, "--queue")
    assert code == 1
    assert one_line(err) == ("pfactl: no records queue given and no .local/streams.json found (`make run` writes "
                             "it): pass --queue URL_OR_NAME, or run in the project folder while `make run` runs")
    code, _, err = run(capsys, "send", data, "--stream")
    assert code == 1 and "no stream given" in one_line(err) and "pass --stream NAME" in err
    code, _, err = run(capsys, "results", "-o", project / "out.jsonl")
    assert code == 1 and "no results queue given" in one_line(err) and "pass --queue URL_OR_NAME" in err
    assert not (project / "out.jsonl").exists()
    code, _, err = run(capsys, "send", data)
    assert code == 2
    assert one_line(err) == ("pfactl send: error: one of the arguments --queue --stream is required "
                             "(see pfactl send --help)")


@pytest.mark.parametrize("content, message", [
    ("", "is empty; expected the local queues and stream `make run` writes"),
    ("[", "is not valid JSON"),
    ('{"region": "us-east-1"}', "lacks endpoint_url; expected the local queues and stream `make run` writes"),
    ('{"endpoint_url": "http://127.0.0.1:1", "region": "us-east-1"}', "names no records queue"),
])
def test_a_damaged_local_file_is_named(capsys, project, content, message):
    (project / LOCAL_STREAMS_FILE).parent.mkdir(parents=True)
    (project / LOCAL_STREAMS_FILE).write_text(content)
    data = write_jsonl(project / "records.jsonl", [1])
    code, _, err = run(capsys, "send", data, "--queue")
    assert code == 1
    assert one_line(err).startswith(f"pfactl: {project / LOCAL_STREAMS_FILE} {message}")


def test_a_local_file_left_by_a_finished_make_run_is_not_used(capsys, aws, sqs, stream, project):
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    state = publish_streams(aws, sqs, stream, project)
    (project / LOCAL_STREAMS_FILE).write_text(json.dumps({**state, "pid": finished.pid}))
    data = write_jsonl(project / "records.jsonl", [1])
    code, _, err = run(capsys, "send", data, "--stream")
    assert code == 1
    assert one_line(err) == (f"pfactl: {project / LOCAL_STREAMS_FILE} was left by a `make run` that no longer runs: "
                             f"run `make run` again, or pass --stream NAME")
