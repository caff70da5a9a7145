"""``model.tree.*``: decision-tree walks and the comparisons of tree nodes.

A tree node is a record (a dict) whose ``pass`` and ``fail`` fields are unions of the node's own record
type and the leaf type. As in titus, a union value held in a record is tagged (``{"TreeNode": {...}}``,
``{"double": 0.5}``: cells are decoded by titus's ``jsonDecoder``, upcasts wrap), so a walk follows
branches while the tag is the node type's name and returns the untagged leaf. The walk is a plain loop
calling the test callable.

``simpleTest``, ``missingTest`` and ``simpleTree`` compare ``datum[field]`` with a node's ``value``; every
check that titus makes from the declared types is decided once per field at compile time (a table from
field name to comparator), leaving the operator and the value, which are data, to run time.
"""

import json  # noqa: I001  (titus_compat must be imported before titus)
import operator as _operator
from typing import Any, Callable, Dict, List, Optional

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.datatype import compare as _titus_compare
from titus.errors import PFARuntimeException

from .registry import Site, native
from .types import AvroArray, AvroNull, AvroUnion, is_number

Comparator = Callable[[Any, Any, Any], Any]

_NUMERIC_OPS: Dict[str, Callable[[Any, Any], bool]] = {
    "<=": _operator.le, "<": _operator.lt, ">=": _operator.ge, ">": _operator.gt,
    "==": _operator.eq, "!=": _operator.ne,
}
_ORDER_OPS: Dict[str, Callable[[int], bool]] = {
    "<=": lambda c: c <= 0, "<": lambda c: c < 0, ">=": lambda c: c >= 0, ">": lambda c: c > 0,
    "==": lambda c: c == 0, "!=": lambda c: c != 0,
}
_NUMERIC_TAGS = (["int"], ["long"], ["float"], ["double"])
_TAGGED_TRUE = {"boolean": True}
_TAGGED_FALSE = {"boolean": False}


# ---------------------------------------------------------------- comparisons of one node


def _field_type(record_type: Any, name: str) -> Any:
    return next(field.avroType for field in record_type.fields if field.name == name)


def _comparator(field_type: Any, value_type: Any, missing_operators: bool, code: int, name: str) -> Comparator:
    """titus's ``simpleComparison`` for one field of the datum, its type checks decided here."""
    untag_names = None
    if not missing_operators and isinstance(field_type, AvroUnion):
        without_null = [t for t in field_type.types if not isinstance(t, AvroNull)]
        field_type = without_null[0] if len(without_null) == 1 else AvroUnion(without_null)
        # titus unwraps a one-key dict keyed by a member's name (a tagged union value)
        untag_names = frozenset(t.name for t in without_null)

    if isinstance(value_type, AvroArray):
        in_ok = value_type.items.accepts(field_type)
    elif isinstance(value_type, AvroUnion):
        in_ok = any(isinstance(t, AvroArray) and t.items.accepts(field_type) for t in value_type.types)
    else:
        in_ok = False
    numeric = is_number(field_type)
    order_ok = value_type.accepts(field_type) or (numeric and is_number(value_type))

    def slow(x: Any, op: Any, value: Any) -> Any:
        if untag_names is not None and isinstance(x, dict) and len(x) == 1 and next(iter(x)) in untag_names:
            x, = x.values()
        if op == "alwaysTrue":
            return True
        if op == "alwaysFalse":
            return False
        if missing_operators and op == "isMissing":
            return x is None
        if missing_operators and op == "notMissing":
            return x is not None
        if op == "in" or op == "notIn":
            if not in_ok:
                raise PFARuntimeException("bad value type", code + 1, name, None)
            if isinstance(value, dict) and len(value) == 1 and list(value.keys()) == ["array"]:
                value, = value.values()
            if not missing_operators and x is None:
                return None
            contained = x in value
            return contained if op == "in" else not contained
        if not order_ok:
            raise PFARuntimeException("bad value type", code + 1, name, None)
        if not missing_operators and x is None:
            return None
        if numeric:
            if isinstance(value, dict) and list(value.keys()) in _NUMERIC_TAGS:
                value, = value.values()
            if not isinstance(value, (int, float)):
                raise PFARuntimeException("bad value type", code + 1, name, None)
            compare_numbers = _NUMERIC_OPS.get(op)
            if compare_numbers is None:
                raise PFARuntimeException("invalid comparison operator", code, name, None)
            return compare_numbers(x, value)
        order = _ORDER_OPS.get(op)
        if order is None:
            raise PFARuntimeException("invalid comparison operator", code, name, None)
        return order(_titus_compare(value_type, x, value))

    if not (numeric and order_ok and untag_names is None):
        return slow
    numeric_ops = _NUMERIC_OPS
    float_type = float

    if missing_operators:
        def fast(x: Any, op: Any, value: Any) -> Any:
            compare_numbers = numeric_ops.get(op)
            if compare_numbers is not None and value.__class__ is float_type:
                return compare_numbers(x, value)
            return slow(x, op, value)
    else:
        def fast(x: Any, op: Any, value: Any) -> Any:
            compare_numbers = numeric_ops.get(op)
            if compare_numbers is not None and value.__class__ is float_type and x is not None:
                return compare_numbers(x, value)
            return slow(x, op, value)
    return fast


