"""Every PFA document the project has, scored by titus and by the compiled engine: the same answers.

The documents: the examples in ``models/``, every document in ``tests/pfa/*.json`` (the hostile ones
included) and what each of pfactl's exporters writes for estimators fitted on real data (Sonar and
iris). Each is scored on at least ``GENERATED`` inputs generated from its served input type (seeded
:func:`chalicelib.schema_samples.sample_requests`, passed through the validator the service builds),
plus its data set's rows where it has one. Both engines run each input in the same order, so a
stateful document (cells, pools) is compared output by output.

Hostile documents run with a short timeout on both engines. Their outcomes are compared kind by
kind: wherever titus finishes (a value or a PFA error), the compiled engine must give the same; where
titus runs out of time or stack, the compiled engine, which is faster and uses less stack, may finish.
"""

import collections
import csv
import json
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pandas as pd
import pytest
from export_support import DATASETS, records, split
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from test_export_preprocessing import sonar_with_band, with_missing

from chalicelib.avro_schema import SchemaError
from chalicelib.compiler import Unsupported, compile_document
from chalicelib.compiler.agreement import outcome, same_outcome
from chalicelib.compiler.choice import TITUS
from chalicelib.errors import ModelLoadError, ServiceError
from chalicelib.schema_samples import sample_requests
from chalicelib.served_model import _input_keys, _input_types, compile_served
from chalicelib.titus_compat import PFAEngine, set_action_timeout
from chalicelib.validation import compile_validator
from pfactl.export import to_pfa
from pfactl.export.builder import LABEL, PROBA

from .differential import assert_agree

ROOT = Path(__file__).resolve().parent.parent.parent
MODELS, PFA, DATA = ROOT / "models", ROOT / "tests" / "pfa", ROOT / "tests" / "data"
GENERATED = 1000
HOSTILE_TIMEOUT_MS = 1
IRIS_FIELDS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width",
               "Petal.Length": "petal_length", "Petal.Width": "petal_width"}


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _copy(document: Any) -> Any:
    return json.loads(json.dumps(document))


def _csv(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


# --- the documents -------------------------------------------------------------------------------------


def _sonar_rows() -> List[Dict[str, float]]:
    return [{key: float(value) for key, value in row.items() if key != "Class"} for row in _csv(DATA / "sonar.csv")]


def _iris_rows() -> List[Dict[str, float]]:
    return [{field: float(row[column]) for column, field in IRIS_FIELDS.items()} for row in _csv(DATA / "iris.csv")]


EXAMPLE_ROWS: Dict[str, Callable[[], List[Any]]] = {
    "sonar_naive_bayes.pfa": _sonar_rows,
    "iris_decision_tree.pfa": _iris_rows,
    "toy_add100.pfa": lambda: [3.14, -100, 0.0, 1e308],
}
EXAMPLES = sorted(path.name for path in MODELS.glob("*.pfa"))


def _cases() -> Dict[str, List[Any]]:
    return {name: [case["input"] for case in cases] for name, cases in _load(PFA / "cases.json").items()}


TEST_DOCUMENTS = sorted(path.name[: -len(".pfa.json")] for path in PFA.glob("*.pfa.json"))
FAILURES = _load(PFA / "failures.json")
HOSTILE = {name: document for name, document in _load(PFA / "hostile.json").items() if name != "_doc"}


def _sonar_banded():
    train, test, y_train = sonar_with_band()
    train, test = with_missing(train, 0.05, seed=5), with_missing(test, 0.05, seed=6)
    test = pd.concat([train, test])
    imputed = [f"V{index}" for index in range(1, 61)]
    model = make_pipeline(ColumnTransformer([
        ("band", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder()), ["band"]),
        ("num", make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler()), imputed),
    ]), LogisticRegression(max_iter=5000))
    return model.fit(train, y_train), test


def _iris_petal_class():
    train, test, y_train, _ = split("iris")
    for frame in (train, test):
        frame["petal_class"] = (frame["petal width (cm)"] * 2).round()
    model = make_pipeline(FunctionTransformer(), ColumnTransformer([
        ("petal", OneHotEncoder(handle_unknown="ignore"), ["petal_class"])], remainder="passthrough"),
        StandardScaler(), KNeighborsClassifier(7, weights="distance"))
    return model.fit(train, y_train), pd.concat([train, test])


