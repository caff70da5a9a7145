"""The compiled engine is safe by construction: nothing a document says is ever written into the Python it runs.

Each document here puts quotes, triple quotes, backslashes, newlines, ``#`` and code meant to run
(``__import__('os').system('touch ...')``, ``"); import os; os._exit(1); ("``) in every place a
document can hold text: field, record and enum names, cell, pool and user function names, parameter
and variable names, strings, map keys, metadata, ``doc`` and log namespaces. Where PFA only allows
identifiers, the names are the ones the generated code itself uses (``_instance``, ``v1``, ``f0``,
``_k0``, ``__import__``, ...). Every such document compiles; its generated ``.source`` is exactly the
source of the same document with plain names and texts (so it holds no document-derived identifier
or text at all); it scores as titus does; and it touches nothing.
"""

import io
import json
import tokenize
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from chalicelib.compiler import compile_document
from chalicelib.served_model import compile_served

from .differential import assert_agree, outcomes

MARKER = Path("/tmp/pwned")


def payloads(marker: Path) -> List[str]:
    touch = f"__import__('os').system('touch {marker}')"
    return [
        "'", '"', "'''", '"""', "\\", "\\'", '\\"', "\n", "\r\n", "#", "# comment", "\x00", "\u2028",
        "__import__('os').system('touch /tmp/pwned')",
        touch,
        '"); import os; os._exit(1); ("',
        "'); import os; os._exit(1); ('",
        f"'''\n{touch}\n'''",
        f'"""\n{touch}\n"""',
        f"\\\n{touch}",
        f"#\n{touch}",
        f"{{{touch}}}",  # as an f-string or format() would read it
        f"' + {touch} + '",
        "\"; raise SystemExit(3); \"",
        "lambda: __import__('os')._exit(1)",
    ]


# Names PFA allows where only identifiers may go: the generated code's own names and Python's.
IDENTIFIERS = ["__import__", "_instance", "_cells", "_pools", "_clock", "_state", "_scope", "_log", "_name",
               "_index", "_metadata", "_version", "_counts", "_perf", "_NO_MATCH", "_MemoryError", "_begin",
               "_action", "_end", "__builtins__", "v1", "v2", "t3", "f0", "f1", "_k0", "_h0", "_h1", "exec",
               "eval", "os", "system", "print", "lambda", "True", "None", "def", "return", "import", "class"]
# User function names may not start with an underscore in titus.
FUNCTION_NAMES = ["lambda", "True", "None", "v1", "f0", "f1", "exec", "eval", "os", "print", "def", "import"]


@pytest.fixture
def marker(tmp_path):
    touched = tmp_path / "touched"
    assert not MARKER.exists() and not touched.exists()
    yield touched
    assert not MARKER.exists(), "a document's text ran as code"
    assert not touched.exists(), "a document's text ran as code"


def _text(document: Any) -> str:
    return json.dumps(document)


# --- the documents: each a function of the texts and names it is made of -------------------------------


