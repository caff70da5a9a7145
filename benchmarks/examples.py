"""The example models the bench serves, and their data: request bodies and what each model's source answers."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODELS_DIR = PROJECT_DIR / "models"
DATA_DIR = PROJECT_DIR / "tests" / "data"

MODELS_PREFIX = "models/"
DEFAULT_MODEL = "sonar_naive_bayes"
IRIS_FIELDS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width",
               "Petal.Length": "petal_length", "Petal.Width": "petal_width"}


@dataclass(frozen=True)
class Example:
    short: str  # toy, sonar, iris
    name: str  # the model's name (file stem), as in /models/<name>/predict
    records: List[Any]  # request bodies, as parsed JSON
    reference: List[Any]  # what the model's source answers, row by row
    reference_source: str

    @property
    def path(self) -> Path:
        return MODELS_DIR / f"{self.name}.pfa"


def _csv_rows(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def sonar_records() -> List[Dict[str, float]]:
    """The 208 Sonar rows as request bodies {"V1": ..., "V60": ...} (without Class)."""
    return [{key: float(value) for key, value in row.items() if key != "Class"}
            for row in _csv_rows(DATA_DIR / "sonar.csv")]


def r_sonar_predictions() -> List[Dict[str, Any]]:
    """R's predict() for the 208 rows: pred, prob_M, prob_R."""
    return [{"pred": row["pred"], "prob_M": float(row["prob_M"]), "prob_R": float(row["prob_R"])}
            for row in _csv_rows(MODELS_DIR / "sonar_naive_bayes.r_predictions.csv")]


def load_examples() -> List[Example]:
    toy = [round(-50 + 0.37 * index, 4) for index in range(200)]
    iris = [{field_name: float(row[column]) for column, field_name in IRIS_FIELDS.items()}
            for row in _csv_rows(DATA_DIR / "iris.csv")]
    return [
        Example("toy", "toy_add100", list(toy), [value + 100 for value in toy], "input + 100 in Python"),
        Example("sonar", DEFAULT_MODEL, list(sonar_records()), [row["pred"] for row in r_sonar_predictions()],
                "R predict()"),
        Example("iris", "iris_decision_tree", list(iris),
                [row["pred"] for row in _csv_rows(MODELS_DIR / "iris_decision_tree.sklearn_predictions.csv")],
                "scikit-learn predict()"),
    ]

