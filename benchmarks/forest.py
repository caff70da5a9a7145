"""A random forest exported by pfactl: scikit-learn's RandomForestClassifier fitted (seeded) on the Sonar data,
exported with ``pfactl.export.to_pfa``, served by titus and by the compiled engine, scored per record on every
Sonar row. Built inside the run; nothing is written to disk."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Tuple

import pandas as pd
from sklearn.ensemble import RandomForestClassifier

from benchmarks.engines import COMPILED, TITUS, compiled_action, titus_engine
from benchmarks.examples import DATA_DIR, sonar_records
from benchmarks.harness import Plan, timed_rounds
from chalicelib.served_model import compile_served
from pfactl.export import to_pfa

FOREST_SEED = 0
FOREST_KEY = "models/sonar_random_forest.pfa"


Records = List[Dict[str, float]]


def build_forest(trees: int, seed: int = FOREST_SEED) -> Tuple[bytes, Records, List[str], Dict[str, Any]]:
    """The exported document (strict JSON bytes), the 208 Sonar rows as its records, scikit-learn's labels for
    them, and how long fitting and exporting took."""
    frame = pd.read_csv(DATA_DIR / "sonar.csv")
    features, target = frame.drop(columns="Class"), frame["Class"]
    began = time.perf_counter()
    forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1).fit(features, target)
    fitted = time.perf_counter()
    document = to_pfa(forest, name="sonar_random_forest")
    data = json.dumps(document, allow_nan=False).encode()
    exported = time.perf_counter()
    fields = [field["name"] for field in document["input"]["fields"]]
    records = sonar_records()
    if any(list(record) != fields for record in records):
        raise RuntimeError("the forest's input fields are not the Sonar columns")
    labels = [str(label) for label in forest.predict(features)]
    return data, records, labels, {"fit_ms": (fitted - began) * 1000, "export_ms": (exported - fitted) * 1000,
                                   "document_bytes": len(data)}


def bench_forest(plan: Plan) -> Dict[str, Any]:
    """titus and the compiled engine on the forest, per record, each round over every Sonar row."""
    data, records, labels, built = build_forest(plan.forest_trees)
    served = {TITUS: compile_served(data, FOREST_KEY, engine=TITUS),
              COMPILED: compile_served(data, FOREST_KEY, engine=COMPILED)}
    titus, compiled = titus_engine(served[TITUS]), compiled_action(served[COMPILED])
    validated = {engine: [model.validate(record) for record in records] for engine, model in served.items()}
    answers = {TITUS: [served[TITUS].encode(titus.action(datum, check=False)) for datum in validated[TITUS]],
               COMPILED: [served[COMPILED].encode(compiled(datum)) for datum in validated[COMPILED]]}
    titus_data, compiled_data = validated[TITUS], validated[COMPILED]
    count = len(records)
    samples = timed_rounds({"titus": lambda i: titus.action(titus_data[i], check=False),
                            "compiled": lambda i: compiled(compiled_data[i])},
                           count, plan.forest_rounds, plan.block_us, block=count)
    timings = {name: stage.summary() for name, stage in samples.items()}
    medians = {name: timing["median_us"] for name, timing in timings.items()}
    cpu = {name: timing["cpu"]["median_us"] for name, timing in timings.items()}
    choice = served[COMPILED].model.engine
    return {
        "model": "sonar_random_forest", "estimator": "sklearn.ensemble.RandomForestClassifier",
        "trees": plan.forest_trees, "seed": FOREST_SEED, "fitted_on": "tests/data/sonar.csv, all 208 rows",
        "exported_by": "pfactl.export.to_pfa", **built,
        "rows": count, "rounds": plan.forest_rounds,
        "labels_equal_sklearn": {engine: sum(a == b for a, b in zip(answer, labels, strict=True))
                                 for engine, answer in answers.items()},
        "engine_choice": {"name": choice.name, "reason": choice.reason, "checked_inputs": choice.checked_inputs,
                          "check_ms": choice.check_ms},
        "stages": timings, "median_us": medians, "cpu_median_us": cpu,
        "titus_over_compiled": medians["titus"] / medians["compiled"],
        "cpu_titus_over_compiled": cpu["titus"] / cpu["compiled"],
    }