CLASSIFIERS: Dict[str, Callable[[], Any]] = {
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=5000)),
    "gaussian_nb": lambda: GaussianNB(),
    "knn": lambda: KNeighborsClassifier(12),
    "knn_distance_minmax": lambda: make_pipeline(MinMaxScaler(), KNeighborsClassifier(5, weights="distance")),
    "decision_tree": lambda: DecisionTreeClassifier(random_state=0),
    "random_forest": lambda: RandomForestClassifier(n_estimators=10, random_state=0),
    "gradient_boosting": lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
}
REGRESSORS: Dict[str, Callable[[], Any]] = {
    "linear": LinearRegression,
    "ridge": lambda: Ridge(alpha=0.5),
    "lasso": lambda: Lasso(alpha=0.001),
    "elastic_net": lambda: ElasticNet(alpha=0.001, l1_ratio=0.3),
    "decision_tree_regressor": lambda: DecisionTreeRegressor(random_state=0),
    "random_forest_regressor": lambda: RandomForestRegressor(n_estimators=10, random_state=0),
    "gradient_boosting_regressor": lambda: GradientBoostingRegressor(n_estimators=10, random_state=0),
}


@lru_cache(maxsize=None)
def _fitted(name: str) -> Tuple[Any, Any]:
    """(estimator, every row of its data set as a frame) for an exporter case name."""
    dataset, _, kind = name.partition(":")
    if kind in CLASSIFIERS:
        train, _, y_train, _ = split(dataset)
        return CLASSIFIERS[kind]().fit(train, y_train), DATASETS[dataset]()[0]
    if kind in REGRESSORS:  # Sonar's V1..V59 predicting V60
        features = DATASETS["sonar"]()[0]
        return REGRESSORS[kind]().fit(features.drop(columns="V60"), features["V60"]), features.drop(columns="V60")
    if kind == "kmeans":
        train, _, _, _ = split(dataset)
        model = make_pipeline(StandardScaler(), KMeans(3 if dataset == "iris" else 4, n_init=3, random_state=0))
        return model.fit(train), DATASETS[dataset]()[0]
    if kind == "banded_imputed_one_hot_logistic":
        return _sonar_banded()
    if kind == "petal_class_one_hot_knn":
        return _iris_petal_class()
    raise KeyError(name)


EXPORTS = ([(f"{dataset}:{kind}", output) for dataset in ("sonar", "iris") for kind in CLASSIFIERS
            for output in (LABEL, PROBA)]
           + [(f"sonar:{kind}", LABEL) for kind in REGRESSORS]
           + [("sonar:kmeans", LABEL), ("iris:kmeans", LABEL)]
           + [("sonar:banded_imputed_one_hot_logistic", output) for output in (LABEL, PROBA)]
           + [("iris:petal_class_one_hot_knn", output) for output in (LABEL, PROBA)])


@lru_cache(maxsize=None)
def _exported(name: str, output: str) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    estimator, rows = _fitted(name)
    document = json.loads(json.dumps(to_pfa(estimator, output=output), allow_nan=False))
    return document, records(document, rows)


# --- inputs --------------------------------------------------------------------------------------------


def _validator(document: Dict[str, Any]) -> Tuple[Any, Callable[[Any], Any], Optional[List[str]], Any]:
    """(input schema, validator, input_keys, input_types) as the service builds them for this document."""
    try:
        served = compile_served(json.dumps(document).encode(), "m.pfa", engine=TITUS)
        return served.model.input_schema, served.validate, served.input_keys, served.input_types
    except ModelLoadError:  # refused at load (a back-reference): the engines still run it, on the declared type
        metadata = document.get("metadata", {})
        keys = _input_keys(metadata)
        types = _input_types(metadata, keys)
        return document["input"], compile_validator(document["input"], map_keys=keys, map_types=types), keys, types