def record_document(texts: List[str], names: List[str], functions: List[str]) -> Dict[str, Any]:
    """Field, record, enum, cell, pool, function, parameter and variable names; strings, map keys, metadata,
    doc and log namespace; records and maps built and read back."""
    fields = texts[:6]
    inner = {"type": "record", "name": names[0], "namespace": names[1],
             "fields": [{"name": texts[6], "type": "string"}, {"name": texts[7], "type": "double"}]}
    enum = {"type": "enum", "name": names[2], "symbols": texts[8:12]}
    input_type = {"type": "record", "name": names[3],
                  "fields": [{"name": fields[0], "type": "int"}, {"name": fields[1], "type": "string"},
                             {"name": fields[2], "type": inner}, {"name": fields[3], "type": enum},
                             {"name": fields[4], "type": {"type": "map", "values": "int"}},
                             {"name": fields[5], "type": ["null", "string"]}]}
    output_type = {"type": "record", "name": names[4], "fields": [
        {"name": texts[12], "type": "string"},
        {"name": texts[13], "type": {"type": "map", "values": "string"}},
        {"name": texts[14], "type": "int"},
        {"name": texts[15], "type": names[2]},
        {"name": texts[16], "type": "double"},
        {"name": texts[17], "type": "string"},
    ]}
    first, second, third = names[5], names[6], names[7]
    return {
        "name": "safety",
        "doc": texts[18],
        "metadata": {texts[19]: texts[20], texts[21]: texts[22]},
        "input": input_type,
        "output": output_type,
        "cells": {names[8]: {"type": "int", "init": 7},
                  names[9]: {"type": {"type": "map", "values": "string"}, "init": {texts[23]: texts[24]}}},
        "pools": {names[10]: {"type": "string", "init": {texts[25]: texts[26]}}},
        "fcns": {
            functions[0]: {"params": [{names[11]: "string"}, {names[12]: "string"}], "ret": "string",
                           "do": [{"let": {names[13]: {"s.concat": [names[11], {"string": texts[27]}]}}},
                                  {"s.concat": [names[13], names[12]]}]},
            functions[1]: {"params": [{names[14]: "int"}], "ret": "int",
                           "do": {"+": [names[14], {"cell": names[8]}]}},
        },
        "action": [
            {"log": [{"string": texts[28]}, {"attr": "input", "path": [{"string": fields[1]}]}],
             "namespace": texts[29]},
            {"let": {first: {"attr": "input", "path": [{"string": fields[2]}, {"string": texts[6]}]},
                     second: {"value": {texts[30]: texts[31], texts[32]: texts[33]},
                              "type": {"type": "map", "values": "string"}}}},
            {"let": {third: {"map.add": [second, {"string": texts[34]}, first]}}},
            {"cell": names[8], "to": {"+": [{"cell": names[8]}, 1]}},
            {"pool": names[10], "path": [{"string": texts[35]}], "to": first, "init": {"string": texts[36]}},
            {"new": {
                texts[12]: {"u." + functions[0]: [first, {"pool": names[10], "path": [{"string": texts[25]}]}]},
                texts[13]: {"map.add": [third, {"string": texts[37]},
                                        {"cell": names[9], "path": [{"string": texts[23]}]}]},
                texts[14]: {"u." + functions[1]: [{"attr": "input", "path": [{"string": fields[0]}]}]},
                texts[15]: {"attr": "input", "path": [{"string": fields[3]}]},
                texts[16]: {"+": [{"attr": "input", "path": [{"string": fields[2]}, {"string": texts[7]}]},
                                  {"map.len": {"attr": "input", "path": [{"string": fields[4]}]}}]},
                texts[17]: {"ifnotnull": {names[15]: {"attr": "input", "path": [{"string": fields[5]}]}},
                            "then": {"s.concat": [names[15], {"string": texts[38]}]},
                            "else": {"string": texts[39]}},
            }, "type": names[4]},
        ],
    }


def record_inputs(texts: List[str]) -> List[Dict[str, Any]]:
    fields = texts[:6]
    inputs = []
    for index in range(40):
        inputs.append({
            fields[0]: index * 3 - 50,
            fields[1]: texts[(index * 7) % len(texts)],
            fields[2]: {texts[6]: texts[(index * 5) % len(texts)], texts[7]: index / 7.0},
            fields[3]: texts[8 + index % 4],
            fields[4]: {texts[(index + k) % len(texts)]: k for k in range(index % 5)},
            fields[5]: None if index % 3 == 0 else texts[(index * 11) % len(texts)],
        })
    return inputs


def string_document(texts: List[str], names: List[str], functions: List[str]) -> Dict[str, Any]:
    """Texts through the string library, a map keyed by texts, and a user error whose message is a text."""
    return {
        "input": "string",
        "output": {"type": "array", "items": "string"},
        "cells": {names[0]: {"type": {"type": "array", "items": "string"}, "init": texts[:8]}},
        "fcns": {functions[0]: {"params": [{names[1]: "string"}], "ret": "boolean",
                                "do": {"s.contains": [names[1], {"string": texts[8]}]}}},
        "action": [
            {"if": {"==": ["input", {"string": texts[9]}]}, "then": {"error": texts[10]}},
            {"let": {names[2]: {"a.append": [{"cell": names[0]}, "input"]}}},
            {"let": {names[3]: {"value": {texts[11]: 1, texts[12]: 2, texts[13]: 3},
                                "type": {"type": "map", "values": "int"}}}},
            {"let": {names[5]: {"a.concat": [
                {"a.map": [names[2], {"params": [{names[4]: "string"}], "ret": "string",
                                      "do": {"s.concat": [names[4], {"string": texts[14]}]}}]},
                {"a.filter": [names[2], {"fcn": "u." + functions[0]}]}]}}},
            {"a.concat": [
                {"a.concat": [names[5], {"a.sort": {"map.keys": names[3]}}]},
                {"new": [{"s.join": [names[2], {"string": texts[15]}]},
                         {"s.replaceall": ["input", {"string": texts[16]}, {"string": texts[17]}]},
                         {"s.int": {"a.len": names[2]}}],
                 "type": {"type": "array", "items": "string"}},
            ]},
        ],
    }


