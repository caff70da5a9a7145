"""Fidelity of the linear exporters: least-squares regressors and logistic regression, on real data."""

import pytest
from export_support import assert_fidelity, serve, split
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pfactl.export import ExportError


@pytest.mark.parametrize("regressor", [LinearRegression(), Ridge(alpha=0.5), Lasso(alpha=0.05),
                                       ElasticNet(alpha=0.01, l1_ratio=0.3)], ids=lambda r: type(r).__name__)
def test_regressor_values_on_diabetes(regressor):
    train, test, y_train, _ = split("diabetes")
    assert_fidelity(regressor.fit(train, y_train), test)


def test_regressor_without_intercept_on_numpy_input():
    train, test, y_train, _ = split("diabetes")
    assert_fidelity(Ridge(fit_intercept=False).fit(train.to_numpy(), y_train), test.to_numpy())


@pytest.mark.parametrize("dataset", ["breast_cancer", "sonar"])
def test_binary_logistic_regression(dataset):
    train, test, y_train, _ = split(dataset)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)).fit(train, y_train)
    assert_fidelity(model, test)


@pytest.mark.parametrize("dataset", ["iris", "wine"])
def test_multinomial_logistic_regression(dataset):
    train, test, y_train, _ = split(dataset)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(train, y_train)
    assert_fidelity(model, test)


def test_logistic_regression_with_boolean_labels():
    train, test, y_train, _ = split("breast_cancer")
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train, y_train == 1)
    assert_fidelity(model, test)
    assert serve(model)[0]["output"] == "boolean"


def test_logistic_regression_with_string_labels_and_extreme_scores():
    train, test, y_train, _ = split("sonar")
    # Unscaled, nearly unregularised: scores far beyond exp's range on both sides must not overflow.
    model = LogisticRegression(C=1e4, max_iter=20000).fit(train * 1000, y_train)
    assert abs(model.decision_function(test * 1000)).max() > 710
    assert_fidelity(model, test * 1000)


def test_regressor_has_no_probabilities():
    train, _, y_train, _ = split("diabetes")
    with pytest.raises(ExportError, match="LinearRegression gives no class probabilities"):
        serve(LinearRegression().fit(train, y_train), "proba")


def test_multi_target_regressor_is_refused():
    train, _, y_train, _ = split("diabetes")
    targets = train[["bmi", "bp"]]
    with pytest.raises(ExportError, match="fitted on 2 targets"):
        serve(Ridge().fit(train, targets))
