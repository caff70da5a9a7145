"""The commands that work on local files: export, validate, score, compile."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from pathlib import Path
from typing import IO, Any, TextIO

from chalicelib.avro_schema import describe
from chalicelib.compiler.choice import AUTO, COMPILED, TITUS

from .errors import PfactlError
from .input_files import display_name, load_joblib, open_data
from .inspect import DEFAULT_TIMEOUT_MS, compiled_source, engine_line, engine_preference, load_model, report
from .scoring import Summary, input_format, score_stream

YAML_SUFFIXES = (".yaml", ".yml")


def run_validate(args: argparse.Namespace) -> int:
    loaded = load_model(Path(args.model), engine=engine_preference(args.engine))
    print("\n".join(report(loaded)))
    return 0


def run_compile(args: argparse.Namespace) -> int:
    path = Path(args.model)
    # Without --check only titus loads it, as the service would but for the engine check: the source is
    # written whatever that check would say.
    loaded = load_model(path, engine=AUTO if args.check else TITUS)
    source = compiled_source(loaded).source
    sys.stdout.write(source if source.endswith("\n") else source + "\n")
    sys.stdout.flush()
    if args.check:
        choice = loaded.served.model.engine
        if choice.name != COMPILED:
            raise PfactlError(f"{path} fails the check: {choice.reason}; the service would serve it with titus")
        print(f"engine: {engine_line(choice)}", file=sys.stderr)
    return 0


def run_score(args: argparse.Namespace) -> int:
    fmt = input_format(args.input, args.format)
    engine = engine_preference(args.engine)
    served = load_model(Path(args.model), timeout_ms=args.timeout_ms or DEFAULT_TIMEOUT_MS, engine=engine).served
    choice = served.model.engine
    if engine == AUTO and choice.name == TITUS:
        print(f"pfactl: scoring with titus, not the compiled engine: {choice.reason}", file=sys.stderr)
    with open_data(args.input, fmt) as source:
        if args.output in (None, "-"):
            summary = _score_into(served, source, args, fmt, sys.stdout)
            sys.stdout.flush()
        else:
            summary = _score_to_file(served, source, args, fmt, Path(args.output))
    where = "" if args.output in (None, "-") else f" -> {args.output}"
    print(summary.line() + where, file=sys.stderr)
    return 0


def _score_to_file(served: Any, source: IO[bytes], args: argparse.Namespace, fmt: str, path: Path) -> Summary:
    try:
        output = open(path, "w", encoding="utf-8", newline="\n")
    except OSError as error:
        raise PfactlError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with output:
            return _score_into(served, source, args, fmt, output)
    except PfactlError:  # the input cannot be scored at all: leave no empty output behind
        path.unlink(missing_ok=True)
        raise


def _score_into(served: Any, source: IO[bytes], args: argparse.Namespace, fmt: str, output: TextIO) -> Summary:
    # A bar redrawn between result lines on the same terminal would garble both: only --progress asks for that.
    results_on_terminal = output is sys.stdout and sys.stdout.isatty()
    return score_stream(served, source, fmt, output, stderr=sys.stderr,
                        progress=sys.stderr.isatty() and not results_on_terminal, force_progress=args.progress,
                        name=display_name(args.input))


def run_export(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if args.yaml and not output.name.lower().endswith(YAML_SUFFIXES):
        raise PfactlError(f"YAML output must be named *.yaml or *.yml (the service reads other names as JSON), "
                          f"got {output}")
    if not args.yaml and output.name.lower().endswith(YAML_SUFFIXES):
        raise PfactlError(f"{output} would be read as YAML by the service: pass --yaml, or name it *.pfa or *.json")
    exporter = _exporter()
    estimator = load_joblib(Path(args.estimator), _warn)
    features = [name.strip() for name in args.features.split(",")] if args.features else None
    if features is not None and (not all(features) or len(set(features)) != len(features)):
        raise PfactlError(f"--features must be distinct, non-empty names separated by commas, got {args.features!r}")
    try:
        document = exporter.to_pfa(estimator, feature_names=features, name=args.name,
                                   output="proba" if args.proba else "label")
    except exporter.ExportError as error:
        raise PfactlError(f"cannot export {args.estimator}: {error}") from None
    data = _serialise(document, args.yaml)
    # An exported document that would not serve is an exporter bug: say so rather than write it.
    loaded = load_model(output, data=data)
    _write_atomically(output, data)
    model = loaded.served.model
    print(f"wrote {output} ({len(data):,} bytes): input {describe(model.input_schema)}, "
          f"output {describe(model.output_schema)}")
    return 0


class _Exporter:
    def __init__(self, to_pfa: Any, export_error: Any) -> None:
        self.to_pfa = to_pfa
        self.ExportError = export_error


def _exporter() -> _Exporter:
    try:
        package = importlib.import_module("pfactl.export")
        builder = importlib.import_module("pfactl.export.builder")
        return _Exporter(package.to_pfa, builder.ExportError)
    except (ImportError, AttributeError) as error:
        raise PfactlError(f"the scikit-learn exporter is not available: {error}; run `make venv`") from None


def _warn(message: str) -> None:
    print(f"pfactl: warning: {message}", file=sys.stderr)


def _serialise(document: Any, as_yaml: bool) -> bytes:
    try:
        if as_yaml:
            import yaml

            return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")
        return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except Exception as error:  # TypeError, ValueError, yaml.representer.RepresenterError
        raise PfactlError(f"the exporter returned a document that is not plain JSON data: "
                          f"{type(error).__name__}: {error}") from None


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise PfactlError(f"cannot write {path}: {error.strerror or error}") from None
