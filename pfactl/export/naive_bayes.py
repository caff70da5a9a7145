"""Gaussian naive Bayes.

The joint log-likelihood of class ``c`` is ``ln(class_prior_[c])`` plus
``model.naive.gaussian`` of the features under the class means ``theta_`` and
variances ``var_`` (which already include scikit-learn's ``epsilon_``), as in
``GaussianNB._joint_log_likelihood``. The label is the class of the highest one
(the first of equal ones, as ``numpy.argmax``); the probabilities are
``exp(jll - logsumexp(jll))``, as ``predict_proba``.
"""

from typing import Dict, Tuple

import numpy as np
from sklearn.naive_bayes import GaussianNB

from .builder import DOUBLE_ARRAY, LABEL, AvroType, DocumentBuilder, Exporter, ExportError, Expr
from .outputs import class_label, class_probabilities, fn

CLASS_MODEL = "GaussianClass"
FEATURE_MODEL = "GaussianFeature"


def _classes_cell(builder: DocumentBuilder, estimator: GaussianNB) -> Expr:
    priors = np.asarray(estimator.class_prior_, dtype=float)
    if not (priors > 0).all():
        raise ExportError("GaussianNB with a class prior of 0 is not supported (its log-prior is -infinity)")
    class_type = builder.named_type(CLASS_MODEL, {
        "type": "record", "name": CLASS_MODEL,
        "fields": [
            {"name": "log_prior", "type": "double"},
            {"name": "features", "type": {"type": "array", "items": {
                "type": "record", "name": FEATURE_MODEL,
                "fields": [{"name": "mean", "type": "double"}, {"name": "variance", "type": "double"}]}}},
        ]})
    init = [{"log_prior": float(np.log(prior)),
             "features": [{"mean": float(mean), "variance": float(variance)}
                          for mean, variance in zip(means, variances, strict=True)]}
            for prior, means, variances in zip(priors, estimator.theta_, estimator.var_, strict=True)]
    return builder.cell("gaussian_nb", {"type": "array", "items": class_type}, init)


def export_gaussian_nb(estimator: GaussianNB, builder: DocumentBuilder, features: Expr,
                       output: str) -> Tuple[AvroType, Expr]:
    model = _classes_cell(builder, estimator)
    joint_log_likelihood = builder.fcn("gaussian_nb_jll", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, {
        "a.map": [model, fn([("c", CLASS_MODEL)], "double",
                            {"+": ["c.log_prior", {"model.naive.gaussian": ["x", "c.features"]}]})]})
    if output == LABEL:
        return class_label(builder, estimator.classes_, {"a.argmax": [{joint_log_likelihood: [features]}]})
    probabilities = builder.fcn("gaussian_nb_probabilities", {"x": DOUBLE_ARRAY}, DOUBLE_ARRAY, [
        {"let": {"jll": {joint_log_likelihood: ["x"]}}},
        {"let": {"total": {"a.logsumexp": ["jll"]}}},
        {"a.map": ["jll", fn([("v", "double")], "double", {"m.exp": {"-": ["v", "total"]}})]},
    ])
    return class_probabilities(builder, estimator.classes_, probabilities, features)


EXPORTERS: Dict[type, Exporter] = {GaussianNB: export_gaussian_nb}
