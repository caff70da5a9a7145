"""Fidelity of the k-means exporter: cluster ids of real data, and ties going to the lowest id."""

import numpy as np
import pytest
from export_support import assert_fidelity, serve, split
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pfactl.export import ExportError


@pytest.mark.parametrize("dataset,clusters", [("iris", 3), ("wine", 5), ("sonar", 4)])
def test_kmeans(dataset, clusters):
    train, test, _, _ = split(dataset)
    model = make_pipeline(StandardScaler(), KMeans(clusters, n_init=3, random_state=0)).fit(train)
    assert_fidelity(model, test)
    assert_fidelity(model, train)


def test_a_point_halfway_between_centres_goes_to_the_lower_id():
    points = np.array([[4.0, 1.0], [4.0, -1.0], [0.0, 1.0], [0.0, -1.0]])
    model = KMeans(2, n_init=1, random_state=0).fit(points)
    halfway = np.array([[2.0, 0.0], [2.0, 5.0]])
    assert model.predict(halfway).tolist() == [0, 0]
    assert_fidelity(model, halfway)


def test_kmeans_has_no_probabilities():
    train, _, _, _ = split("iris")
    with pytest.raises(ExportError, match="KMeans gives no class probabilities"):
        serve(KMeans(3, n_init=1, random_state=0).fit(train), "proba")