def generated_inputs(document: Dict[str, Any], count: int = GENERATED, seed: int = 0) -> List[Any]:
    """At least ``count`` validated inputs generated from the document's served input type."""
    schema, validate, keys, types = _validator(document)
    data: List[Any] = []
    for attempt in range(20):
        try:
            requests = sample_requests(schema, count, seed=seed + attempt, keys=keys, key_types=types)
        except (SchemaError, KeyError, TypeError, ValueError, RecursionError) as error:
            pytest.fail(f"no inputs can be generated for this input type: {error!r}")
        for request in requests:
            try:
                data.append(validate(request))
            except ServiceError:
                continue
        if len(data) >= count:
            return data
    pytest.fail(f"only {len(data)} of the generated requests passed the validator")


def _validated(document: Dict[str, Any], rows: List[Any]) -> List[Any]:
    _, validate, _, _ = _validator(document)
    return [validate(row) for row in rows]


def _compiles(document: Dict[str, Any]) -> None:
    try:
        compile_document(_copy(document))
    except Unsupported as why:
        pytest.skip(f"the compiler does not cover this document: {why}")


# --- models/ -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_model_agrees_on_generated_inputs_and_its_data(name):
    document = _load(MODELS / name)
    compile_document(_copy(document))  # no Unsupported: every example is covered
    rows = _validated(document, EXAMPLE_ROWS[name]())
    compared = assert_agree(document, generated_inputs(document) + rows)
    assert compared >= GENERATED + len(rows)
    if name == "sonar_naive_bayes.pfa":
        assert len(rows) == 208
    if name == "iris_decision_tree.pfa":
        assert len(rows) == 150


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_model_is_served_compiled(name):
    served = compile_served((MODELS / name).read_bytes(), name)
    assert served.model.engine.name == "compiled", served.model.engine.reason


def test_every_example_model_has_a_data_set_or_inputs():
    assert set(EXAMPLES) == set(EXAMPLE_ROWS)


# --- tests/pfa -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TEST_DOCUMENTS)
def test_test_document_agrees_on_generated_inputs_and_its_cases(name):
    document = _load(PFA / f"{name}.pfa.json")
    _compiles(document)
    cases = _validated(document, _cases().get(name, []))
    assert assert_agree(document, cases + generated_inputs(document) + cases) >= GENERATED


def test_every_test_document_has_cases():
    assert set(_cases()) == set(TEST_DOCUMENTS)


@pytest.mark.parametrize("case", FAILURES["runtime_errors"], ids=lambda case: case["case"])
def test_failing_document_fails_alike(case):
    document = case["document"]
    compile_document(_copy(document))
    (expected, got), = _outcomes(document, [case["input"]])
    assert expected[0] in ("runtime error", "user error") and same_outcome(expected, got), (expected, got)
    assert assert_agree(document, [case["input"]] + generated_inputs(document)) >= GENERATED


@pytest.mark.parametrize("case", FAILURES["broken"], ids=lambda case: case["case"])
def test_broken_document_is_refused_by_the_compiler_as_by_titus(case):
    """What titus refuses, the compiler refuses with titus's error (when compiled, or when an instance is made,
    for cell inits); what titus accepts but the service does not serve (method emit) is Unsupported."""
    try:
        PFAEngine.fromJson(_copy(case["document"]))
    except Exception as error:
        titus_refused: Optional[Exception] = error
    else:
        titus_refused = None
    with pytest.raises(Exception) as compiler_refused:
        compile_document(_copy(case["document"])).instance()
    if titus_refused is None:
        assert isinstance(compiler_refused.value, Unsupported)
    else:
        assert type(compiler_refused.value) is type(titus_refused)


def test_invalid_inputs_name_documents_compared_here():
    cases = _load(PFA / "invalid_inputs.json")
    assert {case["document"] for case in cases} <= set(TEST_DOCUMENTS)
    for case in cases:  # the validator refuses them: neither engine ever sees them
        _, validate, _, _ = _validator(_load(PFA / f"{case['document']}.pfa.json"))
        with pytest.raises(ServiceError):
            validate(case["input"])


def test_timeout_document_times_out_on_both():
    timeout = FAILURES["timeout"]
    kinds = _hostile_outcomes(timeout["document"], [timeout["input"]] * 3, timeout["timeout_ms"])
    assert kinds == {("timeout", "timeout"): 3}


