"""Fit a scikit-learn decision tree on iris and export it as a PFA document.

Run by hand (not needed by the service or its tests), from the repository root:

    python3 -m venv /tmp/gen-venv
    /tmp/gen-venv/bin/pip install scikit-learn numpy==1.26.4
    /tmp/gen-venv/bin/python models/make_iris_decision_tree.py

Reads tests/data/iris.csv (all 150 rows) and writes, next to this script,
iris_decision_tree.pfa and iris_decision_tree.sklearn_predictions.csv
(scikit-learn's predict() and predict_proba() for each row, in file order).

The CSV headers map to the PFA record fields as Sepal.Length -> sepal_length,
Sepal.Width -> sepal_width, Petal.Length -> petal_length and
Petal.Width -> petal_width. scikit-learn sends a row left when
x <= threshold, so each node uses the PFA operator "<=" and "pass" is the left
child. (scikit-learn compares float32 copies of the inputs; the PFA compares
doubles, which can only differ for inputs within float32 rounding of a
threshold.)
"""

import csv
import json
import platform
from pathlib import Path

import numpy as np
import sklearn
from sklearn.tree import DecisionTreeClassifier

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "iris.csv"
COLUMNS = {"Sepal.Length": "sepal_length", "Sepal.Width": "sepal_width",
           "Petal.Length": "petal_length", "Petal.Width": "petal_width"}
PARAMS = {"random_state": 0, "max_depth": 4}


def main() -> None:
    with DATA.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    X = np.array([[float(row[c]) for c in COLUMNS] for row in rows])
    y = np.array([row["Species"] for row in rows])
    model = DecisionTreeClassifier(**PARAMS).fit(X, y)

    fields, classes, tree = list(COLUMNS.values()), [str(c) for c in model.classes_], model.tree_

    def node(i: int) -> dict:
        if tree.children_left[i] == -1:  # leaf: the class predict() picks (first argmax)
            return {"string": classes[int(np.argmax(tree.value[i][0]))]}
        return {"TreeNode": {"field": fields[tree.feature[i]], "operator": "<=",
                             "value": float(tree.threshold[i]),
                             "pass": node(tree.children_left[i]), "fail": node(tree.children_right[i])}}

    doc = {
        "name": "iris_decision_tree",
        "doc": "Iris species from a scikit-learn DecisionTreeClassifier, walked with model.tree.simpleWalk.",
        "input": {"type": "record", "name": "Iris", "fields": [{"name": f, "type": "double"} for f in fields]},
        "output": "string",
        "cells": {"tree": {
            "type": {"type": "record", "name": "TreeNode", "fields": [
                {"name": "field", "type": {"type": "enum", "name": "IrisField", "symbols": fields}},
                {"name": "operator", "type": "string"},
                {"name": "value", "type": "double"},
                {"name": "pass", "type": ["string", "TreeNode"]},
                {"name": "fail", "type": ["string", "TreeNode"]}]},
            "init": node(0)["TreeNode"]}},
        "action": [{"model.tree.simpleWalk": ["input", {"cell": "tree"}, {
            "params": [{"d": "Iris"}, {"t": "TreeNode"}], "ret": "boolean",
            "do": {"model.tree.simpleTest": ["d", "t"]}}]}],
        "metadata": {
            "source": "scikit-learn DecisionTreeClassifier, exported by models/make_iris_decision_tree.py",
            "sklearn_version": sklearn.__version__,
            "numpy_version": np.__version__,
            "python_version": platform.python_version(),
            "parameters": json.dumps(PARAMS, sort_keys=True),
            "data": "tests/data/iris.csv, all 150 rows",
            "input_fields": ", ".join(f"{c} -> {f}" for c, f in COLUMNS.items()),
            "classes": ", ".join(classes),
            "training_accuracy": f"{model.score(X, y):.4f}",
        },
    }
    (HERE / "iris_decision_tree.pfa").write_text(json.dumps(doc, indent=1) + "\n")

    with (HERE / "iris_decision_tree.sklearn_predictions.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pred"] + [f"prob_{c}" for c in classes])
        for label, probs in zip(model.predict(X), model.predict_proba(X), strict=True):
            writer.writerow([label] + [repr(float(p)) for p in probs])


if __name__ == "__main__":
    main()