def _comparators(datum_type: Any, node_type: Any, missing_operators: bool, code: int, name: str) -> Dict[str, Any]:
    """Field name -> comparator, for the datum and node types of one call site."""
    value_type = _field_type(node_type, "value")
    return {field.name: _comparator(field.avroType, value_type, missing_operators, code, name)
            for field in datum_type.fields}


def _compare(table: Dict[str, Comparator], datum: Dict[str, Any], comparison: Dict[str, Any]) -> Any:
    field = comparison["field"]
    return table[field](datum[field], comparison["operator"], comparison["value"])


def _compare_tagged(table: Dict[str, Comparator], datum: Dict[str, Any], comparison: Dict[str, Any]) -> Any:
    """``missingTest`` answers a boolean as titus does: tagged (``{"boolean": ...}``), or null."""
    field = comparison["field"]
    out = table[field](datum[field], comparison["operator"], comparison["value"])
    if out is True:
        return {"boolean": True}
    if out is False:
        return {"boolean": False}
    return out


@native("model.tree.simpleTest")
def _simple_test(site: Site) -> Optional[str]:
    table = _comparators(site.param_types[0], site.param_types[1], True, 32000, site.name)
    return site.call(_compare, site.const(table))


@native("model.tree.missingTest")
def _missing_test(site: Site) -> Optional[str]:
    table = _comparators(site.param_types[0], site.param_types[1], False, 32010, site.name)
    return site.call(_compare_tagged, site.const(table))


# ---------------------------------------------------------------- walks


def _node_name(node_type: Any) -> str:
    """The tag of a node in a branch, as titus reads it (``paramTypes[1]["name"]``)."""
    return str(json.loads(repr(node_type))["name"])


def _simple_walk(name: str, datum: Any, node: Dict[str, Any], test: Callable[[Any, Any], Any]) -> Any:
    while True:
        union = node["pass"] if test(datum, node) else node["fail"]
        if union is None:
            return None
        (tag, node), = union.items()
        if tag != name:
            return node


@native("model.tree.simpleWalk")
def _emit_simple_walk(site: Site) -> Optional[str]:
    return site.call(_simple_walk, site.const(_node_name(site.param_types[1])))


def _missing_walk(name: str, datum: Any, node: Dict[str, Any], test: Callable[[Any, Any], Any]) -> Any:
    while True:
        result = test(datum, node)
        if result is True or result == _TAGGED_TRUE:
            union = node["pass"]
        elif result is False or result == _TAGGED_FALSE:
            union = node["fail"]
        elif result is None:
            union = node["missing"]
        if union is None:
            return None
        (tag, node), = union.items()
        if tag != name:
            return node


@native("model.tree.missingWalk")
def _emit_missing_walk(site: Site) -> Optional[str]:
    return site.call(_missing_walk, site.const(_node_name(site.param_types[1])))


def _simple_tree(name: str, table: Dict[str, Comparator], datum: Dict[str, Any], node: Dict[str, Any]) -> Any:
    while True:
        field = node["field"]
        if table[field](datum[field], node["operator"], node["value"]):
            union = node["pass"]
        else:
            union = node["fail"]
        if union is None:
            return None
        (tag, node), = union.items()
        if tag != name:
            return node


@native("model.tree.simpleTree")
def _emit_simple_tree(site: Site) -> Optional[str]:
    table = _comparators(site.param_types[0], site.param_types[1], True, 32060, site.name)
    return site.call(_simple_tree, site.const(_node_name(site.param_types[1])), site.const(table))


# ---------------------------------------------------------------- combinations of tests


def _compound_test(datum: Any, op: str, comparisons: List[Any], test: Callable[[Any, Any], Any]) -> bool:
    if op == "and":
        for comparison in comparisons:
            if test(datum, comparison) is False:
                return False
        return True
    if op == "or":
        for comparison in comparisons:
            if test(datum, comparison) is True:
                return True
        return False
    if op == "xor":
        true_count = 0
        for comparison in comparisons:
            if test(datum, comparison) is True:
                true_count += 1
        return true_count % 2 == 1
    raise PFARuntimeException("unrecognized logical operator", 32020, "model.tree.compoundTest", None)


@native("model.tree.compoundTest")
def _emit_compound_test(site: Site) -> Optional[str]:
    return site.call(_compound_test)


def _surrogate_test(datum: Any, comparisons: List[Any], missing_test: Callable[[Any, Any], Any]) -> Any:
    for comparison in comparisons:
        result = missing_test(datum, comparison)
        if result is not None:
            if isinstance(result, dict) and list(result.keys()) == ["boolean"]:
                return list(result.values())[0]
            return result
    raise PFARuntimeException("no successful surrogate", 32030, "model.tree.surrogateTest", None)


@native("model.tree.surrogateTest")
def _emit_surrogate_test(site: Site) -> Optional[str]:
    return site.call(_surrogate_test)
