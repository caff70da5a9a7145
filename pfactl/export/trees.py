"""Decision trees, random forests and gradient-boosted trees to PFA.

Every tree is a nested record in a cell: a split node holds a feature index, a
threshold and two children (``pass``, ``fail``), each another node or a leaf.
Classifier trees have class-probability leaves (``array<double>``, type
``TreeProbaNode``), regression trees a value (``double``, ``TreeValueNode``).
``model.tree.simpleWalk`` walks a tree, going to ``pass`` when
``x[feature] <= threshold``; it walks records only, so the feature vector is
wrapped in a ``TreeFeatures`` record. Measured on a 100-tree forest, this is
faster than ``model.tree.simpleTree`` over a record of named features and than a
recursive user function (titus's ``cast`` re-decodes the subtree it is given).

Exactness: scikit-learn compares ``float32(x) <= threshold``; each threshold is
exported as the double at which that comparison changes (:func:`split_boundary`),
so every double input goes the same way as in scikit-learn. Ensembles add their
trees in scikit-learn's order with its operations, so results agree to the last
bits except for ``exp`` and, with 8 classes or more, numpy's pairwise sum in the
multiclass softmax.
"""

import warnings
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from .builder import DOUBLE_ARRAY, LABEL, PROBA, AvroType, DocumentBuilder, Exporter, ExportError, Expr, label_type

FEATURES_TYPE = "TreeFeatures"
PROBA_NODE = "TreeProbaNode"
VALUE_NODE = "TreeValueNode"
_LEAF = -1  # scikit-learn's child index of a leaf
_EXP_OVERFLOW = 709.0  # math.exp (titus's m.exp) raises beyond ~709.78


def split_boundary(threshold: float) -> float:
    """The double ``b`` such that, for every double ``x``, ``float32(x) <= threshold`` iff ``x <= b``.

    ``float32(x) <= threshold`` iff ``float32(x) <= f``, ``f`` the largest float32
    not above ``threshold``; that holds below the midpoint between ``f`` and the
    next float32, and at the midpoint itself iff it rounds (half to even) to ``f``.
    """
    t = float(threshold)
    below = np.float32(t)
    if float(below) > t:
        below = np.nextafter(below, np.float32(-np.inf))
    above = np.nextafter(below, np.float32(np.inf))
    midpoint = (float(below) + float(above)) / 2  # exact: two adjacent float32s need 25 bits
    if np.float32(midpoint) == below:
        return midpoint
    return float(np.nextafter(midpoint, -np.inf))


def _node_type(builder: DocumentBuilder, name: str, leaf: AvroType) -> AvroType:
    return builder.named_type(name, {
        "type": "record", "name": name,
        "fields": [
            {"name": "feature", "type": "int"},
            {"name": "threshold", "type": "double"},
            {"name": "pass", "type": [name, leaf]},
            {"name": "fail", "type": [name, leaf]},
        ],
    })


def _proba_leaf(tree: Any, node: int) -> Dict[str, Any]:
    # scikit-learn (since 1.4) keeps class fractions in tree_.value; predict_proba returns them as they are.
    return {"array": [float(v) for v in tree.value[node, 0, :]]}


def _value_leaf(tree: Any, node: int) -> Dict[str, Any]:
    return {"double": float(tree.value[node, 0, 0])}


def _tree_json(fitted: Any, node_name: str, leaf: Callable[[Any, int], Any]) -> Dict[str, Any]:
    """A fitted scikit-learn tree as the untagged root record of ``node_name``."""
    tree = fitted.tree_
    if tree.n_outputs != 1:
        raise ExportError(f"{type(fitted).__name__} with {tree.n_outputs} outputs is not supported (only one)")

    def child(node: int) -> Dict[str, Any]:
        if tree.children_left[node] == _LEAF:
            return leaf(tree, node)
        return {node_name: {
            "feature": int(tree.feature[node]),
            "threshold": split_boundary(tree.threshold[node]),
            "pass": child(int(tree.children_left[node])),
            "fail": child(int(tree.children_right[node])),
        }}

    root = child(0)
    if node_name in root:
        return root[node_name]
    # A single-leaf tree: simpleWalk needs a node, so one whose branches agree.
    return {"feature": 0, "threshold": 0.0, "pass": root, "fail": root}


