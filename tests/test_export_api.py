"""``to_pfa``'s contract: supported classes, input field names, the input type as the service enforces it,
the document's name and metadata, and example requests."""

import json

import numpy as np
import pandas as pd
import pytest
import sklearn
from export_support import assert_fidelity, records, serve, split
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, PolynomialFeatures, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from chalicelib.errors import InvalidInput
from pfactl.export import ExportError, supported_classes, to_pfa, trees

EXPECTED_SUPPORT = {"LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression", "GaussianNB", "KMeans",
                    "KNeighborsClassifier", "Pipeline", "ColumnTransformer", "StandardScaler", "MinMaxScaler",
                    "SimpleImputer", "OneHotEncoder"}


@pytest.fixture(scope="module")
def iris_knn():
    train, _, y_train, _ = split("iris")
    return KNeighborsClassifier(12).fit(train, y_train)


def test_supported_classes_include_every_family():
    assert EXPECTED_SUPPORT <= set(supported_classes())


@pytest.mark.parametrize("estimator", [
    SVC(),
    make_pipeline(PolynomialFeatures(), LinearRegression()),
    make_pipeline(ColumnTransformer([("poly", PolynomialFeatures(), [0, 1])]), LinearRegression()),
], ids=["final", "pipeline_step", "column_transformer_step"])
def test_unsupported_estimator_names_it_and_lists_every_supported_class(estimator):
    train, _, y_train, _ = split("diabetes")
    estimator.fit(train.to_numpy(), y_train > y_train.median())
    with pytest.raises(ExportError) as raised:
        to_pfa(estimator)
    message = str(raised.value)
    assert message.startswith(("SVC is not supported", "PolynomialFeatures is not supported"))
    assert message.endswith("supported: " + ", ".join(supported_classes()))


def test_transformer_must_not_end_and_estimator_must_end_a_pipeline():
    train, _, y_train, _ = split("iris")
    with pytest.raises(ExportError, match="StandardScaler is a preprocessing step; end with an estimator: .*KMeans"):
        to_pfa(make_pipeline(StandardScaler()).fit(train))
    with pytest.raises(ExportError, match="KMeans is supported as the final estimator only, not as a transformer"):
        to_pfa(make_pipeline(KMeans(3, n_init=1), GaussianNB()).fit(train, y_train))


@pytest.mark.skipif(DecisionTreeClassifier not in trees.EXPORTERS, reason="the tree exporters are not there yet")
def test_tree_exporters_run_after_preprocessing():
    train, test, y_train, _ = split("wine")
    model = make_pipeline(MinMaxScaler(), DecisionTreeClassifier(max_depth=4, random_state=0)).fit(train, y_train)
    assert_fidelity(model, test)


def test_unfitted_estimator_and_unknown_output_are_refused(iris_knn):
    with pytest.raises(ExportError, match="GaussianNB is not fitted"):
        to_pfa(GaussianNB())
    with pytest.raises(ExportError, match="output must be one of label, proba, not 'probability'"):
        to_pfa(iris_knn, output="probability")


def test_dataframe_column_names_become_valid_field_names(iris_knn):
    document, served = serve(iris_knn)
    fields = [field["name"] for field in document["input"]["fields"]]
    assert fields == ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
    metadata = document["metadata"]
    assert json.loads(metadata["feature_names"]) == list(iris_knn.feature_names_in_)
    assert json.loads(metadata["renamed_features"])["sepal length (cm)"] == "sepal_length_cm"
    assert served.predict(dict.fromkeys(fields, 1.0)) in (0, 1, 2)


def test_renamed_fields_stay_distinct_and_valid_names_are_kept():
    frame = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["a_b", "a b", "a-b", "2nd"])
    document, _ = serve(LinearRegression().fit(frame, [1.0, 2.0, 4.0]))
    assert [field["name"] for field in document["input"]["fields"]] == ["a_b", "a_b_2", "a_b_3", "_2nd"]


def test_numpy_fitted_estimator_gets_x0_to_xn_or_the_given_feature_names():
    train, test, y_train, _ = split("wine")
    model = GaussianNB().fit(train.to_numpy(), y_train)
    document, _ = serve(model)
    assert [field["name"] for field in document["input"]["fields"]] == [f"x{index}" for index in range(13)]
    names = [f"chem {index}" for index in range(13)]
    document, served = serve(model, feature_names=names)
    assert [field["name"] for field in document["input"]["fields"]] == [f"chem_{index}" for index in range(13)]
    assert [served.predict(record) for record in records(document, test.to_numpy())] == \
        model.predict(test.to_numpy()).tolist()
    with pytest.raises(ExportError, match="feature_names has 2 names but the estimator was fitted on 13 features"):
        to_pfa(model, feature_names=["a", "b"])


