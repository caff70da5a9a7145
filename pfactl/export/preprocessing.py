"""Preprocessing steps to PFA, column by column (see :mod:`pfactl.export.columns`).

Each step gives the columns of scikit-learn's ``transform``, in its order, with
its arithmetic in its order, so values agree to the bit:

- ``StandardScaler``: ``(x - mean_) / scale_`` (each part only if ``with_mean`` /
  ``with_std``);
- ``MinMaxScaler``: ``x * scale_ + min_``, clipped to ``feature_range`` if ``clip``;
- ``SimpleImputer`` (``missing_values`` NaN or None; any strategy): the input field
  becomes nullable and JSON ``null`` takes the fitted statistic; columns without
  a statistic are dropped and ``add_indicator`` appends 0/1 indicator columns, as
  scikit-learn does; on string columns the field is ``["null", "string"]``;
- ``OneHotEncoder`` on string (or numeric) categories: one 0/1 column per category
  except ``drop_idx_``; an unknown category gives all zeros, or with
  ``handle_unknown="error"`` a PFA error naming the field; a missing-value
  category (fitted on NaN or None) makes the field nullable, ``null`` selecting it;
- ``ColumnTransformer``: each transformer on its columns, then the remainder
  (``"drop"``, ``"passthrough"`` or a transformer), in ``transformers_`` order,
  times its ``transformer_weights``;
- ``Pipeline`` of these, and ``FunctionTransformer`` without a function (identity).
"""

import math
from typing import Any, Callable, Dict, List, Sequence

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, OneHotEncoder, StandardScaler

from .builder import ExportError, Expr
from .columns import NUMBER, TEXT, Column, ColumnFlow

MAX_LISTED_CATEGORIES = 10


class UnsupportedStep(ExportError):
    """A step of a class this module cannot export (``to_pfa`` lists the supported classes)."""

    def __init__(self, step: Any) -> None:
        super().__init__(f"{type(step).__name__} is not supported")
        self.step = step