def _features(builder: DocumentBuilder, vector: Expr) -> Expr:
    record = builder.named_type(FEATURES_TYPE, {
        "type": "record", "name": FEATURES_TYPE, "fields": [{"name": "x", "type": DOUBLE_ARRAY}]})
    return {"new": {"x": vector}, "type": record}


def _walk(datum: Expr, tree: Expr, node_name: str) -> Expr:
    """The leaf that ``tree`` (a ``node_name`` expression) reaches for ``datum`` (a ``TreeFeatures``)."""
    # x <= threshold, computed as "ln(threshold - x) is not NaN": titus's comparison operators parse
    # an Avro schema on every call, which doubles a forest's scoring time. It is exact: the difference
    # of two doubles is >= 0 iff x <= threshold (rounding keeps the sign; subnormals keep it nonzero),
    # and m.ln is NaN for negative (and NaN) arguments only.
    x = {"attr": "d.x", "path": ["t.feature"]}
    goes_pass = {"params": [{"d": FEATURES_TYPE}, {"t": node_name}], "ret": "boolean",
                 "do": {"!": [{"impute.isnan": [{"m.ln": [{"-": ["t.threshold", x]}]}]}]}}
    return {"model.tree.simpleWalk": [datum, tree, goes_pass]}


def _fn(params: List[Dict[str, AvroType]], ret: AvroType, do: Expr) -> Expr:
    return {"params": params, "ret": ret, "do": do}


def _proba_map(builder: DocumentBuilder, estimator: Any, proba: Expr) -> Tuple[AvroType, Expr]:
    """The probability map, keyed by ``str(label)``, of ``proba`` (``array<double>`` in ``classes_`` order)."""
    name = type(estimator).__name__
    keys = [str(label) for label in estimator.classes_]
    if len(set(keys)) != len(keys):
        raise ExportError(f"{name}: class labels {keys} are not distinct as strings")
    map_type = {"type": "map", "values": "double"}
    to_map = builder.fcn(f"{name}_proba_map", {"p": DOUBLE_ARRAY}, map_type, {
        "new": {key: {"attr": "p", "path": [i]} for i, key in enumerate(keys)}, "type": map_type})
    return map_type, {to_map: [proba]}


def _label_at(builder: DocumentBuilder, estimator: Any, index: Expr) -> Tuple[AvroType, Expr]:
    """``classes_[index]``, typed by :func:`label_type`."""
    avro_type, to_json = label_type(estimator.classes_)
    labels = builder.cell(f"{type(estimator).__name__}_classes", {"type": "array", "items": avro_type},
                          [to_json(label) for label in estimator.classes_])
    return avro_type, {**labels, "path": [index]}


def _from_proba(builder: DocumentBuilder, estimator: Any, proba: Expr, output: str) -> Tuple[AvroType, Expr]:
    """The output of a classifier predicting the class of highest probability (the first on ties)."""
    if output == PROBA:
        return _proba_map(builder, estimator, proba)
    return _label_at(builder, estimator, {"a.argmax": [proba]})


def _check_output(estimator: Any, output: str, classifier: bool) -> None:
    if output not in (LABEL, PROBA):
        raise ExportError(f"unknown output {output!r} (use {LABEL!r} or {PROBA!r})")
    if output == PROBA and not classifier:
        raise ExportError(f"{type(estimator).__name__} is a regressor: it has no probabilities")


def _decision_tree_classifier(estimator: Any, builder: DocumentBuilder, features: Expr,
                              output: str) -> Tuple[AvroType, Expr]:
    """As predict_proba: the class fractions of the leaf reached."""
    _check_output(estimator, output, classifier=True)
    node_type = _node_type(builder, PROBA_NODE, DOUBLE_ARRAY)
    tree = builder.cell("decision_tree", node_type, _tree_json(estimator, PROBA_NODE, _proba_leaf))
    proba = builder.fcn("decision_tree_proba", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY,
                        _walk(_features(builder, "x"), tree, PROBA_NODE))
    return _from_proba(builder, estimator, {proba: [features]}, output)


