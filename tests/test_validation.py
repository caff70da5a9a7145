import pytest

from chalicelib.errors import InvalidInput
from chalicelib.request_body import read_json
from chalicelib.validation import compile_validator

POINT = {"type": "record", "name": "Point", "fields": [
    {"name": "x", "type": "double"},
    {"name": "label", "type": ["null", "string"]},
    {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["red", "green"]}},
]}


def invalid(schema, value, **kwargs):
    with pytest.raises(InvalidInput) as caught:
        compile_validator(schema, **kwargs)(value)
    return caught.value


def test_a_valid_record_is_converted_for_titus():
    value = {"x": 1, "label": "a", "color": "red"}
    assert compile_validator(POINT)(value) == {"x": 1.0, "label": {"string": "a"}, "tags": [], "color": "red"}


@pytest.mark.parametrize("value, field, message", [
    ({"x": "0.7", "label": None, "color": "red"}, "x", 'expected double, got string "0.7"'),
    ({"x": True, "label": None, "color": "red"}, "x", "expected double, got true"),
    ({"label": None, "color": "red"}, "x", "missing required field 'x' (expected double)"),
    ({"x": 1, "label": None, "color": "red", "y": 2}, "y", "unknown field 'y'; expected fields: x, label, tags, color"),
    ({"x": 1, "label": 3, "color": "red"}, "label", "expected one of null | string, got integer 3"),
    ({"x": 1, "label": None, "color": "blue"}, "color", "expected enum Color (red, green), got string \"blue\""),
    ({"x": 1, "label": None, "color": "red", "tags": ["a", 2]}, "tags[1]", "expected string, got integer 2"),
    ([1, 2], None, "expected record Point, got array [1, 2]"),
])
def test_strict_errors_name_the_field_the_expected_type_and_the_value(value, field, message):
    error = invalid(POINT, value)
    assert error.field == field
    assert error.message == message
    expected_body = {"code": "invalid_input", "message": message, **({"field": field} if field else {})}
    assert error.to_body() == {"error": expected_body}


@pytest.mark.parametrize("schema, good, bad", [
    ("int", 2 ** 31 - 1, 2 ** 31),
    ("long", -(2 ** 63), 2 ** 63),
    ("int", 3, 3.0),
    ("boolean", False, 0),
    ("null", None, "null"),
    ("string", "", None),
    ("bytes", "\u00ff", "\u0100"),
    ({"type": "fixed", "name": "Two", "size": 2}, "ab", "abc"),
])
def test_primitives_are_strict(schema, good, bad):
    compile_validator(schema)(good)
    invalid(schema, bad)


def test_nested_paths_and_union_members_report_the_inner_error():
    schema = {"type": "map", "values": ["null", {"type": "array", "items": POINT}]}
    error = invalid(schema, {"a": [{"x": 1, "label": None, "color": "red"}, {"x": "bad"}]})
    assert error.field == "a[1].x"


def test_map_keys_make_a_map_input_a_record_like_contract():
    schema = {"type": "map", "values": ["null", "double"]}
    validate = compile_validator(schema, map_keys=["V1", "V2"])
    assert validate({"V1": 1, "V2": None}) == {"V1": {"double": 1.0}, "V2": None}
    assert invalid(schema, {"V1": 1}, map_keys=["V1", "V2"]).message.startswith("missing required field 'V2'")
    error = invalid(schema, {"V1": 1, "V2": 2, "v3": 3}, map_keys=["V1", "V2"])
    assert (error.field, error.message) == ("v3", "unknown field 'v3'; expected fields: V1, V2")


def test_a_recursive_record_validates():
    tree = {"type": "record", "name": "Node", "fields": [
        {"name": "value", "type": "int"}, {"name": "children", "type": {"type": "array", "items": "Node"}}]}
    value = {"value": 1, "children": [{"value": 2, "children": []}]}
    assert compile_validator(tree)(value) == value
    assert invalid(tree, {"value": 1, "children": [{"value": "2", "children": []}]}).field == "children[0].value"


@pytest.mark.parametrize("body", [b'{"x": 1e400, "label": null, "color": "red"}',
                                  b'{"x": -1E+0400, "label": null, "color": "red"}',
                                  b'{"x": ' + b"9" * 400 + b'.5, "label": null, "color": "red"}'])
def test_a_number_beyond_a_double_is_refused_naming_its_field(body):
    error = invalid(POINT, read_json(body, 10_000))
    assert error.field == "x" and "out of its range" in error.message


def test_a_number_beyond_a_double_in_a_nullable_field_is_refused():
    assert invalid(["null", "double"], read_json(b"1e999", 100)).message.startswith("expected double")
