"""parse.* (titus's lib/parse.py): both engines must agree."""

from chalicelib.compiler.library import lookup
from tests.compiler.test_library_array import agree, doc, native_everywhere, record

TEXTS = ["0", "1", "-1", "+7", " 12 ", "1_000", "0x1f", "1f", "ff", "z", "Z", "2147483647", "2147483648",
         "-2147483648", "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "",
         "abc", "1.5", "1e3", "-0", "0b101", "0o17", "١٢", "nan", "inf", "-inf", "Infinity", "1e39", "-1e39",
         "1e-46", "-1e-50", "3.4028234663852886e38", "1e309", "-1e309", "1e-330", "2.2250738585072014e-308",
         "5e-324", "  -2.5e-3\n", "1,5", "0.1", "..", "1e", "NaN"]
BASES = [10, 16, 2, 36, 1, 37, 0, -5]


def test_integers():
    for name in ("parse.int", "parse.long"):
        document = doc(record(s="string", b="int"), "int" if name == "parse.int" else "long",
                       [{name: ["input.s", "input.b"]}])
        native_everywhere(document, name)
        agree(document, [{"s": s, "b": b} for s in TEXTS for b in BASES])


def test_floats():
    for name, out in (("parse.float", "float"), ("parse.double", "double")):
        document = doc("string", out, [{name: "input"}])
        native_everywhere(document, name)
        agree(document, TEXTS)


def test_every_name_is_native():
    from titus.lib import parse

    for name in parse.provides:
        assert lookup(name) is not None, name
