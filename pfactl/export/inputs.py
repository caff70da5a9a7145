"""The input record: feature names, the Avro field names made of them, and example requests."""

import math
import re
from collections.abc import Mapping
from numbers import Real
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .builder import AvroType, ExportError
from .preprocessing import is_missing

_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def resolve_feature_names(estimator: Any, given: Optional[Sequence[Any]]) -> List[str]:
    """``given``, else the estimator's ``feature_names_in_``, else ``x0..xN``."""
    count = getattr(estimator, "n_features_in_", None)
    if given is not None:
        names = [str(name) for name in given]
        if count is not None and len(names) != count:
            raise ExportError(f"feature_names has {len(names)} names but the estimator was fitted on "
                              f"{count} features")
    elif hasattr(estimator, "feature_names_in_"):
        names = [str(name) for name in estimator.feature_names_in_]
    elif count is None:
        raise ExportError(f"{type(estimator).__name__} does not say how many features it takes; "
                          f"pass feature_names")
    else:
        names = [f"x{index}" for index in range(count)]
    if len(set(names)) != len(names):
        raise ExportError(f"feature names must be distinct: {names}")
    return names


def avro_name(text: str) -> str:
    """``text`` if it is a valid Avro name; otherwise each run of other characters becomes ``_``,
    outer ``_`` are stripped and ``_`` is put before a leading digit (``sepal length (cm)`` ->
    ``sepal_length_cm``, ``2nd`` -> ``_2nd``)."""
    if _AVRO_NAME.match(text):
        return text
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or "_"
    return "_" + name if name[0].isdigit() else name


def field_names(features: Sequence[str]) -> List[str]:
    """One distinct Avro field name per feature: valid names are kept as they are; the others
    are made valid by :func:`avro_name`, with ``_2``, ``_3``... added to a name already taken."""
    taken = {name for name in features if _AVRO_NAME.match(name)}
    fields = []
    for name in features:
        field = name
        if not _AVRO_NAME.match(name):
            base = field = avro_name(name)
            suffix = 2
            while field in taken:
                field, suffix = f"{base}_{suffix}", suffix + 1
            taken.add(field)
        fields.append(field)
    return fields


def example_record(example: Any, features: Sequence[str], fields: Sequence[str],
                   types: Dict[str, AvroType]) -> Dict[str, Any]:
    """A caller's example row as a JSON record of the input type.

    ``example`` is a mapping (or pandas Series) keyed by feature or field names, a one-row
    DataFrame, or a sequence (or array) of values in feature order.
    """
    if hasattr(example, "iloc") and getattr(example, "ndim", 1) == 2:
        if len(example) != 1:
            raise ExportError(f"example must be one row; the DataFrame has {len(example)}")
        example = example.iloc[0]
    if isinstance(example, Mapping) or (hasattr(example, "index") and hasattr(example, "keys")):
        values = []
        for feature, field in zip(features, fields, strict=True):
            if feature in example:
                values.append(example[feature])
            elif field in example:
                values.append(example[field])
            else:
                raise ExportError(f"example has no value for feature {feature!r}")
    else:
        values = list(np.asarray(example, dtype=object).reshape(-1))
        if len(values) != len(features):
            raise ExportError(f"example has {len(values)} values for {len(features)} features")
    return {field: _json_value(value, types[field], feature)
            for feature, field, value in zip(features, fields, values, strict=True)}


def _json_value(value: Any, avro_type: AvroType, feature: str) -> Any:
    kinds = avro_type if isinstance(avro_type, list) else [avro_type]
    if is_missing(value):
        if "null" not in kinds:
            raise ExportError(f"example value of {feature!r} is missing, but the field is {avro_type}")
        return None
    if isinstance(value, str) and "string" in kinds:
        return value
    if isinstance(value, Real) and not isinstance(value, (bool, np.bool_)) and "double" in kinds \
            and math.isfinite(value):
        return float(value)
    raise ExportError(f"example value {value!r} of {feature!r} is not of the field's type {avro_type}")
