import pytest

from chalicelib.avro_schema import SchemaError
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
    ({"x": "0.7", "label": None, "color": "red"}, "x",
     'expected double, got string "0.7" (a number in quotes: send it without the quotes)'),
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


SIXTY = [f"V{i}" for i in range(1, 61)]
R_MAP = {"type": "map", "values": ["null", "string", "double"]}


def test_every_missing_and_unknown_field_is_reported_in_one_answer_with_a_bound():
    error = invalid(R_MAP, {"V1": 0.5, "x": 1, "y": 2}, map_keys=SIXTY)
    assert error.field == "V2"
    assert error.message.startswith("missing required fields 'V2', 'V3', 'V4', 'V5', 'V6', 'V7', 'V8', 'V9', 'V10', "
                                    "'V11' and 49 more (59 in all); unknown fields 'x', 'y'; expected fields: V1")
    record = {"type": "record", "name": "R", "fields": [{"name": name, "type": "double"} for name in ("a", "b", "c")]}
    error = invalid(record, {"a": 1, "z": 2})
    assert (error.field, error.message) == ("b", "missing required fields 'b', 'c'; unknown field 'z'; "
                                                 "expected fields: a, b, c")


def test_a_long_caller_key_is_quoted_by_a_short_prefix_only():
    long_key = "k" * 4096
    for error in (invalid(POINT, {"x": 1, "label": None, "color": "red", long_key: 1}),
                  invalid(R_MAP, {**dict.fromkeys(SIXTY, 0.5), long_key: 1}, map_keys=SIXTY),
                  invalid({"type": "map", "values": "double"}, {long_key: "no"})):
        assert len(error.message) < 1000 and len(error.field or "") <= 60
        assert "k" * 100 not in error.message


def test_narrowed_map_types_refuse_a_string_for_a_numeric_feature_naming_it():
    validate = compile_validator(R_MAP, map_keys=["V1", "V2"], map_types={"V1": ["null", "double"], "V2": "double"})
    assert validate({"V1": 0.5, "V2": 1}) == {"V1": {"double": 0.5}, "V2": {"double": 1.0}}
    assert validate({"V1": None, "V2": 1}) == {"V1": None, "V2": {"double": 1.0}}
    error = invalid(R_MAP, {"V1": "0.02", "V2": 1}, map_keys=["V1", "V2"], map_types={"V1": ["null", "double"]})
    assert (error.field, error.message) == (
        "V1", 'expected one of null | double, got string "0.02" (a number in quotes: send it without the quotes)')


def test_a_narrowed_type_must_be_part_of_the_map_value_type():
    with pytest.raises(SchemaError, match="not one of the map's value types"):
        compile_validator(R_MAP, map_keys=["V1"], map_types={"V1": "int"})