def test_the_documents_own_timeout_option():
    document = {**FAILURES["timeout"]["document"], "options": {"timeout": 20}}
    titus_engine, = PFAEngine.fromJson(_copy(document))
    assert outcome(lambda x: titus_engine.action(x, check=False), 1) == ("timeout", None)
    compiled = compile_document(_copy(document)).instance()
    results: List[Any] = []
    worker = threading.Thread(target=lambda: results.append(outcome(compiled.action, 1)), daemon=True)
    started = time.perf_counter()
    worker.start()
    worker.join(timeout=5)  # a compiled engine that ignored the option would never return
    assert results == [("timeout", None)] and time.perf_counter() - started < 0.5


# --- hostile documents ---------------------------------------------------------------------------------


def _outcomes(document: Dict[str, Any], inputs: List[Any]):
    titus_engine, = PFAEngine.fromJson(_copy(document))
    compiled = compile_document(_copy(document)).instance()
    titus_engine.begin()
    compiled.begin()
    return [(outcome(lambda x: titus_engine.action(x, check=False), datum), outcome(compiled.action, datum))
            for datum in inputs]


UNFINISHED = ("timeout", "recursion", "memory")


def _bounded(action: Callable[[Any], Any], datum: Any):
    try:
        result = outcome(action, datum)
    except MemoryError:
        return ("memory", None)
    if result == ("python error", "Exception"):  # titus out of stack inside a library it calls
        return ("recursion", None)
    return result


def _hostile_outcomes(document: Dict[str, Any], inputs: List[Any], timeout_ms: float) -> Dict[Tuple[str, str], int]:
    """Both engines on every input with ``timeout_ms``: how many inputs gave each (titus, compiled) kind."""
    assert not document.get("cells") and not document.get("pools")  # an input may be run twice
    titus_engine, = PFAEngine.fromJson(_copy(document))
    compiled = compile_document(_copy(document)).instance()
    titus_engine.begin()
    compiled.begin()
    kinds: Dict[Tuple[str, str], int] = collections.Counter()
    for index, datum in enumerate(inputs):
        set_action_timeout(titus_engine, timeout_ms)
        compiled.set_timeout(timeout_ms)
        expected = _bounded(lambda x: titus_engine.action(x, check=False), datum)
        got = _bounded(compiled.action, datum)
        if got[0] == "timeout" and expected[0] not in UNFINISHED:
            # Near the limit either engine may be the one to run out: given more time, the same answer.
            compiled.set_timeout(timeout_ms + 200)
            got = _bounded(compiled.action, datum)
        kinds[(expected[0], got[0])] += 1
        if expected[0] not in UNFINISHED or got[0] not in UNFINISHED:
            assert expected[0] in UNFINISHED or same_outcome(expected, got), \
                f"input {index + 1} ({datum!r:.80}): titus gave {expected!r:.120}, compiled {got!r:.120}"
    return dict(kinds)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_document_agrees_kind_by_kind(name):
    document = HOSTILE[name]
    compile_document(_copy(document))
    inputs = generated_inputs(document)
    kinds = _hostile_outcomes(document, inputs, HOSTILE_TIMEOUT_MS)
    assert sum(kinds.values()) >= GENERATED
    print(f"{name}: {kinds}")
    # Where titus ran out of time or stack, the compiled engine mostly did too.
    titus_unfinished = sum(count for (left, _), count in kinds.items() if left in UNFINISHED)
    compiled_finished = sum(count for (left, right), count in kinds.items()
                            if left in UNFINISHED and right not in UNFINISHED)
    assert compiled_finished <= max(10, titus_unfinished // 10), kinds


# --- exporters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, output", EXPORTS, ids=[f"{name}-{output}" for name, output in EXPORTS])
def test_exported_document_compiles_serves_compiled_and_agrees(name, output):
    document, rows = _exported(name, output)
    compile_document(_copy(document))  # no Unsupported: every exporter's output is covered
    served = compile_served(json.dumps(document).encode(), "m.pfa")
    assert served.model.engine.name == "compiled", served.model.engine.reason
    rows = [served.validate(row) for row in rows]
    assert len(rows) == (208 if name.startswith("sonar") else 150)
    assert assert_agree(document, generated_inputs(document) + rows) >= GENERATED + len(rows)
