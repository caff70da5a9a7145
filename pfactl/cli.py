"""pfactl's command line: the parser and main(). The commands live in local_commands and bucket_commands."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Any, Callable, List, NoReturn, Optional

from chalicelib.settings import ENGINE_CHOICES, PFA_ENGINE

from . import bucket_commands, local_commands
from .errors import PfactlError
from .scoring import FORMATS
from .version import package_version

DEBUG_ENV = "PFACTL_DEBUG"  # set to 1 for a traceback on unexpected errors

_S3_HELP = ("S3: bucket from --bucket or MODEL_BUCKET, prefix from MODELS_PREFIX (default models/); boto3's usual "
            "settings (AWS_ENDPOINT_URL_S3, credentials). With neither AWS_ENDPOINT_URL_S3 nor MODEL_BUCKET set, "
            "the local S3 of a running `make run` (found through .local/s3.json).")


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
