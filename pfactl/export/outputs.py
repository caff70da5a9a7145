"""What classifiers return: the label of a class index, or the map of class probabilities.

Shared by the linear, naive Bayes and nearest-neighbour exporters, with the two
link functions written so that ``m.exp`` never overflows (titus's ``m.exp``
raises instead of returning infinity).
"""

from typing import Any, Sequence, Tuple

from .builder import DOUBLE_ARRAY, LABEL, AvroType, DocumentBuilder, ExportError, Expr, label_type

PROBA_TYPE: AvroType = {"type": "map", "values": "double"}


def fn(params: Sequence[Tuple[str, AvroType]], ret: AvroType, do: Any) -> Expr:
    """An inline PFA function (it may read, not write, the variables around it)."""
    return {"params": [{name: avro_type} for name, avro_type in params], "ret": ret, "do": do}


def no_probabilities(estimator: Any, output: str) -> None:
    """Raise for ``output="proba"`` on an estimator that has no class probabilities."""
    if output != LABEL:
        raise ExportError(f"{type(estimator).__name__} gives no class probabilities: use output='label'")


def class_label(builder: DocumentBuilder, classes: Sequence[Any], index: Expr) -> Tuple[AvroType, Expr]:
    """The label at ``index`` (an ``int`` expression) of ``classes``, from a cell of the labels."""
    avro_type, to_json = label_type(classes)
    cell = builder.cell("classes", {"type": "array", "items": avro_type}, [to_json(label) for label in classes])
    return avro_type, {"attr": cell, "path": [index]}


def class_probabilities(builder: DocumentBuilder, classes: Sequence[Any], probabilities: str,
                        features: Expr) -> Tuple[AvroType, Expr]:
    """The map ``str(label) -> probability`` from the user function ``probabilities``
    (``array<double> -> array<double>``, one value per class in ``classes`` order)."""
    _, to_json = label_type(classes)
    keys = [str(to_json(label)) for label in classes]
    to_map = builder.fcn("probability_map", {"x": DOUBLE_ARRAY}, PROBA_TYPE, [
        {"let": {"p": {probabilities: ["x"]}}},
        {"new": {key: {"attr": "p", "path": [index]} for index, key in enumerate(keys)}, "type": PROBA_TYPE},
    ])
    return PROBA_TYPE, {to_map: [features]}


def logistic(builder: DocumentBuilder) -> str:
    """User function ``double -> double``: 1 / (1 + exp(-z)), scipy's ``expit``."""
    return builder.fcn("logistic", {"z": "double"}, "double", {
        "if": {">=": ["z", 0.0]},
        "then": {"/": [1.0, {"+": [1.0, {"m.exp": {"u-": "z"}}]}]},
        "else": [{"let": {"ez": {"m.exp": "z"}}}, {"/": ["ez", {"+": [1.0, "ez"]}]}],
    })


def softmax(builder: DocumentBuilder) -> str:
    """User function ``array<double> -> array<double>``, computed as scikit-learn's ``softmax``
    (subtract the maximum, exponentiate, divide by the sum)."""
    return builder.fcn("softmax", {"z": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
        {"let": {"top": {"a.max": ["z"]}}},
        {"let": {"e": {"a.map": ["z", fn([("v", "double")], "double", {"m.exp": {"-": ["v", "top"]}})]}}},
        {"let": {"total": {"a.sum": ["e"]}}},
        {"a.map": ["e", fn([("v", "double")], "double", {"/": ["v", "total"]})]},
    ])
