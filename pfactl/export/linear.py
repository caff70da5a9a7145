"""Linear models: least-squares regressors and logistic regression.

Regressors (LinearRegression, Ridge, Lasso, ElasticNet) give ``model.reg.linear``
of the coefficients and intercept in a cell. LogisticRegression gives scikit-learn's
``predict``: with two classes the second when the linear score is positive,
otherwise the class of the highest score (the first of equal ones, as
``numpy.argmax``); and its ``predict_proba``: the logistic of the score with two
classes, the softmax of the scores otherwise.
"""

from typing import Any, Dict, Tuple

import numpy as np
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge

from .builder import DOUBLE_ARRAY, LABEL, AvroType, DocumentBuilder, Exporter, ExportError, Expr
from .outputs import class_label, class_probabilities, logistic, no_probabilities, softmax

LINEAR = "LinearModel"
MULTI_LINEAR = "MultiLinearModel"


def _coefficients(estimator: Any) -> Tuple[np.ndarray, np.ndarray]:
    coef = np.asarray(estimator.coef_, dtype=float)
    intercept = np.asarray(estimator.intercept_, dtype=float)
    if not (np.isfinite(coef).all() and np.isfinite(intercept).all()):
        raise ExportError(f"{type(estimator).__name__} has non-finite coefficients (did the fit diverge?)")
    return coef, intercept


def _single_target(estimator: Any) -> Tuple[np.ndarray, float]:
    coef, intercept = _coefficients(estimator)
    if coef.ndim != 1:
        raise ExportError(f"{type(estimator).__name__} was fitted on {coef.shape[0]} targets; "
                          f"only single-target models are supported")
    return coef, float(intercept)


def _linear_cell(builder: DocumentBuilder, coef: np.ndarray, intercept: float) -> Expr:
    model_type = builder.named_type(LINEAR, {
        "type": "record", "name": LINEAR,
        "fields": [{"name": "coeff", "type": DOUBLE_ARRAY}, {"name": "const", "type": "double"}]})
    return builder.cell("linear", model_type, {"coeff": coef.tolist(), "const": intercept})


def _multi_linear_cell(builder: DocumentBuilder, coef: np.ndarray, intercept: np.ndarray) -> Expr:
    model_type = builder.named_type(MULTI_LINEAR, {
        "type": "record", "name": MULTI_LINEAR,
        "fields": [{"name": "coeff", "type": {"type": "array", "items": DOUBLE_ARRAY}},
                   {"name": "const", "type": DOUBLE_ARRAY}]})
    return builder.cell("linear", model_type, {"coeff": coef.tolist(), "const": intercept.tolist()})


def export_regressor(estimator: Any, builder: DocumentBuilder, features: Expr, output: str) -> Tuple[AvroType, Expr]:
    no_probabilities(estimator, output)
    coef, intercept = _single_target(estimator)
    return "double", {"model.reg.linear": [features, _linear_cell(builder, coef, intercept)]}


def export_logistic_regression(estimator: LogisticRegression, builder: DocumentBuilder, features: Expr,
                               output: str) -> Tuple[AvroType, Expr]:
    classes = estimator.classes_
    coef, intercept = _coefficients(estimator)
    if len(classes) == 2:
        model = _linear_cell(builder, coef[0], float(intercept[0]))
        if output == LABEL:
            positive = {"if": {">": [{"model.reg.linear": [features, model]}, 0.0]}, "then": 1, "else": 0}
            return class_label(builder, classes, positive)
        expit = logistic(builder)
        probabilities = builder.fcn("logistic_regression_probabilities", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
            {"let": {"p1": {expit: [{"model.reg.linear": ["x", model]}]}}},
            {"new": [{"-": [1.0, "p1"]}, "p1"], "type": DOUBLE_ARRAY},
        ])
        return class_probabilities(builder, classes, probabilities, features)
    model = _multi_linear_cell(builder, coef, intercept)
    if output == LABEL:
        return class_label(builder, classes, {"a.argmax": [{"model.reg.linear": [features, model]}]})
    normalise = softmax(builder)
    probabilities = builder.fcn("logistic_regression_probabilities", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY,
                                {normalise: [{"model.reg.linear": ["x", model]}]})
    return class_probabilities(builder, classes, probabilities, features)


EXPORTERS: Dict[type, Exporter] = {  # exact types: a subclass may predict differently
    LinearRegression: export_regressor,
    Ridge: export_regressor,
    Lasso: export_regressor,
    ElasticNet: export_regressor,
    LogisticRegression: export_logistic_regression,
}
