"""Fidelity of preprocessing pipelines: scalers, imputers (JSON null as the missing value), one-hot encoding of
string columns and ColumnTransformers, in front of each kind of final estimator, on real data."""

import numpy as np
import pytest
from export_support import assert_fidelity, records, serve, split
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler

from chalicelib.errors import ModelError
from pfactl.export import ExportError


def with_missing(frame, fraction=0.1, seed=0):
    """``frame`` with a ``fraction`` of its numeric values replaced by NaN (null in a request)."""
    numbers = frame.select_dtypes("number")
    holes = np.random.default_rng(seed).random(numbers.shape) < fraction
    return frame.assign(**numbers.mask(holes))


def band(values, labels=("low", "mid", "high", "top")):
    """Quartile bands of ``values`` as strings: a real categorical column."""
    edges = np.quantile(values, [0.25, 0.5, 0.75])
    return np.asarray(labels, dtype=object)[np.searchsorted(edges, values)]


SCALED = {
    "standard_gnb_wine": ("wine", lambda: make_pipeline(StandardScaler(), GaussianNB())),
    "standard_no_mean_logistic_breast_cancer": (
        "breast_cancer", lambda: make_pipeline(StandardScaler(with_mean=False), LogisticRegression(max_iter=5000))),
    "standard_no_std_ridge_diabetes": ("diabetes", lambda: make_pipeline(StandardScaler(with_std=False), Ridge())),
    "minmax_knn_iris": ("iris", lambda: make_pipeline(MinMaxScaler(), KNeighborsClassifier(12))),
    "minmax_clip_logistic_sonar": (
        "sonar", lambda: make_pipeline(MinMaxScaler((-1, 1), clip=True), LogisticRegression(max_iter=5000))),
    "standard_minmax_kmeans_wine": (
        "wine", lambda: make_pipeline(StandardScaler(), MinMaxScaler(), KMeans(4, n_init=2, random_state=0))),
}


@pytest.mark.parametrize("case", SCALED)
def test_scalers(case):
    dataset, make = SCALED[case]
    train, test, y_train, _ = split(dataset)
    assert_fidelity(make().fit(train, y_train), test)


@pytest.mark.parametrize("strategy", ["mean", "median", "most_frequent", "constant"])
def test_imputer_takes_null_as_missing(strategy):
    train, test, y_train, _ = split("wine")
    train, test = with_missing(train, seed=1), with_missing(test, seed=2)
    model = make_pipeline(SimpleImputer(strategy=strategy, fill_value=-1.0), StandardScaler(),
                          LogisticRegression(max_iter=5000)).fit(train, y_train)
    document, _ = serve(model)
    assert {str(field["type"]) for field in document["input"]["fields"]} == {"['null', 'double']"}
    assert any(value is None for record in records(document, test) for value in record.values())
    assert_fidelity(model, test)


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_imputer_indicators_and_a_column_never_seen():
    train, test, y_train, _ = split("diabetes")
    train, test = with_missing(train, 0.2, seed=3), with_missing(test, 0.2, seed=4)
    train["bp"] = np.nan  # scikit-learn drops a column without any value; its indicator stays
    model = make_pipeline(SimpleImputer(add_indicator=True), Ridge()).fit(train, y_train)
    assert model[0].transform(test).shape[1] == 2 * train.shape[1] - 1
    assert_fidelity(model, test)


def diabetes_with_categories():
    """Diabetes with ``sex`` as "F"/"M" and an ``age_band`` string column; ``age`` itself is left unused."""
    train, test, y_train, _ = split("diabetes")
    for frame in (train, test):
        frame["sex"] = np.where(frame["sex"] > 0, "M", "F").astype(object)
        frame["age_band"] = band(frame["age"])
    return train, test, y_train


def test_column_transformer_with_categorical_strings_and_an_unused_column():
    train, test, y_train = diabetes_with_categories()
    numeric = ["bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    model = make_pipeline(ColumnTransformer([
        ("num", StandardScaler(), numeric),
        ("sex", OneHotEncoder(drop="if_binary"), ["sex"]),
        ("age", OneHotEncoder(drop="first"), ["age_band"]),
    ], transformer_weights={"num": 0.7, "age": 2.0}), Ridge(alpha=0.1)).fit(train, y_train)
    document, served = serve(model)
    types = {field["name"]: field for field in document["input"]["fields"]}
    assert types["sex"]["type"] == "string" and types["bmi"]["type"] == "double"
    assert types["age"] == {"name": "age", "type": ["null", "double", "string"], "default": None}
    assert_fidelity(model, test)
    record = records(document, test.head(1))[0]
    del record["age"]  # an unused field may be left out
    assert served.predict(record) == pytest.approx(model.predict(test.head(1))[0], rel=1e-9)


