"""The commands that replay an ingest through the queue and stream handlers: send (a file to the records queue
or stream) and results (the results queue to a file)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import IO, Any, Callable, Optional, TextIO

from chalicelib.compiler.choice import TITUS
from chalicelib.errors import InvalidModelName
from chalicelib.model_names import check_model_name, model_key
from chalicelib.served_model import ServedModel

from .csv_rows import RowConverter, renamed_features, row_converter
from .envelopes import ConverterFactory, Row, RowReader, envelopes
from .errors import PfactlError
from .input_files import display_name, open_data
from .inspect import load_model
from .model_bucket import ModelBucket
from .progress import Progress
from .results_drain import DrainCounts, ResultsDrain
from .s3_target import default_model_key, resolve_target
from .scoring import input_format
from .stream_senders import Destination, KinesisStream, Sender, SqsQueue
from .streams_target import QUEUE, RECORDS, RESULTS, Target, resolve_queue, resolve_stream

MAX_RECORDS_PER_MESSAGE = 1000  # the service's MAX_BATCH_RECORDS default


def run_send(args: argparse.Namespace) -> int:
    fmt = input_format(args.data, args.format)
    per_message = args.records_per_message
    if args.id_column is not None and per_message > 1:
        raise PfactlError("--id-column needs one record a message: an envelope of several records has one id "
                          "(drop --records-per-message, or --id-column)")
    if per_message > MAX_RECORDS_PER_MESSAGE:
        raise PfactlError(f"--records-per-message must be at most {MAX_RECORDS_PER_MESSAGE} (the service's "
                          f"MAX_BATCH_RECORDS), got {per_message}")
    model = _model_name(args.model)
    env, cwd = os.environ, Path.cwd()
    with open_data(args.data, fmt) as source:
        target = resolve_stream(args.stream, env, cwd) if args.stream is not None else \
            resolve_queue(args.queue, RECORDS, env, cwd)
        converter_for = _csv_converter(_input_model(args, model)) if fmt == "csv" else None
        client = target.client()
        destination: Destination = SqsQueue(client, target.queue_url(client), target) \
            if target.kind == QUEUE else KinesisStream(client, target)
        sender, not_sent = _send(source, args, fmt, converter_for, destination, model)
    counts = sender.counts
    print(f"sent {_count(counts.records, 'record')} in {_count(counts.messages, 'message')} to "
          f"{target.describe()}; {_count(not_sent + counts.unsent_rows, 'row')} not sent")
    return 1 if counts.unsent_rows else 0


def _send(source: IO[bytes], args: argparse.Namespace, fmt: str, converter_for: Optional[ConverterFactory],
          destination: Destination, model: Optional[str]) -> tuple[Sender, int]:
    """Send every row of ``source``; the sender (with its counts) and the number of rows that were bad."""
    bar = Progress(sys.stderr, _size(source), enabled=sys.stderr.isatty(), forced=args.progress,
                   labels=("rows", "not sent"))

    def say(line: str) -> None:
        bar.write(f"pfactl: {line}")

    reader = RowReader(source, fmt, name=display_name(args.data), warn=lambda message: say(f"warning: {message}"),
                       converter_for=converter_for, id_column=args.id_column, drop=args.drop)
    sender = Sender(destination, report=say)
    bad = 0

    def on_bad_row(row: Row) -> None:
        nonlocal bad
        bad += 1
        say(f"row {row.number} not sent: {row.problem}")

    try:
        for envelope in envelopes(reader.rows(), args.records_per_message, model, on_bad_row):
            sender.add(envelope)
            bar.update(reader.bytes_read, reader.rows_read, bad + sender.counts.unsent_rows)
        sender.flush()
    except PfactlError as error:
        if sender.counts.messages:
            raise PfactlError(f"{error} (after sending {_count(sender.counts.records, 'record')} in "
                              f"{_count(sender.counts.messages, 'message')})", error.exit_code) from None
        raise
    finally:
        bar.finish(reader.bytes_read, reader.rows_read, bad + sender.counts.unsent_rows)
    return sender, bad


def _model_name(raw: Optional[str]) -> Optional[str]:
    if raw is None:
        return None
    try:
        return check_model_name(raw)
    except InvalidModelName as error:
        raise PfactlError(error.message) from None


def _input_model(args: argparse.Namespace, model: Optional[str]) -> ServedModel:
    """The model whose input type converts CSV cells: --document, else fetched from the bucket."""
    if args.document is not None:
        return load_model(Path(args.document), engine=TITUS).served
    needed = "CSV cells are converted by the model's input type: pass --document MODEL.pfa"
    try:
        s3 = resolve_target(args.bucket, os.environ, Path.cwd())
    except PfactlError as error:
        raise PfactlError(f"{needed}, or let pfactl fetch the model from S3: {error}") from None
    key = model_key(s3.prefix, model) if model is not None else default_model_key(os.environ, Path.cwd())
    if key is None:
        raise PfactlError(f"{needed} or --model NAME: no default model (MODEL_KEY is not set, and no "
                          f".chalice/config.json names one)")
    document = ModelBucket(s3.client(), s3.bucket, s3.prefix, s3.endpoint).read_latest(key)
    return load_model(Path(key), data=document, key=key, engine=TITUS).served


def _csv_converter(served: ServedModel) -> ConverterFactory:
    def plan(header: list[str], warn: Callable[[str], None]) -> RowConverter:
        return row_converter(header, served.model.input_schema, served.input_keys, warn,
                             renamed_features(served.model.metadata))
    return plan


def run_results(args: argparse.Namespace) -> int:
    target = resolve_queue(args.queue, RESULTS, os.environ, Path.cwd())
    sqs = target.client()
    url = target.queue_url(sqs)
    to_stdout = args.output == "-"
    output = sys.stdout if to_stdout else _open_for_append(Path(args.output))
    try:
        drain = _drain(sqs, url, target, output, args, to_stdout)
    finally:
        if not to_stdout:
            output.close()
    counts = drain.counts
    where = "stdout" if to_stdout else args.output
    line = (f"wrote {_count(counts.written, 'result')}"
            + (f" ({counts.distinct:,} distinct)" if counts.distinct != counts.written else "")
            + f" from {target.describe()} to {where}: {_count(counts.predictions, 'prediction')}, "
              f"{_count(counts.errors, 'error')}; {_count(counts.dropped, 'duplicate')} dropped")
    if counts.duplicates > counts.dropped:
        line += f" ({_count(counts.duplicates - counts.dropped, 'duplicate')} written: --dedupe drops them)"
    if counts.not_json:
        line += f"; {_count(counts.not_json, 'message')} not JSON, left on the queue"
    missing = args.expect is not None and counts.distinct < args.expect
    if missing:
        line += (f"; expected {args.expect:,} distinct results, got {counts.distinct:,} (nothing received for "
                 f"{args.idle_seconds:g} s)")
    print(line, file=sys.stderr)
    return 1 if missing or counts.undeleted else 0


def _drain(sqs: Any, url: str, target: Target, output: TextIO, args: argparse.Namespace,
           to_stdout: bool) -> ResultsDrain:
    # A bar redrawn between result lines on the same terminal would garble both: only --progress asks for that.
    shown = sys.stderr.isatty() and not (to_stdout and sys.stdout.isatty())
    bar = Progress(sys.stderr, args.expect, enabled=shown, forced=args.progress, unit=" results",
                   labels=("predictions", "errors"))

    def sync() -> None:
        output.flush()
        if not to_stdout:
            os.fsync(output.fileno())

    def progress(counts: DrainCounts) -> None:
        bar.update(counts.distinct, counts.predictions, counts.errors)

    drain = ResultsDrain(sqs, url, target, output, sync=sync,
                         warn=lambda message: bar.write(f"pfactl: warning: {message}"), on_progress=progress,
                         expect=args.expect, idle_seconds=args.idle_seconds, dedupe=args.dedupe)
    try:
        drain.run()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise PfactlError(f"cannot write {display_name(args.output)}: {error.strerror or error} (the messages "
                          f"not written are still on the queue)") from None
    finally:
        bar.finish(drain.counts.distinct, drain.counts.predictions, drain.counts.errors)
    return drain


def _open_for_append(path: Path) -> TextIO:
    """Append, never truncate: an earlier run's lines may be the only copy of results it deleted."""
    try:
        return open(path, "a", encoding="utf-8", newline="\n")
    except OSError as error:
        raise PfactlError(f"cannot write {path}: {error.strerror or error}") from None


def _size(source: IO[bytes]) -> Optional[int]:
    info = os.fstat(source.fileno())
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _count(number: int, thing: str) -> str:
    return f"{number:,} {thing}{'' if number == 1 else 's'}"
