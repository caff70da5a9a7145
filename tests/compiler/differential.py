"""Score documents with titus and with the compiled engine, and insist they agree.

``assert_agree(document, inputs)`` runs every input through a fresh titus engine and a fresh
compiled instance, in order (so stateful documents are compared step by step), and fails on the
first output or error code that differs.
"""

import json
from typing import Any, Iterable, List

from chalicelib.compiler import compile_document
from chalicelib.compiler.agreement import first_difference, outcome, same_outcome
from chalicelib.titus_compat import PFAEngine


def engines(document: Any):
    titus_engine, = PFAEngine.fromJson(json.loads(json.dumps(document)))
    compiled = compile_document(json.loads(json.dumps(document))).instance()
    titus_engine.begin()
    compiled.begin()
    return titus_engine, compiled


def assert_agree(document: Any, inputs: Iterable[Any]) -> int:
    """Both engines on every input; returns how many inputs were compared."""
    titus_engine, compiled = engines(document)
    data: List[Any] = list(inputs)
    difference = first_difference(lambda x: titus_engine.action(x, check=False), compiled.action, data)
    if difference is not None:
        source = compile_document(json.loads(json.dumps(document))).source
        raise AssertionError(f"{difference}\n--- generated code ---\n{source}")
    return len(data)


def outcomes(document: Any, inputs: Iterable[Any]):
    """(titus outcome, compiled outcome) per input, for tests that look at the outcomes themselves."""
    titus_engine, compiled = engines(document)
    pairs = []
    for datum in inputs:
        pairs.append((outcome(lambda x: titus_engine.action(x, check=False), datum), outcome(compiled.action, datum)))
    return pairs


__all__ = ["assert_agree", "outcomes", "same_outcome"]