def sonar_with_band(missing_every=7):
    """Sonar with ``band``: quartiles of V11 as strings, every ``missing_every``-th one missing."""
    train, test, y_train, _ = split("sonar")
    for frame in (train, test):
        frame["band"] = band(frame["V11"])
        frame.iloc[::missing_every, frame.columns.get_loc("band")] = None
    return train, test, y_train


@pytest.mark.parametrize("estimator", [LogisticRegression(max_iter=5000), KNeighborsClassifier(5), GaussianNB()],
                         ids=lambda estimator: type(estimator).__name__)
def test_nested_pipelines_in_a_column_transformer_with_passthrough(estimator):
    train, test, y_train = sonar_with_band()
    train, test = with_missing(train, 0.05, seed=5), with_missing(test, 0.05, seed=6)
    imputed = [f"V{index}" for index in range(1, 51)]
    model = make_pipeline(ColumnTransformer([
        ("band", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), ["band"]),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), imputed),
    ], remainder="passthrough"), estimator).fit(train.fillna({f"V{index}": 0.0 for index in range(51, 61)}), y_train)
    test = test.fillna({f"V{index}": 0.0 for index in range(51, 61)})  # passed through: no value may be missing
    document, _ = serve(model)
    types = {field["name"]: field["type"] for field in document["input"]["fields"]}
    assert (types["band"], types["V1"], types["V60"]) == (["null", "string"], ["null", "double"], "double")
    assert_fidelity(model, test)


def test_one_hot_encoder_with_a_missing_category_and_column_selectors():
    train, test, y_train = sonar_with_band(missing_every=5)
    model = make_pipeline(ColumnTransformer([
        ("band", OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
        ("num", MinMaxScaler(), make_column_selector(dtype_include="number")),
    ]), LogisticRegression(max_iter=5000)).fit(train, y_train)
    document, _ = serve(model)
    assert document["input"]["fields"][-1] == {"name": "band", "type": ["null", "string"]}
    assert_fidelity(model, test)


def test_unknown_category_is_all_zeros_with_ignore():
    train, test, y_train = diabetes_with_categories()
    train, test = train.drop(columns=["sex"]), test.drop(columns=["sex"])
    model = make_pipeline(ColumnTransformer([("age", OneHotEncoder(handle_unknown="ignore"), ["age_band"])],
                                            remainder=StandardScaler()), Ridge()).fit(train, y_train)
    test["age_band"] = np.where(np.arange(len(test)) % 3 == 0, "unseen", test["age_band"]).astype(object)
    assert_fidelity(model, test)


def test_unknown_category_is_a_model_error_naming_the_field_with_error():
    train, test, y_train = diabetes_with_categories()
    model = make_pipeline(ColumnTransformer([("age", OneHotEncoder(), ["age_band"])], remainder="passthrough"),
                          Ridge()).fit(train.drop(columns=["sex"]), y_train)
    document, served = serve(model)
    record = records(document, test.drop(columns=["sex"]).head(1))[0]
    record["age_band"] = "unseen"
    with pytest.raises(ModelError, match="field 'age_band': unknown category .*knows high, low, mid, top"):
        served.predict(record)


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_sparse_column_transformer_output_into_neighbours(weights):
    train, test, y_train = sonar_with_band(missing_every=1000)
    model = make_pipeline(ColumnTransformer([
        ("band", OneHotEncoder(), ["band"]),
        ("num", StandardScaler(), [f"V{index}" for index in range(1, 61)]),
    ], sparse_threshold=1.0), KNeighborsClassifier(7, weights=weights)).fit(train, y_train)
    assert sparse.issparse(model[-1]._fit_X)
    assert_fidelity(model, test)


def test_identity_function_transformer_and_numeric_categories():
    train, test, y_train, _ = split("iris")
    for frame in (train, test):
        frame["petal_class"] = (frame["petal width (cm)"] * 2).round()  # 0.0 .. 5.0
    model = make_pipeline(FunctionTransformer(), ColumnTransformer([
        ("petal", OneHotEncoder(handle_unknown="ignore"), ["petal_class"])], remainder="passthrough"),
        GaussianNB()).fit(train, y_train)
    assert_fidelity(model, test)


def test_a_column_read_as_nullable_and_as_not_nullable_is_refused():
    train, _, y_train, _ = split("diabetes")
    model = make_pipeline(ColumnTransformer([("imputed", SimpleImputer(), ["bmi"]),
                                             ("scaled", StandardScaler(), ["bmi"])]), Ridge()).fit(train, y_train)
    with pytest.raises(ExportError, match=r'input field .bmi. is read both as \["null", "double"\] and as "double"'):
        serve(model)


def test_frames_from_pandas_keep_string_dtype_categories():
    train, test, y_train = diabetes_with_categories()
    train, test = train.astype({"sex": "string"}), test.astype({"sex": "string"})
    model = make_pipeline(ColumnTransformer([("sex", OneHotEncoder(), ["sex"])], remainder="drop"),
                          Ridge()).fit(train, y_train)
    assert_fidelity(model, test)