def _decision_tree_regressor(estimator: Any, builder: DocumentBuilder, features: Expr,
                             output: str) -> Tuple[AvroType, Expr]:
    """The value of the leaf reached."""
    _check_output(estimator, output, classifier=False)
    node_type = _node_type(builder, VALUE_NODE, "double")
    tree = builder.cell("decision_tree", node_type, _tree_json(estimator, VALUE_NODE, _value_leaf))
    predict = builder.fcn("decision_tree_predict", {"x": DOUBLE_ARRAY}, "double",
                          _walk(_features(builder, "x"), tree, VALUE_NODE))
    return "double", {predict: [features]}


def _forest_classifier(estimator: Any, builder: DocumentBuilder, features: Expr,
                       output: str) -> Tuple[AvroType, Expr]:
    """Mean of the trees' class fractions, summed in order from zeros then divided (as predict_proba)."""
    _check_output(estimator, output, classifier=True)
    node_type = _node_type(builder, PROBA_NODE, DOUBLE_ARRAY)
    trees = builder.cell("forest", {"type": "array", "items": node_type},
                         [_tree_json(tree, PROBA_NODE, _proba_leaf) for tree in estimator.estimators_])
    zeros = {"value": [0.0] * len(estimator.classes_), "type": DOUBLE_ARRAY}
    add_tree = _fn([{"total": DOUBLE_ARRAY}, {"tree": PROBA_NODE}], DOUBLE_ARRAY,
                   {"la.add": ["total", _walk("d", "tree", PROBA_NODE)]})
    mean = _fn([{"total": "double"}], "double", {"/": ["total", float(len(estimator.estimators_))]})
    proba = builder.fcn("forest_proba", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
        {"let": {"d": _features(builder, "x")}},
        {"a.map": [{"a.fold": [trees, zeros, add_tree]}, mean]},
    ])
    return _from_proba(builder, estimator, {proba: [features]}, output)


def _forest_regressor(estimator: Any, builder: DocumentBuilder, features: Expr,
                      output: str) -> Tuple[AvroType, Expr]:
    """Mean of the trees' values, summed in order from zero then divided (as predict)."""
    _check_output(estimator, output, classifier=False)
    node_type = _node_type(builder, VALUE_NODE, "double")
    trees = builder.cell("forest", {"type": "array", "items": node_type},
                         [_tree_json(tree, VALUE_NODE, _value_leaf) for tree in estimator.estimators_])
    add_tree = _fn([{"total": "double"}, {"tree": VALUE_NODE}], "double",
                   {"+": ["total", _walk("d", "tree", VALUE_NODE)]})
    predict = builder.fcn("forest_predict", {"x": DOUBLE_ARRAY}, "double", [
        {"let": {"d": _features(builder, "x")}},
        {"/": [{"a.fold": [trees, 0.0, add_tree]}, float(len(estimator.estimators_))]},
    ])
    return "double", {predict: [features]}


def _init_raw(estimator: Any) -> List[float]:
    """The init estimator's raw prediction, one per tree column; it must not depend on the input."""
    init = estimator.init_
    constant = (isinstance(init, str) and init == "zero") or isinstance(init, DummyRegressor) or (
        isinstance(init, DummyClassifier) and init.strategy in ("prior", "most_frequent", "constant"))
    if not constant:
        raise ExportError(f"{type(estimator).__name__}: init estimator {init!r} is not supported "
                          "(only the default, 'zero' or a constant DummyClassifier/DummyRegressor)")
    row = np.zeros((1, estimator.n_features_in_), dtype=np.float32)
    with warnings.catch_warnings():
        # A model fitted on a DataFrame warns that this row has no feature names; the value is constant.
        warnings.simplefilter("ignore", UserWarning)
        return [float(v) for v in estimator._raw_predict_init(row)[0]]


