"""Export fitted scikit-learn estimators to PFA documents: :func:`to_pfa`.

A document takes one JSON record of the features and runs the preprocessing
steps (:mod:`.preprocessing`), then the final estimator's exporter (from
:mod:`.linear`, :mod:`.naive_bayes`, :mod:`.cluster`, :mod:`.neighbors` and
:mod:`.trees`), on the feature vector they produce.
"""

import json
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import sklearn
from sklearn.base import is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from . import cluster, linear, naive_bayes, neighbors, preprocessing, trees
from .builder import LABEL, OUTPUTS, PROBA, DocumentBuilder, Exporter, ExportError, label_type
from .columns import ColumnFlow
from .inputs import avro_name, example_record, field_names, resolve_feature_names

__all__ = ["LABEL", "PROBA", "ExportError", "supported_classes", "supported_estimators", "supported_steps", "to_pfa"]

EXPORTER_VERSION = "1"
INPUT_RECORD = "Input"
FEATURES = "features"  # the variable holding the feature vector the final estimator reads


def estimator_exporters() -> Dict[type, Exporter]:
    """Final estimator class -> exporter (exact classes: a subclass may predict differently)."""
    return {**linear.EXPORTERS, **naive_bayes.EXPORTERS, **cluster.EXPORTERS, **neighbors.EXPORTERS,
            **trees.EXPORTERS}


def supported_classes() -> List[str]:
    """The names of every estimator and preprocessing class :func:`to_pfa` exports."""
    return sorted({*supported_estimators(), *supported_steps()})


def supported_estimators() -> List[str]:
    """The names of the classes :func:`to_pfa` exports as the final estimator."""
    return sorted(cls.__name__ for cls in estimator_exporters())


def supported_steps() -> List[str]:
    """The names of the classes :func:`to_pfa` exports as preprocessing steps before the final estimator."""
    return sorted(cls.__name__ for cls in preprocessing.TRANSFORMERS)


def to_pfa(estimator: Any, feature_names: Optional[Sequence[str]] = None, name: Optional[str] = None,
           output: str = LABEL, example: Any = None) -> Dict[str, Any]:
    """The PFA document (a dict, ready for ``json.dumps``) scoring records as ``estimator`` does.

    ``estimator`` is a fitted estimator of :func:`supported_classes`, or a Pipeline of
    preprocessing steps ending in one. ``output`` is ``"label"`` (``predict``: the class
    label, typed as :func:`pfactl.export.builder.label_type` says; the value, a ``double``,
    of a regressor; the cluster id, an ``int``, of k-means) or ``"proba"``
    (``predict_proba`` of a classifier: a map from ``str(label)`` to probability).

    The input is a record (``Input``) with one field per feature: the names are
    ``feature_names``, else the estimator's ``feature_names_in_``, else ``x0..xN``. A name
    that is not a valid Avro name is made one (``sepal length (cm)`` -> ``sepal_length_cm``,
    see :func:`pfactl.export.inputs.field_names`) and ``metadata.renamed_features`` maps
    the originals to the fields. A field is a ``double``, a ``string`` if it goes to a
    OneHotEncoder, nullable (``null`` is the missing value) if it goes to a SimpleImputer
    first, and optional (any scalar, or left out) if no step reads it.

    The document's ``name`` is ``name`` made a valid name, else the final estimator's
    class name. ``metadata`` (strings) holds the exporter and scikit-learn versions, the
    estimator, its parameters, the feature names, the classes of a classifier, and
    ``example_request``: ``example`` (a row as a mapping, Series, one-row DataFrame or
    sequence) as a JSON record, or else a record of zeros and known categories.

    Raises :class:`ExportError` naming what cannot be exported, and for an unsupported
    estimator or step, listing every supported class.
    """
    if output not in OUTPUTS:
        raise ExportError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")
    steps = _steps(estimator)
    final = steps[-1]
    exporter = estimator_exporters().get(type(final))
    if exporter is None:
        raise _unsupported(final, final=True)
    for step in steps:
        try:
            check_is_fitted(step)
        except NotFittedError:
            raise ExportError(f"{type(step).__name__} is not fitted") from None
    features = resolve_feature_names(estimator, feature_names)
    fields = field_names(features)
    flow = ColumnFlow(fields)
    columns = flow.columns
    try:
        for step in steps[:-1]:
            columns = preprocessing.transform(step, flow, columns)
    except preprocessing.UnsupportedStep as error:
        raise _unsupported(error.step, final=False) from None
    expected = getattr(final, "n_features_in_", len(columns))
    if expected != len(columns):
        raise ExportError(f"{type(final).__name__} was fitted on {expected} features but the steps before it "
                          f"give {len(columns)}")
    builder = DocumentBuilder()
    feature_vector = flow.features(columns, type(final).__name__)
    output_type, output_expr = exporter(final, builder, FEATURES, output)
    types = {field: flow.field_type(field) for field in fields}
    record = (example_record(example, features, fields, types) if example is not None
              else {field: flow.example(field) for field in fields})
    document: Dict[str, Any] = {
        "name": avro_name(name) if name else type(final).__name__,
        "doc": f"{describe(estimator)}, exported by pfactl from scikit-learn {sklearn.__version__}; "
               f"output: {_output_doc(final, output)}",
        "metadata": _metadata(final, estimator, output, features, fields, record),
        "input": {"type": "record", "name": INPUT_RECORD, "fields": flow.field_types()},
        "output": output_type,
    }
    if builder.cells:
        document["cells"] = builder.cells
    if builder.fcns:
        document["fcns"] = builder.fcns
    document["action"] = [*flow.statements, {"let": {FEATURES: feature_vector}}, output_expr]
    return document


