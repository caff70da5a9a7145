"""Train the two scikit-learn models of the README's walk-through on the Sonar data.

    .venv/bin/python examples/train_sonar.py --out .local/flow

writes sonar_nb.joblib (GaussianNB) and sonar_rf.joblib (a 100-tree random forest, random_state=0), both
fitted on all 208 rows of tests/data/sonar.csv with the features V1..V60 as DataFrame columns, and
disputed_row.json: the first row on which the two models answer differently, without its label, as a
request body, so that swapping one model for the other changes the answer. With these fixed data and
seeds that is Sonar row 2 (rows counted from 1): the naive Bayes says "M", the forest "R".
"""

import argparse
import json
from pathlib import Path
from typing import Any, Sequence

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.naive_bayes import GaussianNB

SONAR = Path(__file__).resolve().parent.parent / "tests" / "data" / "sonar.csv"
DISPUTED_ROW = "disputed_row.json"


def first_disputed_row(features: pd.DataFrame, models: Sequence[Any]) -> int:
    """The position of the first row on which ``models`` predict different labels.

    scikit-learn's predictions stand for the exported documents': pfactl's export gives the same labels on
    every row (tests/test_export_*.py).
    """
    predictions = [model.predict(features) for model in models]
    for position in range(len(features)):
        if len({labels[position] for labels in predictions}) > 1:
            return position
    raise SystemExit("the models agree on every row: no row shows the swap")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the files written")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = pd.read_csv(SONAR)
    features, labels = data.drop(columns="Class"), data["Class"]
    naive_bayes = GaussianNB().fit(features, labels)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(features, labels)
    joblib.dump(naive_bayes, args.out / "sonar_nb.joblib")
    joblib.dump(forest, args.out / "sonar_rf.joblib")
    position = first_disputed_row(features, [naive_bayes, forest])
    row = features.iloc[[position]]
    (args.out / DISPUTED_ROW).write_text(json.dumps(row.iloc[0].to_dict()))
    print(f"wrote {args.out / 'sonar_nb.joblib'}, {args.out / 'sonar_rf.joblib'} and {args.out / DISPUTED_ROW} "
          f"(Sonar row {position + 1}, labelled {labels.iloc[position]}: the naive Bayes says "
          f"{naive_bayes.predict(row)[0]}, the forest {forest.predict(row)[0]})")


if __name__ == "__main__":
    main()
