"""The core forms' corners that code generation can get wrong: scopes, evaluation order, laziness."""

import time

import pytest

from chalicelib.compiler import compile_document
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


AI = {"type": "array", "items": "int"}
COUNTER_MAP = {"type": "map", "values": "int"}
BUMP = {"bump": {"params": [{"k": "string"}], "ret": "string", "do": [
    {"cell": "m", "to": {"value": {"a": 100, "b": 200}, "type": COUNTER_MAP}}, "k"]}}

ORDER_CASES = {
    "a cell is read before its path is evaluated": (
        {"input": "string", "output": "int", "cells": {"m": {"type": COUNTER_MAP, "init": {"a": 1, "b": 2}}},
         "fcns": BUMP, "action": [{"cell": "m", "path": [{"u.bump": ["input"]}]}]},
        ["a", "a", "b"]),
    "an attr of a cell is read before its path is evaluated": (
        {"input": "string", "output": "int", "cells": {"m": {"type": COUNTER_MAP, "init": {"a": 1, "b": 2}}},
         "fcns": BUMP, "action": [{"attr": {"cell": "m"}, "path": [{"u.bump": ["input"]}]}]},
        ["a", "b"]),
    "cell-to reads the cell after its path and its value": (
        {"input": "string", "output": COUNTER_MAP, "cells": {"m": {"type": COUNTER_MAP, "init": {"a": 1, "b": 2}}},
         "fcns": BUMP, "action": [{"cell": "m", "path": [{"u.bump": ["input"]}], "to": 7}]},
        ["a", "b"]),
    "fill arguments are evaluated at each call, and never without one": (
        {"input": {"type": "record", "name": "R",
                   "fields": [{"name": "xs", "type": AI}, {"name": "k", "type": "string"}]},
         "output": AI,
         "fcns": {"add": {"params": [{"a": "int"}, {"b": "int"}], "ret": "int", "do": [{"+": ["a", "b"]}]}},
         "action": [{"a.map": ["input.xs", {"fcn": "u.add", "fill": {"b": {
             "if": {"==": ["input.k", {"string": "secret"}]}, "then": {"a.head": ["input.xs"]}, "else": 1}}}]}]},
        [{"xs": [], "k": "secret"}, {"xs": [1, 2], "k": "secret"}, {"xs": [3], "k": "x"}]),
    "a fill argument with a side effect runs once per call": (
        {"input": AI, "output": AI, "cells": {"n": {"type": "int", "init": 0}},
         "fcns": {"inc": {"params": [], "ret": "int", "do": [{"cell": "n", "to": {"+": [{"cell": "n"}, 1]}}]},
                  "add": {"params": [{"a": "int"}, {"b": "int"}], "ret": "int", "do": [{"+": ["a", "b"]}]}},
         "action": [{"a.map": ["input", {"fcn": "u.add", "fill": {"b": {"u.inc": []}}}]}]},
        [[10, 20, 30], [10]]),
    "&& with statements inside an inline function that uses nothing around it": (
        {"input": "int", "output": AI, "action": [
            {"let": {"x": "input"}}, {"set": {"x": {"+": ["x", 1]}}},
            {"a.filter": [{"value": [1, 2, 3], "type": AI}, {"params": [{"y": "int"}], "ret": "boolean", "do": [
                {"&&": [{">": ["y", 1]}, {"do": [{"let": {"z": "y"}}, {"<": ["z", 3]}]}]}]}]}]},
        [1, 5]),
    "one set of variables declared in different blocks fails as titus fails": (
        {"input": "int", "output": "int", "action": [
            {"let": {"a": 0}},
            {"if": {"==": ["input", 77]}, "then": [{"let": {"b": 0}}, {"set": {"a": 1, "b": 2}}]}, "a"]},
        [1, 77]),
}


@pytest.mark.parametrize("name", sorted(ORDER_CASES))
def test_evaluation_order_and_scopes_are_titus(name):
    document, inputs = ORDER_CASES[name]
    assert assert_agree(document, inputs) == len(inputs)


def test_nested_casts_compile_in_time_linear_in_their_depth():
    body = {"+": ["y24", 0]}
    for depth in range(24, 0, -1):
        body = {"cast": "y0", "cases": [{"as": "int", "named": f"y{depth}", "do": [body]},
                                                     {"as": "null", "named": f"n{depth}", "do": [0]}]}
    document = {"input": {"type": "array", "items": ["null", "int"]}, "output": AI, "action": [
        {"a.map": ["input", {"params": [{"y0": ["null", "int"]}], "ret": "int", "do": [body]}]}]}
    started = time.perf_counter()
    compile_document(document)
    assert time.perf_counter() - started < 5  # it was 2^24 visits: hours
