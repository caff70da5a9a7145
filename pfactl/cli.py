"""pfactl's command line: the parser and main(). The commands live in local_commands, bucket_commands and
stream_commands."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any, Callable, List, NoReturn, Optional

from chalicelib.settings import ENGINE_CHOICES, PFA_ENGINE

from . import bucket_commands, local_commands, stream_commands
from .errors import PfactlError
from .scoring import FORMATS
from .streams_target import FROM_LOCAL_FILE
from .version import package_version

DEBUG_ENV = "PFACTL_DEBUG"  # set to 1 for a traceback on unexpected errors

_S3_HELP = ("S3: bucket from --bucket or MODEL_BUCKET, prefix from MODELS_PREFIX (default models/); boto3's usual "
            "settings (AWS_ENDPOINT_URL_S3, credentials). With neither AWS_ENDPOINT_URL_S3 nor MODEL_BUCKET set, "
            "the local S3 of a running `make run` (found through .local/s3.json).")

_STREAMS_HELP = ("Queues and streams: a --queue URL_OR_NAME or --stream NAME is reached with boto3's usual settings "
                 "(AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_KINESIS, credentials, AWS_REGION). Named without a "
                 "value (`pfactl results`: or not at all), it is the local one of a running `make run` (found "
                 "through .local/streams.json, in the project folder).")
_SEND_IDS = ("Each envelope's id is the number of the row of its first record (1 is the first record after the CSV "
             "header, or the first JSON line; blank lines are not rows: the numbers of `pfactl score`'s output "
             "lines), so the row of a result is its id + index; an envelope holds consecutive rows only. With "
             "--id-column the id is that column's value (a CSV id is sent as its text).")


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr, exit code 2.

    ``epilog_from`` computes the epilog only when the help is shown, so that building the parser (every
    command) does not import what only one command's help describes.
    """

    def __init__(self, *args: Any, epilog_from: Optional[Callable[[], str]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._epilog_from = epilog_from

    def format_help(self) -> str:
        if self._epilog_from is not None:
            self.epilog, self._epilog_from = self._epilog_from(), None
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pfactl", description="Export, check, compile, score locally and publish PFA models.",
                     epilog=_S3_HELP)
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    export = commands.add_parser("export", help="turn a fitted scikit-learn model (joblib file) into PFA",
                                 description="Load a fitted scikit-learn estimator with joblib (only load files "
                                             "you trust: joblib runs pickled code) and write it as PFA.",
                                 epilog_from=_export_epilog)
    export.add_argument("estimator", metavar="MODEL.joblib")
    export.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the PFA document to write (JSON; *.yaml with --yaml)")
    export.add_argument("--yaml", action="store_true", help="write YAML instead of JSON")
    export.add_argument("--features", metavar="A,B,C", help="feature names, in the estimator's column order")
    export.add_argument("--name", help="the document's name")
    export.add_argument("--proba", action="store_true",
                        help="output class probabilities (a map of label to probability) instead of the label")
    export.set_defaults(run=local_commands.run_export)

    validate = commands.add_parser("validate", help="check that a PFA document would serve, and describe it",
                                   description="Compile a PFA document exactly as the service does (JSON, or "
                                               "YAML by a .yaml/.yml suffix) and show its types, its functions "
                                               "and which engine would serve it, and why.")
    validate.add_argument("model", metavar="MODEL.pfa")
    _engine_option(validate)
    validate.set_defaults(run=local_commands.run_validate)

    compiled = commands.add_parser("compile", help="print the Python the compiled engine runs for a document",
                                   description="Check that a PFA document would serve (as validate does) and "
                                               "write the Python source the compiled engine generates for it to "
                                               "stdout. A document the compiler does not cover is refused with "
                                               "the reason; the service serves it with titus.")
    compiled.add_argument("model", metavar="MODEL.pfa")
    compiled.add_argument("--check", action="store_true",
                          help="also run the service's load-time check (the compiled engine against titus on the "
                               "example request and generated inputs) and say on stderr which engine would serve "
                               "and why; fails if the compiled engine would not")
    compiled.set_defaults(run=local_commands.run_compile)

    score = commands.add_parser("score", help="score a CSV or JSON-lines file locally",
                                description="Score every row with the service's engine and validation: one "
                                            "JSON line per input row, {\"prediction\": ...} or {\"error\": ...}. "
                                            "With --engine auto, a document the compiled engine would not serve "
                                            "is scored with titus, and stderr says why.")
    score.add_argument("model", metavar="MODEL.pfa")
    score.add_argument("--input", "-i", required=True, metavar="DATA",
                       help="a .csv file (with a header), a .jsonl file (one JSON record a line), or - for stdin")
    score.add_argument("--format", choices=FORMATS, help="the input's format (default: from its suffix)")
    score.add_argument("-o", "--output", metavar="OUT.jsonl", help="where to write the results (default: stdout)")
    score.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    score.add_argument("--timeout-ms", type=_positive_int, metavar="MS",
                       help=f"longest one row may run (default {local_commands.DEFAULT_TIMEOUT_MS}, as the service)")
    _engine_option(score)
    score.set_defaults(run=local_commands.run_score)

    upload = commands.add_parser("upload", help="validate a document and publish it as a named model",
                                 description="Validate, convert YAML to JSON, and upload to "
                                             "s3://BUCKET/PREFIX<name>.pfa as a new version (turns bucket "
                                             "versioning on if it is off).", epilog=_S3_HELP)
    upload.add_argument("model", metavar="MODEL.pfa")
    upload.add_argument("--name", required=True, help="the model's name: 1-64 letters, digits, _ or -")
    _bucket_option(upload, run=bucket_commands.run_upload)

    listing = commands.add_parser("list", help="list the named models", epilog=_S3_HELP)
    _bucket_option(listing, run=bucket_commands.run_list)

    versions = commands.add_parser("versions", help="list a model's versions, newest first", epilog=_S3_HELP)
    versions.add_argument("name")
    _bucket_option(versions, run=bucket_commands.run_versions)

    rollback = commands.add_parser("rollback", help="make an older version the latest again",
                                   description="Copy an older version on top (server side): it becomes the "
                                               "latest, and the history keeps every version. A version that "
                                               "would not serve is refused.", epilog=_S3_HELP)
    rollback.add_argument("name")
    rollback.add_argument("--to", metavar="VERSION", help="the version id to restore (default: the one before "
                                                          "the latest)")
    _bucket_option(rollback, run=bucket_commands.run_rollback)

    delete = commands.add_parser("delete", help="delete a model (its versions stay, behind a delete marker)",
                                 epilog=_S3_HELP)
    delete.add_argument("name")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _bucket_option(delete, run=bucket_commands.run_delete)

    send = commands.add_parser("send", help="send a CSV or JSON-lines file to the records queue or stream",
                               usage="%(prog)s DATA (--queue [URL_OR_NAME] | --stream [NAME]) [options]",
                               description="Send every row to the records queue (SQS) or stream (Kinesis) the "
                                           "service scores from, in envelopes: {\"id\": ID, \"model\": NAME, "
                                           "\"record\": ...}, one record a message unless --records-per-message "
                                           "says more (then \"records\": [...]). CSV cells are converted by the "
                                           "model's input type, as `pfactl score` does. A row that cannot be read "
                                           "or converted is reported on stderr with its number and not sent. "
                                           + _SEND_IDS, epilog=_STREAMS_HELP + " " + _S3_HELP)
    send.add_argument("data", metavar="DATA",
                      help="a .csv file (with a header), a .jsonl file (one JSON record a line), or - for stdin")
    destination = send.add_mutually_exclusive_group(required=True)
    destination.add_argument("--queue", nargs="?", const=FROM_LOCAL_FILE, metavar="URL_OR_NAME",
                             help="send to this SQS queue (without a value: the records queue of `make run`)")
    destination.add_argument("--stream", nargs="?", const=FROM_LOCAL_FILE, metavar="NAME",
                             help="put to this Kinesis stream, partition key the id (without a value: the stream of "
                                  "`make run`)")
    send.add_argument("--format", choices=FORMATS, help="the input's format (default: from its suffix; stdin: jsonl)")
    send.add_argument("--model", metavar="NAME",
                      help="the model to score with, named in every envelope (default: none named, so the "
                           "service's default model)")
    send.add_argument("--document", metavar="MODEL.pfa",
                      help="CSV: the model document whose input type converts the cells (default: the --model, "
                           "else the default model, fetched from S3)")
    send.add_argument("--bucket", help="the S3 bucket to fetch that model from (default: MODEL_BUCKET, or the "
                                       "local S3's)")
    send.add_argument("--records-per-message", type=_positive_int, default=1, metavar="N",
                      help=f"records in one envelope (default 1; at most {stream_commands.MAX_RECORDS_PER_MESSAGE})")
    send.add_argument("--id-column", metavar="COL",
                      help="take each envelope's id from this CSV column or JSON field, which is then not sent "
                           "(only with one record a message)")
    send.add_argument("--drop", action="append", default=[], metavar="COL",
                      help="a CSV column (JSON field) not to send, such as a label; repeatable. Columns a model "
                           "with named inputs does not take are left out anyway, with a warning")
    send.add_argument("--progress", action="store_true", help="show a progress bar even when stderr is not a terminal")
    send.set_defaults(run=stream_commands.run_send)

    results = commands.add_parser("results", help="drain the results queue into a JSON-lines file",
                                  description="Receive the results queue's messages (10 at a time) and append "
                                              "each body, as received, to a JSON-lines file, deleting a message "
                                              "only once its line is written and flushed. Stops once --expect "
                                              "distinct results are written, or when nothing has arrived for "
                                              "--idle-seconds. A result is identified by its source's message_id "
                                              "(or sequence_number) and its index.", epilog=_STREAMS_HELP)
    results.add_argument("-o", "--output", required=True, metavar="OUT.jsonl",
                         help="the file to append the results to (created if missing), or - for stdout")
    results.add_argument("--queue", nargs="?", const=FROM_LOCAL_FILE, metavar="URL_OR_NAME",
                         help="the SQS queue to drain (default: the results queue of `make run`)")
    results.add_argument("--expect", type=_positive_int, metavar="N",
                         help="stop once N distinct results are written (exit status 1 if fewer arrive)")
    results.add_argument("--idle-seconds", type=_seconds, default=10.0, metavar="S",
                         help="stop after S seconds with nothing received (default 10)")
    results.add_argument("--dedupe", action="store_true",
                         help="delete a result already written (same source message and index) without writing it "
                              "again; the summary counts them")
    results.add_argument("--progress", action="store_true",
                         help="show a progress bar even when stderr is not a terminal")
    results.set_defaults(run=stream_commands.run_results)
    return parser


def _export_epilog() -> str:
    """What `pfactl export` supports, from the exporter's own registry."""
    try:
        from .export import supported_estimators, supported_steps
    except ImportError as error:
        return f"The scikit-learn exporter is not available here: {error}."
    return (f"Supported estimators: {', '.join(supported_estimators())}. Preprocessing steps, in a Pipeline "
            f"in front of one: {', '.join(supported_steps())}.")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected a number of seconds from 0 to 3600, got {text!r}")
    return value


def _engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=ENGINE_CHOICES,
                        help=f"which engine may serve, as the service's {PFA_ENGINE}: auto (compiled where it "
                             f"gives titus's answers), compiled (or fail) or titus (default: {PFA_ENGINE}, else "
                             f"auto)")


def _bucket_option(parser: argparse.ArgumentParser, run: object) -> None:
    parser.add_argument("--bucket", help="the S3 bucket (default: MODEL_BUCKET, or the local S3's)")
    parser.set_defaults(run=run)


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command; returns the exit status. Failures are one line on stderr."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already printed
        return done.code if isinstance(done.code, int) else 2
    try:
        return int(args.run(args))
    except PfactlError as error:
        if str(error):
            print(f"pfactl: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\npfactl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except Exception as error:  # a bug: still one line, unless asked for the traceback
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        print(f"pfactl: unexpected error: {type(error).__name__}: {' '.join(str(error).split())} "
              f"(set {DEBUG_ENV}=1 for a traceback)", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """After the reader of stdout went away, keep Python's final flush from complaining."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