def string_inputs(texts: List[str]) -> List[str]:
    return texts + [text + text for text in texts] + ["", "plain"]


DOCUMENTS: Dict[str, Callable[..., Dict[str, Any]]] = {"records": record_document, "strings": string_document}
INPUTS: Dict[str, Callable[[List[str]], List[Any]]] = {"records": record_inputs, "strings": string_inputs}


def hostile_texts(marker: Path) -> List[str]:
    """At least 40 distinct hostile texts (a document repeats none of its field names)."""
    texts: List[str] = []
    round_ = 0
    while len(texts) < 40:
        texts += [text + ("" if round_ == 0 else "\\" * round_ + str(round_)) for text in payloads(marker)]
        round_ += 1
    return texts[:40]


def plain_like(values: List[str], prefix: str) -> List[str]:
    """Plain stand-ins that sort as ``values`` do (the compiler numbers cells, pools and functions in
    sorted order, so only the order of the names may show in the code)."""
    assert len(set(values)) == len(values)
    rank = {value: index for index, value in enumerate(sorted(values))}
    return [f"{prefix}{rank[value]:02d}" for value in values]


def hostile_names(rotation: int) -> List[str]:
    return IDENTIFIERS[rotation:] + IDENTIFIERS[:rotation]


def hostile_functions(rotation: int) -> List[str]:
    return FUNCTION_NAMES[rotation:] + FUNCTION_NAMES[:rotation]


CASES = [(kind, rotation) for kind in DOCUMENTS for rotation in range(0, len(IDENTIFIERS), 7)]


def _names(source: str) -> Iterator[str]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.NAME:
            yield token.string


# --- tests ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, rotation", CASES, ids=[f"{kind}-{rotation}" for kind, rotation in CASES])
def test_hostile_texts_and_names_compile_to_the_source_of_plain_ones_and_score_as_titus(kind, rotation, marker):
    texts = hostile_texts(marker)
    document = DOCUMENTS[kind](texts, hostile_names(rotation), hostile_functions(rotation % len(FUNCTION_NAMES)))
    names, functions = hostile_names(rotation), hostile_functions(rotation % len(FUNCTION_NAMES))
    plain = DOCUMENTS[kind](plain_like(texts, "p"), plain_like(names, "n"), plain_like(functions, "fn"))
    compiled = compile_document(json.loads(_text(document)))
    source = compiled.source
    # Nothing of the document is in the code: not its texts, not its names.
    assert source == compile_document(json.loads(_text(plain))).source
    for text in payloads(marker):
        if len(text) > 2:
            assert text not in source
    for fragment in ("import", "pwned", "_exit", "system", "SystemExit", "touch", "'''", '"""', "#", "\\"):
        assert fragment not in source
    plain_names = set(_names(compile_document(json.loads(_text(plain))).source))
    used = set(_names(source))
    for name in names + functions:  # a name of the document appears only where the generated code has it anyway
        assert name not in used or name in plain_names, name
    assert not {"exec", "eval", "os", "system", "print", "lambda", "import", "class"} & used
    # It scores as titus does, step by step (the cells and the pool change on every input).
    inputs = INPUTS[kind](texts)
    assert assert_agree(document, inputs) == len(inputs)
    results = outcomes(document, inputs)
    assert any(expected[0] == "value" for expected, _ in results)
    if kind == "strings":
        assert sum(expected[0] == "user error" for expected, _ in results) >= 1


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_hostile_document_is_served_compiled(kind, marker):
    texts = hostile_texts(marker)
    document = DOCUMENTS[kind](texts, hostile_names(0), hostile_functions(0))
    served = compile_served(json.dumps(document).encode(), f"{kind}.pfa")
    assert served.model.engine.name == "compiled", served.model.engine.reason
    for datum in INPUTS[kind](texts)[:10]:
        try:
            served.predict(datum)
        except Exception as error:  # the user error of the strings document
            assert type(error).__name__ == "ModelError", error


def test_log_messages_and_namespaces_reach_the_log_as_given(marker, capsys):
    texts = hostile_texts(marker)
    document = {"input": "string", "output": "string",
                "action": [{"log": ["input", {"string": text}], "namespace": text} for text in texts[:12]]
                + ["input"]}
    pairs = outcomes(document, texts[12:20])
    assert all(expected == got and expected[0] == "value" for expected, got in pairs)
    logged = capsys.readouterr().out
    assert logged.count(json.dumps(texts[0])) >= 2 * 8  # both engines logged every message
