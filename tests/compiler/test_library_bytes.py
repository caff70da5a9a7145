"""bytes.* and fixed.* (titus's lib/bytes.py, lib/fixed.py): both engines must agree.

Bytes and fixed inputs reach the engines as Python ``bytes`` (the validator decodes them); values made
by the library are ``str`` of code points 0-255, which the chained calls here feed back in.
"""

import json
import random
from pathlib import Path

import pytest

from chalicelib.compiler import compile_document
from chalicelib.compiler.library import lookup
from chalicelib.compiler.library.bytes import _CODECS
from tests.compiler.test_library_array import INT_MAX, INT_MIN, STRING_POOL, agree, doc, native_everywhere, record

from .differential import assert_agree

rng = random.Random(1602)
PFA = Path(__file__).resolve().parent.parent / "pfa"
BYTES_POOL = [b"", b"a", b"hello", b"AB\xe9x", b"\x00\xff", b"\xff\xfe" + "é".encode("utf-16-le"),
              "日本".encode("utf-8"), "日本".encode("utf-16"), "日本".encode("utf-16-be"), b"\x80", b"\xc3", b"abc",
              b"\xd8\x00", b"\x00\xd8", bytes(range(256))]
STRINGS = STRING_POOL + ["\udc80", "\xe9\xff", "\u0100", "\x7f"]
INDEXES = [0, 1, 2, -1, -2, 5, -10, 100, INT_MAX, INT_MIN]
TESTERS = ["bytes.is" + suffix for suffix in _CODECS]
DECODERS = ["bytes.decode" + suffix for suffix in _CODECS]
ENCODERS = ["bytes.encode" + suffix for suffix in _CODECS]


def random_bytes(n=60):
    return BYTES_POOL + [bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 9))) for _ in range(n)]


def test_packet_bytes_compiles_and_agrees_on_its_cases():
    document = json.loads((PFA / "packet_bytes.pfa.json").read_text())
    compiled = compile_document(json.loads(json.dumps(document)))
    assert not compiled.delegated
    cases = json.loads((PFA / "cases.json").read_text())["packet_bytes"]
    inputs = [{k: v.encode("latin-1") for k, v in case["input"].items()} for case in cases]
    inputs += [{"payload": p, "tag": rng.choice([b"abcd", b"\x00\x01ab", b"\xff" * 4])}
               for p in random_bytes()]
    assert_agree(document, inputs)


def test_len_and_subseq():
    native_everywhere(doc("bytes", "int", [{"bytes.len": "input"}]), "bytes.len")
    agree(doc("bytes", "int", [{"bytes.len": "input"}]), random_bytes())
    document = doc(record(b="bytes", s="int", e="int"), "bytes", [{"bytes.subseq": ["input.b", "input.s", "input.e"]}])
    native_everywhere(document, "bytes.subseq")
    agree(document, [{"b": b, "s": s, "e": e} for b in BYTES_POOL for s in INDEXES[:6] for e in INDEXES])
    chained = doc(record(b="bytes", s="int", e="int"), "int",
                  [{"bytes.len": {"bytes.subseq": [{"bytes.subseq": ["input.b", 1, 100]}, "input.s", "input.e"]}}])
    agree(chained, [{"b": b, "s": s, "e": e} for b in BYTES_POOL for s in INDEXES for e in INDEXES[:5]])


def test_subseqto():
    document = doc(record(b="bytes", s="int", e="int", r="bytes"), "bytes",
                   [{"bytes.subseqto": ["input.b", "input.s", "input.e", "input.r"]}])
    native_everywhere(document, "bytes.subseqto")
    agree(document, [{"b": b, "s": s, "e": e, "r": r} for b in BYTES_POOL[:8] for s in INDEXES
                     for e in INDEXES[:6] for r in (b"", b"XY")])
    # bytes held as str (made by other functions) as the value and as the replacement
    inner = {"bytes.subseq": ["input.b", 0, 100]}
    of_strings = doc(record(b="bytes", s="string"), "bytes",
                     [{"bytes.subseqto": [inner, 1, 2, {"bytes.encodeUtf8": "input.s"}]},
                      {"bytes.subseqto": ["input.b", 0, 1, {"bytes.fromBase64": {"string": "AQID"}}]}])
    agree(of_strings, [{"b": b, "s": s} for b in BYTES_POOL for s in STRINGS[:6]])


