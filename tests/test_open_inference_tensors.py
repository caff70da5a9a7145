"""The tensors of a PFA model's types (chalicelib/openinference/tensors.py): the README's mapping, case by case."""

import pytest

from chalicelib.openinference.tensors import NoTensorForm, signature

ENUM = {"type": "enum", "name": "Colour", "namespace": "paint", "symbols": ["red", "blue"]}


def inputs(schema, keys=None, types=None):
    return [(tensor.name, tensor.datatype, tensor.shape, tensor.nullable)
            for tensor in signature(schema, "string", keys, types).inputs]


@pytest.mark.parametrize("avro, datatype", [
    ("double", "FP64"), ("float", "FP32"), ("int", "INT32"), ("long", "INT64"), ("boolean", "BOOL"),
    ("string", "BYTES"), ("bytes", "BYTES"), (ENUM, "BYTES"),
    ({"type": "fixed", "name": "Id", "size": 4}, "BYTES"), ({"type": "double"}, "FP64"),
])
def test_each_avro_type_has_its_datatype(avro, datatype):
    assert inputs(avro) == [("input", datatype, [-1], False)]
    assert inputs(["null", avro]) == [("input", datatype, [-1], True)]
    assert inputs({"type": "array", "items": avro}) == [("input", datatype, [-1, -1], False)]


def test_a_record_is_one_tensor_per_field_and_names_resolve_in_their_namespace():
    schema = {"type": "record", "name": "In", "namespace": "shop", "fields": [
        {"name": "colour", "type": ENUM}, {"name": "again", "type": "paint.Colour"},
        {"name": "size", "type": {"type": "enum", "name": "Size", "symbols": ["s", "m"]}},
        {"name": "size2", "type": "Size"}, {"name": "weights", "type": {"type": "array", "items": ["null", "float"]}},
        {"name": "note", "type": ["string", "null"], "default": None}]}
    tensors = signature(schema, "double")
    assert [(t.name, t.datatype, t.shape, t.nullable) for t in tensors.inputs] == [
        ("colour", "BYTES", [-1], False), ("again", "BYTES", [-1], False), ("size", "BYTES", [-1], False),
        ("size2", "BYTES", [-1], False), ("weights", "FP32", [-1, -1], True), ("note", "BYTES", [-1], True)]
    assert tensors.optional == {"note"} and tensors.inputs_per_field and not tensors.outputs_per_field


def test_a_keyed_map_is_one_tensor_per_key_typed_by_input_types():
    schema = {"type": "map", "values": ["null", "string", "double"]}
    assert inputs(schema, ["a", "b"], {"a": ["null", "double"], "b": "string"}) == [
        ("a", "FP64", [-1], True), ("b", "BYTES", [-1], False)]
    with pytest.raises(NoTensorForm, match="input key 'c' is one of null | string | double: a tensor has one"):
        inputs(schema, ["a", "c"], {"a": "double"})


def test_a_record_output_is_one_tensor_per_field():
    output = {"type": "record", "name": "Out", "fields": [{"name": "label", "type": "string"},
                                                          {"name": "score", "type": ["null", "double"]}]}
    tensors = signature("double", output)
    assert [t.metadata() for t in tensors.outputs] == [{"name": "label", "datatype": "BYTES", "shape": [-1]},
                                                       {"name": "score", "datatype": "FP64", "shape": [-1],
                                                        "parameters": {"nullable": True}}]
    assert tensors.outputs_per_field


@pytest.mark.parametrize("schema, message", [
    ({"type": "map", "values": "double"}, "map with no declared keys"),
    (["int", "string"], "the model's input is one of int | string: a tensor has one datatype"),
    ("null", "is null: it is always null"),
    ({"type": "array", "items": {"type": "array", "items": "double"}}, "an array of arrays"),
    (["null", {"type": "array", "items": "double"}], "a null array has no tensor form"),
    ({"type": "record", "name": "R", "fields": [{"name": "inner", "type": {
        "type": "record", "name": "S", "fields": [{"name": "x", "type": "int"}]}}]},
     "input field 'inner' is record S: a nested record has no tensor form"),
    ({"type": "record", "name": "R", "fields": [{"name": "m", "type": {"type": "map", "values": "int"}}]},
     "input field 'm' is map of int: a map has no tensor form"),
])
def test_types_without_a_tensor_form_name_what_and_why(schema, message):
    with pytest.raises(NoTensorForm) as refused:
        signature(schema, "double")
    assert message in refused.value.message and refused.value.status == 400
    assert refused.value.message.endswith("score this model with /predict")


def test_an_output_without_a_tensor_form_is_named():
    with pytest.raises(NoTensorForm, match="the model's output is map of double: a map has no tensor form"):
        signature("double", {"type": "map", "values": "double"})
