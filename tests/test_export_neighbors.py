"""Fidelity of the k-nearest-neighbours exporter: the published use case (k=12 on Iris) and more real data."""

import numpy as np
import pytest
from export_support import DATASETS, assert_fidelity, serve, split
from sklearn.neighbors import KNeighborsClassifier

from pfactl.export import ExportError

WEIGHTS = ["uniform", "distance"]


@pytest.mark.parametrize("weights", WEIGHTS)
def test_iris_k12_scores_test_rows_and_every_training_row(weights):
    train, test, y_train, _ = split("iris")
    model = KNeighborsClassifier(12, weights=weights).fit(train, y_train)
    assert_fidelity(model, test)
    # Training rows include duplicates: distance 0 (weight-1 neighbours) and ties at equal distances.
    assert_fidelity(model, train)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_iris_k12_fitted_on_all_rows(weights):
    features, target = DATASETS["iris"]()
    assert_fidelity(KNeighborsClassifier(12, weights=weights).fit(features, target), features)


@pytest.mark.parametrize("dataset,k", [("wine", 7), ("breast_cancer", 5), ("sonar", 12)])
@pytest.mark.parametrize("weights", WEIGHTS)
def test_other_data_sets(dataset, k, weights):
    train, test, y_train, _ = split(dataset)
    assert_fidelity(KNeighborsClassifier(k, weights=weights).fit(train, y_train), test)


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree", "ball_tree"])
def test_equal_votes_go_to_the_first_class_and_equal_distances_to_the_first_points(algorithm):
    # Four points at distance 1 of the origin, alternating classes: k=1 and k=3 cut through the tie, k=2
    # ties the votes. On so few points scikit-learn's searches also keep the first points (in general
    # it promises no order among equal distances).
    points = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [5.0, 5.0]])
    labels = np.array(["b", "a", "b", "a", "a"])
    queries = np.array([[0.0, 0.0], [5.0, 5.0], [0.5, 0.0]])
    for k in (1, 2, 3):
        assert_fidelity(KNeighborsClassifier(k, algorithm=algorithm).fit(points, labels), queries)


def test_other_metrics_are_refused():
    train, _, y_train, _ = split("iris")
    with pytest.raises(ExportError, match="metric 'manhattan' is not supported"):
        serve(KNeighborsClassifier(3, p=1).fit(train, y_train))
