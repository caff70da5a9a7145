"""k-nearest-neighbours classification (Euclidean distance, uniform or distance weights).

The training points are a cell in scikit-learn's order, as records with a
``center``, so that ``model.cluster.closestN`` finds the k nearest natively (by
squared distance) and returns them with their class. Its squares are
``(a - b) ** 2``, whose last bit can differ from the ``t * t`` of scikit-learn;
distances (``metric.simpleEuclidean``, for weights) agree within an ulp.

Of points at the k-th distance, the export keeps those first in training order.
scikit-learn promises no order (its documentation warns that the result then
depends on the order of the training data): which tied points survive its heap
(brute force) or tree walk depends on the search. With brute force (more than 15
features, sparse data, or ``algorithm="brute"``) it also computes distances as
``|x|^2 - 2 x.y + |y|^2``, so near-ties may fall differently and a training point
is not at distance exactly 0 of itself. On the continuous data sets tested (Iris
and Wine by KD tree, test and training rows; Breast cancer and Sonar by brute
force, test rows) the results agree; on purely one-hot data, where ties are
everywhere, labels can differ (all-categorical Iris, k=9: 5 of 45 test rows).

Votes are scikit-learn's: each neighbour adds its weight (1, or 1/distance; if
some neighbour is at distance 0, those neighbours weigh 1 and the others 0) to
its class, in order of distance. The label is the class with the most votes, the
first one of equal votes (``predict``'s tie rule); the probabilities are the
votes divided by their sum (``predict_proba``).
"""

from typing import Dict, List, Tuple

from scipy.sparse import issparse
from sklearn.neighbors import KNeighborsClassifier

from .builder import DOUBLE_ARRAY, LABEL, AvroType, DocumentBuilder, Exporter, ExportError, Expr
from .outputs import class_label, class_probabilities, fn

POINT = "TrainingPoint"


def _check(estimator: KNeighborsClassifier) -> None:
    if estimator.effective_metric_ != "euclidean" or estimator.effective_metric_params_:
        raise ExportError(f"KNeighborsClassifier with metric {estimator.effective_metric_!r} is not supported; "
                          f"only Euclidean distance (metric='minkowski' with p=2, or 'euclidean')")
    if estimator.weights not in ("uniform", "distance"):
        raise ExportError("KNeighborsClassifier with a weights function is not supported; "
                          "use weights='uniform' or 'distance'")
    if estimator.outputs_2d_:
        raise ExportError("KNeighborsClassifier fitted on several targets is not supported")


def _votes(estimator: KNeighborsClassifier, builder: DocumentBuilder) -> str:
    """User function ``array<double> -> array<double>``: the weighted votes per class."""
    point_type = builder.named_type(POINT, {
        "type": "record", "name": POINT,
        "fields": [{"name": "center", "type": DOUBLE_ARRAY}, {"name": "y", "type": "int"}]})
    # _fit_X and _y (class indices) are the training data exactly as the fitted model searches it.
    training = estimator._fit_X.toarray() if issparse(estimator._fit_X) else estimator._fit_X
    points = builder.cell("training_points", {"type": "array", "items": point_type},
                          [{"center": [float(value) for value in row], "y": int(label)}
                           for row, label in zip(training, estimator._y, strict=True)])
    body: List[Expr] = [{"let": {"nearest": {"model.cluster.closestN": [estimator.n_neighbors, "x", points]}}}]
    if estimator.weights == "uniform":
        body.append({"let": {"weights": {"a.map": ["nearest", fn([("n", POINT)], "double", 1.0)]}}})
    else:
        body += [
            {"let": {"inverse": {"a.map": ["nearest", fn([("n", POINT)], "double", {
                "/": [1.0, {"metric.simpleEuclidean": ["x", "n.center"]}]})]}}},
            {"let": {"weights": {
                "if": {"a.any": ["inverse", fn([("w", "double")], "boolean", {"impute.isinf": "w"})]},
                "then": {"a.map": ["inverse", fn([("w", "double")], "double", {
                    "if": {"impute.isinf": "w"}, "then": 1.0, "else": 0.0})]},
                "else": "inverse"}}},
        ]
    body.append({"new": [
        {"a.sum": [{"a.zipmap": ["nearest", "weights", fn([("n", POINT), ("w", "double")], "double", {
            "if": {"==": ["n.y", index]}, "then": "w", "else": 0.0})]}]}
        for index in range(len(estimator.classes_))], "type": DOUBLE_ARRAY})
    return builder.fcn("neighbor_votes", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, body)


def export_k_neighbors(estimator: KNeighborsClassifier, builder: DocumentBuilder, features: Expr,
                       output: str) -> Tuple[AvroType, Expr]:
    _check(estimator)
    votes = _votes(estimator, builder)
    if output == LABEL:
        return class_label(builder, estimator.classes_, {"a.argmax": [{votes: [features]}]})
    probabilities = builder.fcn("neighbor_probabilities", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
        {"let": {"v": {votes: ["x"]}}},
        {"let": {"total": {"a.sum": ["v"]}}},
        {"a.map": ["v", fn([("w", "double")], "double", {"/": ["w", "total"]})]},
    ])
    return class_probabilities(builder, estimator.classes_, probabilities, features)


EXPORTERS: Dict[type, Exporter] = {KNeighborsClassifier: export_k_neighbors}