def test_input_type_rejects_missing_unknown_and_mistyped_features(iris_knn):
    document, served = serve(iris_knn)
    record = records(document, split("iris")[1].head(1))[0]
    with pytest.raises(InvalidInput, match="missing required field 'petal_width_cm'") as raised:
        served.predict({key: value for key, value in record.items() if key != "petal_width_cm"})
    assert raised.value.field == "petal_width_cm"
    with pytest.raises(InvalidInput, match="unknown field 'colour'"):
        served.predict({**record, "colour": 1.0})
    with pytest.raises(InvalidInput, match="expected double, got string"):
        served.predict({**record, "sepal_width_cm": "3.0"})
    with pytest.raises(InvalidInput, match="expected double, got null"):
        served.predict({**record, "sepal_width_cm": None})


def test_imputed_field_accepts_null_as_the_missing_value():
    train, test, y_train, _ = split("breast_cancer")
    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=5000))
    model.fit(train, y_train)
    document, served = serve(model, output="proba")
    row = test.head(1).copy()
    row.iloc[0, [0, 5, 29]] = np.nan
    record = records(document, row)[0]
    assert record["mean_radius"] is None and record["worst_fractal_dimension"] is None
    expected = dict(zip(["0", "1"], model.predict_proba(row)[0].tolist(), strict=True))
    assert served.predict(record) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_name_and_metadata(iris_knn):
    train, _, y_train, _ = split("iris")
    model = make_pipeline(StandardScaler(), KNeighborsClassifier(12)).fit(train, y_train)
    document, served = serve(model, name="iris k=12 (published)")
    assert document["name"] == "iris_k_12_published"
    metadata = document["metadata"]
    assert all(isinstance(value, str) for value in metadata.values())
    assert metadata["sklearn_version"] == sklearn.__version__
    assert metadata["estimator"] == "Pipeline(StandardScaler, KNeighborsClassifier)"
    assert json.loads(metadata["estimator_params"])["n_neighbors"] == 12
    assert json.loads(metadata["classes"]) == [0, 1, 2]
    assert "input_keys" not in metadata
    # What the service reads itself (the example request) is shown once, as what it means.
    assert served.describe()["metadata"] == {key: value for key, value in metadata.items() if key != "example_request"}
    assert serve(iris_knn)[0]["name"] == "KNeighborsClassifier"


def test_default_example_request_is_scored():
    train, _, y_train, _ = split("diabetes")
    train["sex"] = np.where(train["sex"] > 0, "M", "F").astype(object)
    model = make_pipeline(ColumnTransformer([("sex", OneHotEncoder(), ["sex"]), ("bmi", SimpleImputer(), ["bmi"])]),
                          LinearRegression()).fit(train, y_train)
    document, served = serve(model)
    example = json.loads(document["metadata"]["example_request"])
    assert example == {"age": None, "sex": "F", "bmi": train["bmi"].mean(), "bp": None, "s1": None, "s2": None,
                       "s3": None, "s4": None, "s5": None, "s6": None}
    assert served.example == example
    assert isinstance(served.predict(example), float)


@pytest.mark.parametrize("shape", ["dict", "series", "frame", "list"])
def test_caller_example_row(shape, iris_knn):
    row = split("iris")[1].head(1)
    example = {"dict": lambda: row.iloc[0].to_dict(), "series": lambda: row.iloc[0], "frame": lambda: row,
               "list": lambda: row.to_numpy()[0].tolist()}[shape]()
    document, served = serve(iris_knn, example=example)
    expected = records(document, row)[0]
    assert json.loads(document["metadata"]["example_request"]) == expected
    assert served.predict(served.example) == int(iris_knn.predict(row)[0])


def test_caller_example_of_the_wrong_shape_or_type_is_refused(iris_knn):
    with pytest.raises(ExportError, match="example has 3 values for 4 features"):
        to_pfa(iris_knn, example=[1.0, 2.0, 3.0])
    with pytest.raises(ExportError, match="example has no value for feature 'petal width \\(cm\\)'"):
        to_pfa(iris_knn, example={"sepal length (cm)": 1.0, "sepal_width_cm": 1.0, "petal length (cm)": 1.0})
    with pytest.raises(ExportError, match="example value 'wide' of 'sepal width \\(cm\\)' is not of the field's type"):
        to_pfa(iris_knn, example=[1.0, "wide", 1.0, 1.0])
