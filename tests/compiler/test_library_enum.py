"""enum.* (titus's lib/enum.py): both engines must agree."""

from chalicelib.compiler.library import lookup
from tests.compiler.test_library_array import agree, doc, native_everywhere

ENUM = {"type": "enum", "name": "Colour", "namespace": "paint", "symbols": ["red", "green", "blue", "é"]}
SYMBOLS = ENUM["symbols"]


def test_enum_functions():
    for name, out in (("enum.toString", "string"), ("enum.toInt", "int"), ("enum.numSymbols", "int")):
        document = doc(ENUM, out, [{name: "input"}])
        native_everywhere(document, name)
        agree(document, SYMBOLS * 3)


def test_string_that_is_not_a_symbol():
    """A value outside the enum (no validator in front) raises titus's AvroException on both."""
    for name in ("enum.toString", "enum.toInt"):
        agree(doc(ENUM, "int" if name == "enum.toInt" else "string", [{name: "input"}]), ["purple", "", "Red"])


def test_every_name_is_native():
    from titus.lib import enum as titus_enum

    for name in titus_enum.provides:
        assert lookup(name) is not None, name
