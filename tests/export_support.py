"""Shared by the exporter tests: real data sets, and scoring an exported document as the service does.

Fidelity means: every test row, sent as a JSON record through ``ServedModel.predict``
(strict validation, titus, plain-JSON encoding), gives scikit-learn's label exactly and
its probabilities or values within ``CLOSE``.
"""

import json
import math
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pandas as pd
import pytest
from sklearn.base import is_classifier
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.model_selection import train_test_split

from chalicelib.served_model import ServedModel, compile_served
from pfactl.export import to_pfa
from pfactl.export.builder import LABEL, PROBA, label_type

DATA_DIR = Path(__file__).resolve().parent / "data"
CLOSE = {"rel": 1e-9, "abs": 1e-12}


def sonar() -> Tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(DATA_DIR / "sonar.csv")
    return frame.drop(columns="Class"), frame["Class"]


DATASETS: Dict[str, Callable[[], Tuple[pd.DataFrame, pd.Series]]] = {
    "iris": lambda: load_iris(return_X_y=True, as_frame=True),
    "wine": lambda: load_wine(return_X_y=True, as_frame=True),
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True, as_frame=True),
    "diabetes": lambda: load_diabetes(return_X_y=True, as_frame=True),
    "sonar": sonar,
}


def split(dataset: str, seed: int = 0) -> Tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """A 70/30 train/test split of the named data set (DataFrames: feature names included)."""
    features, target = DATASETS[dataset]()
    return train_test_split(features, target, test_size=0.3, random_state=seed)


def serve(estimator: Any, output: str = LABEL, **options: Any) -> Tuple[Dict[str, Any], ServedModel]:
    """The document ``to_pfa`` makes (as strict JSON) and the model the service compiles from it."""
    document = to_pfa(estimator, output=output, **options)
    return document, compile_served(json.dumps(document, allow_nan=False).encode(), "m.pfa")


def records(document: Dict[str, Any], rows: Any) -> List[Dict[str, Any]]:
    """Rows (a DataFrame, or a 2-d array) as JSON records of the document's input; NaN becomes null."""
    fields = [field["name"] for field in document["input"]["fields"]]
    values = rows.itertuples(index=False) if hasattr(rows, "itertuples") else rows
    return [{field: _json(value) for field, value in zip(fields, row, strict=True)} for row in values]


def _json(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def assert_fidelity(estimator: Any, rows: Any, **options: Any) -> None:
    """``predict`` (and ``predict_proba`` for a classifier) of every row, through the exported document."""
    document, model = serve(estimator, LABEL, **options)
    inputs = records(document, rows)
    predicted = estimator.predict(rows)
    if is_classifier(estimator):
        _, to_json = label_type(estimator.classes_)
        assert [model.predict(record) for record in inputs] == [to_json(label) for label in predicted]
        document, model = serve(estimator, PROBA, **options)
        keys = [str(to_json(label)) for label in estimator.classes_]
        for record, expected in zip(inputs, estimator.predict_proba(rows), strict=True):
            assert model.predict(record) == pytest.approx(dict(zip(keys, expected.tolist(), strict=True)), **CLOSE)
    elif document["output"] == "int":  # cluster ids
        assert [model.predict(record) for record in inputs] == predicted.tolist()
    else:
        assert [model.predict(record) for record in inputs] == pytest.approx(predicted.tolist(), **CLOSE)
