"""Train the two scikit-learn models of the README's walk-through on the Sonar data.

    .venv/bin/python examples/train_sonar.py --out .local/flow

writes sonar_nb.joblib (GaussianNB) and sonar_rf.joblib (a 100-tree random forest), both fitted on all
208 rows of tests/data/sonar.csv with the features V1..V60 as DataFrame columns, and row1.json (the first
row without its label, as a request body).
"""

import argparse
import json
from pathlib import Path

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.naive_bayes import GaussianNB

SONAR = Path(__file__).resolve().parent.parent / "tests" / "data" / "sonar.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("."), help="folder for the .joblib files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data = pd.read_csv(SONAR)
    features, labels = data.drop(columns="Class"), data["Class"]
    joblib.dump(GaussianNB().fit(features, labels), args.out / "sonar_nb.joblib")
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(features, labels)
    joblib.dump(forest, args.out / "sonar_rf.joblib")
    (args.out / "row1.json").write_text(json.dumps(features.iloc[0].to_dict()))
    print(f"wrote {args.out / 'sonar_nb.joblib'}, {args.out / 'sonar_rf.joblib'} and {args.out / 'row1.json'}")


if __name__ == "__main__":
    main()