def _boosted_raw(estimator: Any, builder: DocumentBuilder) -> str:
    """Registers ``u.<fcn>(x: array<double>) -> array<double>``: the raw score per tree column.

    As scikit-learn's predict_stages: start from the init prediction, then add
    ``learning_rate * leaf value`` stage by stage.
    """
    node_type = _node_type(builder, VALUE_NODE, "double")
    columns = estimator.estimators_.T  # [column][stage]
    trees = builder.cell("boosted_trees", {"type": "array", "items": {"type": "array", "items": node_type}},
                         [[_tree_json(tree, VALUE_NODE, _value_leaf) for tree in column] for column in columns])
    init = {"value": _init_raw(estimator), "type": DOUBLE_ARRAY}
    add_tree = _fn([{"raw": "double"}, {"tree": VALUE_NODE}], "double",
                   {"+": ["raw", {"*": [float(estimator.learning_rate), _walk("d", "tree", VALUE_NODE)]}]})
    column_raw = _fn([{"start": "double"}, {"column": {"type": "array", "items": VALUE_NODE}}], "double",
                     {"a.fold": ["column", "start", add_tree]})
    return builder.fcn("boosted_raw", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
        {"let": {"d": _features(builder, "x")}},
        {"a.zipmap": [init, trees, column_raw]},
    ])


def _expit(z: Expr) -> Expr:
    """scipy's expit, ``1 / (1 + exp(-z))``, for a ``double`` symbol ``z``."""
    # Below -709, exp(-z) can overflow, an error in titus (inf in C); there 1 / (1 + exp(-z)) is
    # exp(z) / (1 + exp(z)) and 1 + exp(z) == 1 in doubles.
    return {"if": {"<": [z, -_EXP_OVERFLOW]},
            "then": {"m.exp": [z]},
            "else": {"/": [1.0, {"+": [1.0, {"m.exp": [{"u-": [z]}]}]}]}}


def _gradient_boosting_classifier(estimator: Any, builder: DocumentBuilder, features: Expr,
                                  output: str) -> Tuple[AvroType, Expr]:
    """Binary: ``p1 = expit(raw)`` (``expit(2 raw)`` for the exponential loss), label ``raw >= 0``;
    multiclass: softmax of the raw scores (shifted by their max, as scikit-learn), label their argmax."""
    _check_output(estimator, output, classifier=True)
    name = type(estimator).__name__
    raw = {_boosted_raw(estimator, builder): [features]}
    binary = len(estimator.classes_) == 2
    if output == LABEL:
        index = ({"if": {">=": [{"attr": raw, "path": [0]}, 0.0]}, "then": 1, "else": 0} if binary
                 else {"a.argmax": [raw]})
        return _label_at(builder, estimator, index)
    if binary:
        scale = 2.0 if estimator.loss == "exponential" else 1.0
        proba = builder.fcn(f"{name}_proba", {"raw": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
            {"let": {"z": {"*": [scale, {"attr": "raw", "path": [0]}]}}},
            {"let": {"p1": _expit("z")}},
            {"new": [{"-": [1.0, "p1"]}, "p1"], "type": DOUBLE_ARRAY},
        ])
    else:
        proba = builder.fcn(f"{name}_proba", {"raw": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
            {"let": {"top": {"a.max": ["raw"]}}},
            {"let": {"e": {"a.map": ["raw", _fn([{"r": "double"}], "double", {"m.exp": [{"-": ["r", "top"]}]})]}}},
            {"let": {"total": {"a.sum": ["e"]}}},
            {"a.map": ["e", _fn([{"v": "double"}], "double", {"/": ["v", "total"]})]},
        ])
    return _proba_map(builder, estimator, {proba: [raw]})


def _gradient_boosting_regressor(estimator: Any, builder: DocumentBuilder, features: Expr,
                                 output: str) -> Tuple[AvroType, Expr]:
    """The raw score (every regression loss has the identity link)."""
    _check_output(estimator, output, classifier=False)
    raw = _boosted_raw(estimator, builder)
    return "double", {"attr": {raw: [features]}, "path": [0]}


EXPORTERS: Dict[type, Exporter] = {  # exact types: a subclass may predict differently
    DecisionTreeClassifier: _decision_tree_classifier,
    DecisionTreeRegressor: _decision_tree_regressor,
    RandomForestClassifier: _forest_classifier,
    RandomForestRegressor: _forest_regressor,
    GradientBoostingClassifier: _gradient_boosting_classifier,
    GradientBoostingRegressor: _gradient_boosting_regressor,
}