def transform(step: Any, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    """The columns ``step`` (a fitted transformer, ``"passthrough"`` or None) makes of ``columns``."""
    if is_passthrough(step):
        return columns
    export = TRANSFORMERS.get(type(step))
    if export is None:
        raise UnsupportedStep(step)
    expected = getattr(step, "n_features_in_", len(columns))
    if expected != len(columns):
        raise ExportError(f"{type(step).__name__} was fitted on {expected} columns but gets {len(columns)}")
    return export(step, flow, columns)


def is_passthrough(step: Any) -> bool:
    """A Pipeline or ColumnTransformer step that leaves its columns as they are."""
    return step is None or (isinstance(step, str) and step == "passthrough")


def is_missing(value: Any) -> bool:
    """None, NaN, pandas.NA or NaT: what scikit-learn treats as a missing value."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA refuses to be a boolean
        return True


def _number(value: Any, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ExportError(f"{what} is {number}, which a PFA document cannot hold as a literal")
    return number


def _literal(value: Any, kind: str) -> Expr:
    return _number(value, "a fitted value") if kind == NUMBER else {"string": str(value)}


def _standard_scaler(scaler: StandardScaler, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    outputs = []
    for index, column in enumerate(columns):
        value, _ = flow.read(column, NUMBER, "StandardScaler")
        if scaler.with_mean:
            value = {"-": [value, _number(scaler.mean_[index], "StandardScaler.mean_")]}
        if scaler.with_std:
            value = {"/": [value, _number(scaler.scale_[index], "StandardScaler.scale_")]}
        outputs.append(Column(column.source, value, NUMBER))
    return outputs


def _min_max_scaler(scaler: MinMaxScaler, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    low, high = (_number(bound, "MinMaxScaler.feature_range") for bound in scaler.feature_range)
    outputs = []
    for index, column in enumerate(columns):
        value, _ = flow.read(column, NUMBER, "MinMaxScaler")
        value = {"+": [{"*": [value, _number(scaler.scale_[index], "MinMaxScaler.scale_")]},
                       _number(scaler.min_[index], "MinMaxScaler.min_")]}
        if scaler.clip:
            value = {"min": [{"max": [value, low]}, high]}
        outputs.append(Column(column.source, value, NUMBER))
    return outputs


def _simple_imputer(imputer: SimpleImputer, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    if not is_missing(imputer.missing_values):
        raise ExportError(f"SimpleImputer(missing_values={imputer.missing_values!r}) is not supported; "
                          f"only NaN or None, which a request sends as null")
    outputs, indicators = [], []
    for column, statistic in zip(columns, imputer.statistics_, strict=True):
        kind = TEXT if isinstance(statistic, str) else NUMBER
        seen = not is_missing(statistic)  # scikit-learn drops a column it saw no value of
        example = (statistic if kind == TEXT else _number(statistic, "SimpleImputer.statistics_")) if seen else None
        value, nullable = flow.read(column, kind, "SimpleImputer", nullable=True, example=example)
        present = flow.symbol()
        indicators.append(Column(column.source, {"ifnotnull": {present: value}, "then": 0.0, "else": 1.0}
                                 if nullable else 0.0, NUMBER))
        if seen:
            if nullable:
                value = {"ifnotnull": {present: value}, "then": present, "else": _literal(statistic, kind)}
            outputs.append(Column(column.source, value, kind))
    if imputer.add_indicator:
        outputs += [indicators[index] for index in imputer.indicator_.features_]
    return outputs


def _category_kind(categories: Sequence[Any], source: str) -> str:
    if categories and all(isinstance(category, str) for category in categories):
        return TEXT
    if categories and all(isinstance(category, (int, float, np.integer, np.floating))
                          and not isinstance(category, (bool, np.bool_)) for category in categories):
        return NUMBER
    raise ExportError(f"OneHotEncoder categories of {source!r} must be all strings or all numbers, "
                      f"not {list(categories)[:MAX_LISTED_CATEGORIES]!r}")


def _one_hot_encoder(encoder: OneHotEncoder, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    if getattr(encoder, "_infrequent_enabled", False):
        raise ExportError("OneHotEncoder grouping infrequent categories (min_frequency, max_categories) "
                          "is not supported")
    outputs = []
    for position, (column, categories) in enumerate(zip(columns, encoder.categories_, strict=True)):
        # scikit-learn sorts a missing-value category (NaN or None) last.
        known = [category.item() if hasattr(category, "item") else category
                 for category in categories if not is_missing(category)]
        kind = _category_kind(known, column.source)
        value, nullable = flow.read(column, kind, "OneHotEncoder", nullable=len(known) < len(categories),
                                    example=known[0])
        table = {"value": known if kind == TEXT else [float(category) for category in known],
                 "type": {"type": "array", "items": kind}}
        if nullable:
            present = flow.symbol()
            value = {"ifnotnull": {present: value}, "then": {"a.index": [table, present]}, "else": len(known)}
        else:
            value = {"a.index": [table, value]}
        index = flow.bind(value)
        if encoder.handle_unknown == "error":
            listed = ", ".join(str(category) for category in known[:MAX_LISTED_CATEGORIES])
            more = ", ..." if len(known) > MAX_LISTED_CATEGORIES else ""
            flow.statements.append({"if": {"==": [index, -1]}, "then": {
                "error": f"field {column.source!r}: unknown category (OneHotEncoder knows {listed}{more})"}})
        dropped = None if encoder.drop_idx_ is None else encoder.drop_idx_[position]
        outputs += [Column(column.source, {"if": {"==": [index, category]}, "then": 1.0, "else": 0.0}, NUMBER)
                    for category in range(len(categories)) if category != dropped]
    return outputs


def _column_transformer(transformer: ColumnTransformer, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    outputs: List[Column] = []
    for name, step, _ in transformer.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        # The fitted column selection (names, masks, slices or callables) resolved to input positions.
        positions = transformer._transformer_to_input_indices[name]
        produced = transform(step, flow, [columns[position] for position in positions]) if positions else []
        weight = (transformer.transformer_weights or {}).get(name)
        if weight is not None:
            factor = _number(weight, f"ColumnTransformer weight of {name!r}")
            produced = [Column(column.source, {"*": [flow.read(column, NUMBER, "ColumnTransformer")[0], factor]},
                               NUMBER) for column in produced]
        span = transformer.output_indices_[name]
        if len(produced) != span.stop - span.start:
            raise ExportError(f"ColumnTransformer step {name!r} gives {span.stop - span.start} columns in "
                              f"scikit-learn but {len(produced)} in the export")
        outputs += produced
    return outputs


def _pipeline(pipeline: Pipeline, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    for _, step in pipeline.steps:
        columns = transform(step, flow, columns)
    return columns


def _function_transformer(step: FunctionTransformer, flow: ColumnFlow, columns: List[Column]) -> List[Column]:
    if step.func is not None:
        raise ExportError("FunctionTransformer with a function is not supported (only func=None, the identity)")
    return columns


TRANSFORMERS: Dict[type, Callable[[Any, ColumnFlow, List[Column]], List[Column]]] = {
    StandardScaler: _standard_scaler,
    MinMaxScaler: _min_max_scaler,
    SimpleImputer: _simple_imputer,
    OneHotEncoder: _one_hot_encoder,
    ColumnTransformer: _column_transformer,
    Pipeline: _pipeline,
    FunctionTransformer: _function_transformer,
}
