"""Fidelity of the Gaussian naive Bayes exporter on real data."""

import pytest
from export_support import assert_fidelity, split
from sklearn.naive_bayes import GaussianNB


@pytest.mark.parametrize("dataset", ["iris", "wine", "breast_cancer", "sonar"])
def test_gaussian_nb(dataset):
    train, test, y_train, _ = split(dataset)
    assert_fidelity(GaussianNB().fit(train, y_train), test)


def test_gaussian_nb_with_priors_and_smoothing():
    train, test, y_train, _ = split("wine")
    model = GaussianNB(priors=[0.5, 0.3, 0.2], var_smoothing=1e-3).fit(train, y_train)
    assert_fidelity(model, test)