@pytest.mark.parametrize("name", TESTERS)
def test_testers(name):
    of_bytes = doc("bytes", "boolean", [{name: "input"}])
    of_string = doc("string", "boolean", [{name: "input"}])
    native_everywhere(of_bytes, name)
    native_everywhere(of_string, name)
    agree(of_bytes, random_bytes())
    agree(of_string, STRINGS)
    # titus quirk: a bytes value held as a str (made by a function) makes the bytes tester raise TypeError
    agree(doc("bytes", "boolean", [{name: {"bytes.subseq": ["input", 0, 100]}}]), random_bytes(10))


@pytest.mark.parametrize("name", DECODERS + ENCODERS)
def test_decoders_and_encoders(name):
    if name in DECODERS:
        document = doc("bytes", "string", [{name: "input"}])
        data = random_bytes()
        native_everywhere(document, name)
        agree(document, data)
        agree(doc("bytes", "string", [{name: {"bytes.subseq": ["input", 0, 100]}}]), data)
        agree(doc("string", "string", [{name: {"bytes.encodeUtf16": "input"}}]), STRINGS)
    else:
        document = doc("string", "bytes", [{name: "input"}])
        native_everywhere(document, name)
        agree(document, STRINGS)
        agree(doc("string", "int", [{"bytes.len": {name: "input"}}]), STRINGS)


def test_base64():
    to = doc("bytes", "string", [{"bytes.toBase64": "input"}])
    native_everywhere(to, "bytes.toBase64")
    agree(to, random_bytes())
    agree(doc("string", "string", [{"bytes.toBase64": {"bytes.encodeLatin1": "input"}}]), STRINGS)
    back = doc("string", "bytes", [{"bytes.fromBase64": "input"}])
    native_everywhere(back, "bytes.fromBase64")
    agree(back, ["", "QULpeA==", "aGVsbG8=", "aGVsbG8", "a", "ab==", "QQ==\n", "QQ==\n\n", "Q Q==", "!!", "é",
                 "QQ=", "QQ===", "==", "////", "+/+/"])
    agree(doc("bytes", "bytes", [{"bytes.fromBase64": {"bytes.toBase64": "input"}}]), random_bytes())


FIXED = {"type": "fixed", "name": "F", "size": 4}


def test_fixed():
    to = doc(FIXED, "bytes", [{"fixed.toBytes": "input"}])
    native_everywhere(to, "fixed.toBytes")
    fixed_values = [b"abcd", b"\x00\x01ab", b"\xff" * 4] + [bytes(rng.randint(0, 255) for _ in range(4))
                                                          for _ in range(40)]
    agree(to, fixed_values)
    document = doc(record(f=FIXED, b="bytes"), "F", [{"fixed.fromBytes": ["input.f", "input.b"]}])
    native_everywhere(document, "fixed.fromBytes")
    agree(document, [{"f": f, "b": b} for f in fixed_values[:10] for b in BYTES_POOL])
    of_strings = doc(record(f=FIXED, b="bytes"), "bytes",
                     [{"fixed.toBytes": {"fixed.fromBytes": [{"fixed.fromBytes": ["input.f", "input.b"]},
                                                              {"bytes.subseq": ["input.b", 1, 3]}]}}])
    agree(of_strings, [{"f": f, "b": b} for f in fixed_values[:10] for b in BYTES_POOL])


def test_every_name_is_native():
    from titus.lib import bytes as titus_bytes
    from titus.lib import fixed as titus_fixed

    for name in [*titus_bytes.provides, *titus_fixed.provides]:
        assert lookup(name) is not None, name
