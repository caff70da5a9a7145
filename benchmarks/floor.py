"""The plain-Python floor: the Sonar model's math written out in Python (`SonarFloor`), checked against R."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from benchmarks.examples import DEFAULT_MODEL, MODELS_DIR, r_sonar_predictions


class SonarFloor:
    """The Sonar naive Bayes document's action, step by step, in plain Python.

    Mirrors ``models/sonar_naive_bayes.pfa`` (R's aurelius export): for each class, the sum over the record's
    features of ``prob.dist.gaussianLL(x, {mean, variance})`` from the cell ``numeric_cond_probs`` (a string
    value takes ``m.ln`` of ``categorical_cond_probs``, a null adds ``m.ln(1)`` = 0); plus ``m.ln`` of the
    class's ``apriori_counts``; each class's probability is ``1 / sum(exp(other - this))``; divided by the
    class's ``cutoffs``; the answer is the ``map.argmax`` (ties go to the smaller key, as in titus). The
    Gaussian log-likelihood is computed with titus's own expression, so the numbers are the engine's.
    """

    def __init__(self, document: Mapping[str, Any]) -> None:
        cells = document["cells"]
        numeric = cells["numeric_cond_probs"]["init"]
        self.apriori: Dict[str, float] = dict(cells["apriori_counts"]["init"])
        self.cutoffs: Dict[str, float] = dict(cells["cutoffs"]["init"])
        self.categorical: Dict[str, Any] = cells["categorical_cond_probs"]["init"]
        if not set(numeric) == set(self.apriori) == set(self.cutoffs):
            raise ValueError("the classes of numeric_cond_probs, apriori_counts and cutoffs differ")
        self.classes = list(numeric)
        # Per class, feature -> (mean, 2 sigma^2, log(sigma sqrt(2 pi))), as titus's GaussianDistribution.LL.
        self._gaussians: Dict[str, Dict[str, Tuple[float, float, float]]] = {}
        for label, features in numeric.items():
            params = {}
            for feature, stats in features.items():
                if not stats["variance"] > 0:
                    raise ValueError(f"variance of {feature} in class {label} is not positive")
                sigma = math.sqrt(stats["variance"])
                params[feature] = (stats["mean"], 2.0 * sigma ** 2, math.log(sigma * math.sqrt(2.0 * math.pi)))
            self._gaussians[label] = params
        self._log_apriori = {label: math.log(count) for label, count in self.apriori.items()}

    @classmethod
    def from_file(cls, path: Path = MODELS_DIR / f"{DEFAULT_MODEL}.pfa") -> "SonarFloor":
        return cls(json.loads(path.read_text()))

    def log_likelihoods(self, record: Mapping[str, Any]) -> Dict[str, float]:
        totals = {}
        for label in self.classes:
            gaussians = self._gaussians[label]
            total = 0.0
            for feature, value in record.items():  # map.keys(input): the record's own order
                if value is None:
                    term = 0.0
                elif isinstance(value, str):
                    term = math.log(self.categorical[label][feature][value])
                else:
                    mean, two_variance, log_norm = gaussians[feature]
                    term = -(value - mean) ** 2 / two_variance - log_norm
                total += term
            totals[label] = total
        return totals

    def probabilities(self, record: Mapping[str, Any]) -> Dict[str, float]:
        preds = self.log_likelihoods(record)
        scaled = {label: self._log_apriori[label] + preds[label] for label in self.classes}
        values = list(scaled.values())
        return {label: 1 / sum(math.exp(other - mine) for other in values) for label, mine in scaled.items()}

    def predict(self, record: Mapping[str, Any]) -> str:
        ratios = {label: p / self.cutoffs[label] for label, p in self.probabilities(record).items()}
        return min(ratios, key=lambda label: (-ratios[label], label))


def floor_vs_r(floor: SonarFloor, records: List[Dict[str, float]]) -> Dict[str, Any]:
    """How far the floor's P(M) is from R's, and on how many rows its label is R's."""
    r_rows = r_sonar_predictions()
    diffs = [abs(floor.probabilities(record)["M"] - row["prob_M"]) for record, row in zip(records, r_rows, strict=True)]
    return {"max_abs_diff_prob_M": max(diffs),
            "labels_equal_r": sum(floor.predict(record) == row["pred"]
                                  for record, row in zip(records, r_rows, strict=True))}
