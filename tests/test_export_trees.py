"""Fidelity of the tree exporters: every test row scores in PFA (compiled as the service does) as in scikit-learn.

Labels must be identical; probabilities and values agree within 1e-9 relative.
"""

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from chalicelib.served_model import ServedModel, compile_served
from pfactl.export import to_pfa
from pfactl.export.builder import LABEL, PROBA, ExportError, label_type
from pfactl.export.trees import split_boundary

DATA_DIR = Path(__file__).resolve().parent / "data"
CLOSE = {"rel": 1e-9, "abs": 1e-12}


def _sonar() -> Tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(DATA_DIR / "sonar.csv")
    return frame.drop(columns="Class").to_numpy(), frame["Class"].to_numpy()


DATASETS: Dict[str, Callable[[], Tuple[np.ndarray, np.ndarray]]] = {
    "iris": lambda: load_iris(return_X_y=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "sonar": _sonar,
}


def _split(dataset: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    features, target = DATASETS[dataset]()
    return train_test_split(features, target, test_size=0.3, random_state=0)


def _serve(estimator: Any, output: str) -> ServedModel:
    """The estimator exported by :func:`to_pfa` (input fields ``x0..xN``), compiled as the service does."""
    names = [f"x{i}" for i in range(estimator.n_features_in_)]
    return compile_served(json.dumps(to_pfa(estimator, feature_names=names, output=output)).encode(), "m.pfa")


def _records(rows: np.ndarray) -> List[Dict[str, float]]:
    return [{f"x{i}": float(value) for i, value in enumerate(row)} for row in rows]


def _assert_classifier_fidelity(estimator: Any, test_rows: np.ndarray) -> None:
    records = _records(test_rows)
    _, to_json = label_type(estimator.classes_)
    labels = _serve(estimator, LABEL)
    assert [labels.predict(record) for record in records] == [to_json(y) for y in estimator.predict(test_rows)]
    probabilities = _serve(estimator, PROBA)
    keys = [str(label) for label in estimator.classes_]
    for record, expected in zip(records, estimator.predict_proba(test_rows), strict=True):
        assert probabilities.predict(record) == pytest.approx(dict(zip(keys, expected.tolist(), strict=True)), **CLOSE)


def _assert_regressor_fidelity(estimator: Any, test_rows: Any) -> None:
    values = _serve(estimator, LABEL)
    predicted = [values.predict(record) for record in _records(np.asarray(test_rows))]
    assert predicted == pytest.approx(estimator.predict(test_rows).tolist(), **CLOSE)


@pytest.mark.parametrize("dataset", ["iris", "breast_cancer", "wine", "sonar"])
def test_decision_tree_classifier(dataset: str) -> None:
    train_x, test_x, train_y, _ = _split(dataset)
    _assert_classifier_fidelity(DecisionTreeClassifier(random_state=0).fit(train_x, train_y), test_x)


@pytest.mark.parametrize("dataset", ["iris", "wine", "sonar"])
def test_random_forest_classifier(dataset: str) -> None:
    train_x, test_x, train_y, _ = _split(dataset)
    _assert_classifier_fidelity(RandomForestClassifier(n_estimators=30, random_state=0).fit(train_x, train_y), test_x)


@pytest.mark.parametrize("dataset, loss", [
    ("breast_cancer", "log_loss"),
    ("breast_cancer", "exponential"),
    ("sonar", "log_loss"),
    ("iris", "log_loss"),
    ("wine", "log_loss"),
])
def test_gradient_boosting_classifier(dataset: str, loss: str) -> None:
    train_x, test_x, train_y, _ = _split(dataset)
    estimator = GradientBoostingClassifier(n_estimators=30, loss=loss, random_state=0).fit(train_x, train_y)
    _assert_classifier_fidelity(estimator, test_x)


def test_gradient_boosting_classifier_with_raw_scores_beyond_exp_overflow() -> None:
    train_x, test_x, train_y, _ = _split("breast_cancer")
    estimator = GradientBoostingClassifier(n_estimators=5, learning_rate=300.0, random_state=0).fit(train_x, train_y)
    assert estimator.decision_function(test_x).min() < -745  # exp(-raw) overflows, exp(raw) underflows to 0
    _assert_classifier_fidelity(estimator, test_x)


@pytest.mark.parametrize("make", [
    lambda: DecisionTreeRegressor(random_state=0),
    lambda: RandomForestRegressor(n_estimators=30, random_state=0),
    lambda: GradientBoostingRegressor(n_estimators=50, random_state=0),
    lambda: GradientBoostingRegressor(n_estimators=30, loss="absolute_error", random_state=0),
    lambda: GradientBoostingRegressor(n_estimators=30, init="zero", learning_rate=0.3, random_state=0),
], ids=["tree", "forest", "boosting", "boosting-median-init", "boosting-zero-init"])
def test_regressors_on_diabetes(make: Callable[[], Any]) -> None:
    train_x, test_x, train_y, _ = _split("diabetes")
    _assert_regressor_fidelity(make().fit(train_x, train_y), test_x)


def test_a_regressor_fitted_on_a_data_frame_on_sonar() -> None:
    frame = pd.read_csv(DATA_DIR / "sonar.csv")
    features = frame.drop(columns=["Class", "V60"])
    train_x, test_x, train_y, _ = train_test_split(features, frame["V60"], test_size=0.3, random_state=0)
    estimator = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(train_x, train_y)
    _assert_regressor_fidelity(estimator, test_x)


def test_after_preprocessing_in_a_pipeline() -> None:
    train_x, test_x, train_y, _ = _split("wine")
    classifier = make_pipeline(StandardScaler(), GradientBoostingClassifier(n_estimators=30, random_state=0))
    _assert_classifier_fidelity(classifier.fit(train_x, train_y), test_x)
    train_x, test_x, train_y, _ = _split("diabetes")
    regressor = make_pipeline(MinMaxScaler(), RandomForestRegressor(n_estimators=30, random_state=0))
    _assert_regressor_fidelity(regressor.fit(train_x, train_y), test_x)


@pytest.mark.parametrize("threshold", [
    0.800000011920929, 1.75, 0.5, 0.0, -0.0, -2.5e-45, 1e-45, -1.5, 3.4e38, -3.4e38, 16777217.0, 0.1, -0.1,
    float(np.float32(0.1)), float(np.float32(-0.1)), 2.0 ** -149, 1.1754943508222875e-38,
])
def test_split_boundary_is_where_the_float32_comparison_changes(threshold: float) -> None:
    boundary = split_boundary(threshold)
    assert np.float32(boundary) <= threshold
    assert not np.float32(np.nextafter(boundary, np.inf)) <= threshold


def test_split_boundary_on_random_thresholds() -> None:
    generator = np.random.default_rng(0)
    low = np.sort(generator.standard_normal((2000, 2)).astype(np.float32), axis=1)
    adjacent = np.nextafter(low[:, 0], np.float32(np.inf))
    thresholds = np.concatenate([
        (low[:, 0].astype(np.float64) + low[:, 1]) / 2,  # scikit-learn's thresholds: midpoints of float32 values
        (low[:, 0].astype(np.float64) + adjacent) / 2,  # ties, where float32 rounding goes to the even neighbour
        low[:, 0].astype(np.float64),
        generator.standard_normal(2000) * 10.0 ** generator.integers(-45, 37, 2000),
    ])
    for threshold in thresholds:
        boundary = split_boundary(threshold)
        assert np.float32(boundary) <= threshold
        assert not np.float32(np.nextafter(boundary, np.inf)) <= threshold


def _near(threshold: float) -> List[float]:
    """A threshold, its boundary and its float32 neighbours, each also one ulp below and above.

    One ulp above the threshold is above it, yet scikit-learn (in float32) sends it to the left.
    """
    boundary = split_boundary(threshold)
    float32_below = np.float32(threshold)
    if float32_below > threshold:
        float32_below = np.nextafter(float32_below, np.float32(-np.inf))
    float32_above = np.nextafter(float32_below, np.float32(np.inf))
    values = [threshold, boundary, float(float32_below), float(float32_above)]
    return values + [float(np.nextafter(value, direction)) for value in values for direction in (-np.inf, np.inf)]


def test_decision_tree_at_its_thresholds() -> None:
    """Every split is tested with a row that reaches it, its feature set to values around the threshold."""
    train_x, _, train_y, _ = _split("diabetes")
    estimator = DecisionTreeRegressor(max_leaf_nodes=60, random_state=0).fit(train_x, train_y)
    tree = estimator.tree_
    paths = estimator.decision_path(train_x).tocsc()
    rows = []
    for node in np.flatnonzero(tree.children_left >= 0):
        reaching = train_x[paths[:, node].indices[0]]
        feature, boundary = tree.feature[node], split_boundary(tree.threshold[node])
        for value in _near(float(tree.threshold[node])):
            row = reaching.copy()
            row[feature] = value
            rows.append(row)
        across = np.array([reaching, reaching])
        across[:, feature] = [boundary, np.nextafter(boundary, np.inf)]
        goes_left = estimator.decision_path(across)[:, tree.children_left[node]].toarray().ravel()
        assert goes_left.tolist() == [1, 0]
    rows = np.array(rows)
    assert len(set(estimator.apply(rows))) > 40
    _assert_regressor_fidelity(estimator, rows)


def test_a_tree_that_is_a_single_leaf() -> None:
    features = np.arange(20.0).reshape(10, 2)
    estimator = DecisionTreeRegressor().fit(features, np.full(10, 4.25))
    assert estimator.tree_.node_count == 1
    assert _serve(estimator, LABEL).predict({"x0": 1.0, "x1": -3.0}) == 4.25


def test_a_regressor_has_no_probabilities() -> None:
    train_x, _, train_y, _ = _split("diabetes")
    estimator = DecisionTreeRegressor(max_depth=2).fit(train_x, train_y)
    with pytest.raises(ExportError, match="no probabilities"):
        to_pfa(estimator, output=PROBA)


def test_a_boosting_init_estimator_that_depends_on_the_input_is_refused() -> None:
    train_x, _, train_y, _ = _split("diabetes")
    estimator = GradientBoostingRegressor(n_estimators=3, init=DecisionTreeRegressor(max_depth=2)).fit(train_x, train_y)
    with pytest.raises(ExportError, match="init estimator"):
        to_pfa(estimator)


def test_multi_output_trees_are_refused() -> None:
    train_x, _, train_y, _ = _split("diabetes")
    estimator = DecisionTreeRegressor(max_depth=2).fit(train_x, np.column_stack([train_y, train_y]))
    with pytest.raises(ExportError, match="outputs"):
        to_pfa(estimator)
