"""The core forms' corners that code generation can get wrong: scopes, evaluation order, laziness."""

import pytest

from tests.compiler.differential import assert_agree

CASES = {
    "do-until sees the body's variables": (
        {"input": "int", "output": "int", "action": [
            {"let": {"x": "input"}},
            {"do": [{"let": {"y": {"+": ["x", 1]}}}, {"set": {"x": "y"}}], "until": {">=": ["y", 5]}}, "x"]},
        [0, 4, 5, 100]),
    "sibling blocks declare the same name with different types": (
        {"input": "int", "output": "string", "action": [
            {"if": {">": ["input", 0]}, "then": [{"let": {"v": "input"}}, {"s.int": "v"}],
             "else": [{"let": {"v": {"string": "neg"}}}, "v"]}]},
        [-1, 0, 7]),
    "&& does not evaluate its right side when the left is false": (
        {"input": "int", "output": "boolean", "action": [
            {"&&": [{"!=": ["input", 0]},
                    {"if": {"==": [{"//": [10, "input"]}, 5]}, "then": True, "else": False}]}]},
        [0, 2, 3]),
    "|| does not evaluate its right side when the left is true": (
        {"input": "int", "output": "boolean", "action": [
            {"||": [{">": ["input", 0]},
                    {"if": {"==": [{"//": [10, {"-": ["input", 1]}]}, 1]}, "then": True, "else": False}]}]},
        [1, 2, -5]),
    "cond with a predicate that needs statements": (
        {"input": "int", "output": "string", "action": [
            {"cond": [{"if": {">": ["input", 10]}, "then": [{"string": "big"}]},
                      {"if": {"do": [{"let": {"h": {"//": ["input", 2]}}}, {">": ["h", 1]}]},
                       "then": [{"string": "middling"}]}],
             "else": [{"string": "small"}]}]},
        [0, 3, 4, 11]),
    "an inline function reads an outer variable on every call": (
        {"input": {"type": "array", "items": "double"}, "output": {"type": "array", "items": "double"},
         "action": [{"let": {"k": {"a.len": ["input"]}}},
                    {"a.map": ["input", {"params": [{"x": "double"}], "ret": "double", "do": {"*": ["x", "k"]}}]}]},
        [[], [1.0, 2.5], [0.1] * 7]),
    "for with a step that reads the loop variable": (
        {"input": "int", "output": "int", "action": [
            {"let": {"total": 0}},
            {"for": {"i": 0}, "while": {"<": ["i", "input"]}, "step": {"i": {"+": ["i", 2]}},
             "do": [{"set": {"total": {"+": ["total", "i"]}}}]}, "total"]},
        [0, 1, 10]),
    "try with a filter absorbs only its own error": (
        {"input": "int", "output": ["null", "int"], "action": [
            {"try": [{"if": {"==": ["input", 0]}, "then": [{"error": "zero", "code": -1}]},
                     {"//": [10, "input"]}], "filter": ["zero"]}]},
        [0, 5]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_compiled_agrees_with_titus(name):
    document, inputs = CASES[name]
    assert assert_agree(document, inputs) == len(inputs)