def describe(step: Any) -> str:
    """A one-line summary: ``Pipeline(StandardScaler, LogisticRegression)``."""
    if isinstance(step, Pipeline):
        return f"Pipeline({', '.join(describe(inner) for _, inner in step.steps)})"
    if isinstance(step, ColumnTransformer):
        parts = [f"{name}: {describe(inner)}" for name, inner, _ in getattr(step, "transformers_", step.transformers)]
        return f"ColumnTransformer({', '.join(parts)})"
    return step if isinstance(step, str) else type(step).__name__


def _steps(estimator: Any) -> List[Any]:
    """The steps of a Pipeline, nested pipelines flattened and "passthrough" left out; else [estimator]."""
    if not isinstance(estimator, Pipeline):
        return [estimator]
    steps = [inner for _, step in estimator.steps if not preprocessing.is_passthrough(step)
             for inner in _steps(step)]
    if not steps:
        raise ExportError("the Pipeline has no estimator")
    return steps


def _unsupported(step: Any, final: bool) -> ExportError:
    name = type(step).__name__
    if final and type(step) in preprocessing.TRANSFORMERS:
        return ExportError(f"{name} is a preprocessing step; end with an estimator: "
                           f"{', '.join(supported_estimators())}")
    if not final and type(step) in estimator_exporters():
        return ExportError(f"{name} is supported as the final estimator only, not as a transformer step")
    return ExportError(f"{name} is not supported; supported: {', '.join(supported_classes())}")


def _output_doc(final: Any, output: str) -> str:
    if output == PROBA:
        return "class probabilities by str(label)"
    if is_classifier(final):
        return "the class label"
    return "the value" if is_regressor(final) else "the cluster id"


def _json_scalar(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return value
    return repr(value)


def _metadata(final: Any, estimator: Any, output: str, features: List[str], fields: List[str],
              example: Dict[str, Any]) -> Dict[str, str]:
    metadata = {
        "exporter": "pfactl.export",
        "exporter_version": EXPORTER_VERSION,
        "sklearn_version": sklearn.__version__,
        "estimator": describe(estimator),
        "estimator_params": json.dumps({key: _json_scalar(value)
                                        for key, value in final.get_params(deep=False).items()}, sort_keys=True),
        "output": output,
        "feature_names": json.dumps(features),
        "example_request": json.dumps(example),
    }
    renamed = {feature: field for feature, field in zip(features, fields, strict=True) if feature != field}
    if renamed:
        metadata["renamed_features"] = json.dumps(renamed)
    if is_classifier(final):
        _, to_json = label_type(final.classes_)
        metadata["classes"] = json.dumps([to_json(label) for label in final.classes_])
    return metadata
