"""Would a PFA document serve? Compile it exactly as the service does and describe it.

:func:`load_model` is the one way pfactl turns a file into a servable model (validate, score, upload,
export all use it): :func:`chalicelib.served_model.compile_served`, JSON or YAML by the file's suffix,
with the engine the service's ``PFA_ENGINE`` would choose (:func:`engine_preference`, :func:`engine_line`).
:func:`compiled_source` is the compiled engine's Python for a document (`pfactl compile`).
:func:`functions_used` walks the document for the PFA library and user functions it calls.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

from chalicelib.compiler import CompiledDocument
from chalicelib.compiler.choice import AUTO, EngineChoice, compiled_or_reason
from chalicelib.documents import parse_document
from chalicelib.errors import ModelLoadError
from chalicelib.served_model import ServedModel, compile_served
from chalicelib.settings import ENGINE_CHOICES, PFA_ENGINE, Settings

from .errors import PfactlError
from .input_files import PFA_DOCUMENT, read_document

# What the service loads at most, unless a stage sets MAX_MODEL_BYTES (none does).
MAX_MODEL_BYTES = Settings(model_bucket="-", model_key="-").max_model_bytes
DEFAULT_TIMEOUT_MS = Settings(model_bucket="-", model_key="-").model_timeout_ms

# Keys titus reads as special forms, never as function names (titus/reader.py, _readExpression).
RESERVED_KEYS = frozenset([
    "args", "as", "attr", "base64", "call", "cases", "cast", "cell", "code", "cond", "do", "doc", "double", "else",
    "error", "fcn", "fill", "filter", "float", "for", "foreach", "forkey", "format", "forval", "if", "ifnotnull",
    "in", "init", "int", "let", "log", "long", "namespace", "new", "pack", "params", "partial", "path", "pool",
    "ret", "seq", "set", "step", "string", "then", "to", "try", "type", "unpack", "until", "upcast", "value",
    "while"])
# Keys of special forms whose values are not expressions (names, types, literals, flags).
_NOT_EXPRESSIONS = frozenset([
    "int", "long", "float", "double", "string", "base64", "type", "value", "foreach", "forkey", "forval", "cell",
    "pool", "seq", "partial", "doc", "error", "code", "namespace", "params", "ret", "as", "filter", "format"])
# Keys whose value maps names to expressions.
_EXPRESSION_MAPS = frozenset(["let", "set", "for", "step", "ifnotnull", "fill", "new"])
# A form is named by the first of its keys found here; literals ({"int": 1}, {"type", "value"}) are not listed.
_FORM_NAMES = ["let", "set", "for", "foreach", "forkey", "if", "cond", "while", "until", "cast", "upcast",
               "ifnotnull", "new", "attr", "cell", "pool", "pack", "unpack", "doc", "error", "try", "log", "fcn",
               "call", "do"]


class NotServable(PfactlError):
    """The document would not serve; ``reason`` is the service's one-line reason."""

    def __init__(self, what: object, reason: str, message: Optional[str] = None) -> None:
        super().__init__(message or f"{what} would not serve: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    data: bytes
    served: ServedModel
    compile_ms: float


@dataclass
class FunctionsUsed:
    library: Set[str] = field(default_factory=set)
    user: Set[str] = field(default_factory=set)
    forms: Set[str] = field(default_factory=set)


def engine_preference(given: Optional[str]) -> str:
    """Which engine may serve: ``--engine`` if given, else ``PFA_ENGINE`` from the environment, else auto."""
    if given:
        return given
    raw = os.environ.get(PFA_ENGINE, "")
    value = raw.strip().lower() or AUTO
    if value not in ENGINE_CHOICES:
        raise PfactlError(f"{PFA_ENGINE} must be one of {', '.join(ENGINE_CHOICES)}, got {raw!r} (or pass --engine)")
    return value


def engine_line(choice: EngineChoice) -> str:
    """The engine that serves and why, in one phrase: ``compiled, because it agreed with titus on ...``."""
    return f"{choice.name}, because {choice.reason}"


def load_model(path: Path, timeout_ms: Optional[int] = None, data: Optional[bytes] = None,
               key: Optional[str] = None, engine: str = AUTO) -> LoadedFile:
    """Compile ``path`` (or ``data`` as if stored at ``key``) as the service would with ``PFA_ENGINE=engine``.

    Raises :class:`NotServable` with the service's reason if it would not serve.
    """
    if data is None:
        data = read_document(path)
    if not data.strip():  # from S3 or an exporter; the parser's "Expecting value" says nothing useful
        raise NotServable(path, f"it is empty; expected {PFA_DOCUMENT}",
                          message=f"{path} is empty; expected {PFA_DOCUMENT}")
    if len(data) > MAX_MODEL_BYTES:
        raise NotServable(path, f"it is {len(data)} bytes, over the service's MAX_MODEL_BYTES ({MAX_MODEL_BYTES})")
    started = time.perf_counter()
    try:
        served = compile_served(data, key or path.name, timeout_ms=timeout_ms, engine=engine)
    except ModelLoadError as error:
        raise NotServable(path, str(error)) from None
    return LoadedFile(path, data, served, (time.perf_counter() - started) * 1000)


def compiled_source(loaded: LoadedFile) -> CompiledDocument:
    """The compiled engine's module for a document that would serve; a document the compiler does not
    cover is a PfactlError naming the reason (the service serves it with titus)."""
    chosen = loaded.served.model.engine.compiled
    if chosen is not None:
        return chosen
    compiled = compiled_or_reason(parse_document(loaded.data, loaded.path.name))
    if isinstance(compiled, str):
        raise PfactlError(f"cannot compile {loaded.path}: {compiled} (the service serves it with titus)")
    return compiled


def as_json_document(path: Path, data: bytes) -> bytes:
    """The document as JSON bytes (what the bucket stores): JSON as is, YAML converted."""
    if not path.name.lower().endswith((".yaml", ".yml")):
        return data
    try:
        document = parse_document(data, path.name)
        return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
    except ModelLoadError as error:
        raise NotServable(path, str(error)) from None
    except (TypeError, ValueError) as error:
        raise PfactlError(f"{path} has YAML values that JSON cannot hold: {error}") from None


def report(loaded: LoadedFile) -> List[str]:
    """The lines `pfactl validate` prints for a document that would serve."""
    served = loaded.served
    model = served.model
    used = functions_used(parse_document(loaded.data, loaded.path.name))
    rows = [("input", _compact(model.input_schema)), ("output", _compact(model.output_schema))]
    if served.input_keys:
        rows.append(("input keys", f"{len(served.input_keys)} (metadata.input_keys)"))
    rows.append(("engine", engine_line(model.engine)))
    rows += [("functions", _names(used.library)), ("user functions", _names(used.user)),
             ("special forms", _names(used.forms)), ("size", f"{len(loaded.data):,} bytes"),
             ("compile time", f"{loaded.compile_ms:.0f} ms")]
    title = f"OK: {loaded.path} would serve (name {model.name or '-'}, method {model.method})"
    return [title] + [f"  {label:<15} {value}" for label, value in rows]


def functions_used(document: Dict[str, Any]) -> FunctionsUsed:
    """Library functions (``a.map``, ``+``), user functions (``u.f``) and special forms the document uses."""
    used = FunctionsUsed()
    for part in ("begin", "action", "end", "merge"):
        _walk(document.get(part), used)
    fcns = document.get("fcns")
    if isinstance(fcns, dict):
        for definition in fcns.values():
            if isinstance(definition, dict):
                _walk(definition.get("do"), used)
    return used


def _walk(expression: Any, used: FunctionsUsed) -> None:
    if isinstance(expression, list):
        for item in expression:
            _walk(item, used)
        return
    if not isinstance(expression, dict):
        return
    keys = [key for key in expression if key != "@"]
    if len(keys) == 1 and keys[0] not in RESERVED_KEYS:
        _called(keys[0], used)
        _walk(expression[keys[0]], used)
        return
    if {"params", "ret", "do"} <= set(keys):
        used.forms.add("fcn")
    else:
        form = next((name for name in _FORM_NAMES if name in keys), None)
        if form is not None:
            used.forms.add("do-until" if form == "until" else form)
    for key in keys:
        value = expression[key]
        if key == "fcn" and isinstance(value, str):
            _called(value, used)
        elif key in _NOT_EXPRESSIONS:
            continue
        elif key in _EXPRESSION_MAPS and isinstance(value, dict):
            _walk(list(value.values()), used)
        elif key == "cases" and isinstance(value, list):
            _walk([case.get("do") for case in value if isinstance(case, dict)], used)
        elif key == "pack" and isinstance(value, list):
            _walk([list(pair.values()) for pair in value if isinstance(pair, dict)], used)
        else:
            _walk(value, used)


def _called(name: str, used: FunctionsUsed) -> None:
    (used.user if name.startswith("u.") else used.library).add(name)


def _names(names: Set[str]) -> str:
    return ", ".join(sorted(names)) if names else "-"


def _compact(schema: Any) -> str:
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)
