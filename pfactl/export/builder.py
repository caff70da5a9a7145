"""Assembling a PFA document piece by piece.

Every estimator exporter has the same contract (see :data:`Exporter`): it is given
the fitted estimator, a :class:`DocumentBuilder` to register cells, functions
and named types on, and a PFA expression that evaluates to the feature vector
(``array<double>``, after any preprocessing). It returns the output's Avro type
and a PFA expression computing the output from that vector.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Tuple

Expr = Any  # a PFA expression in its JSON form
AvroType = Any  # an Avro schema in its JSON form

DOUBLE_ARRAY: AvroType = {"type": "array", "items": "double"}

LABEL = "label"  # classifiers: the predicted class; regressors: the value; k-means: the cluster id
PROBA = "proba"  # classifiers: map of class label (as a string) to probability
OUTPUTS = (LABEL, PROBA)


class ExportError(ValueError):
    """The estimator cannot be exported; the message names it and says why."""


@dataclass
class DocumentBuilder:
    """Collects the cells, functions and named types of the document being built."""

    cells: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    fcns: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    _defined_types: Dict[str, AvroType] = field(default_factory=dict)

    def cell(self, hint: str, avro_type: AvroType, init: Any) -> Expr:
        """Add a cell holding ``init``; returns the expression that reads it."""
        name = self._unique(hint, self.cells)
        self.cells[name] = {"type": avro_type, "init": init}
        return {"cell": name}

    def fcn(self, hint: str, params: Dict[str, AvroType], ret: AvroType, do: Any) -> str:
        """Add a user function; returns its name for calls (``{"u.name": [...]}``)."""
        name = self._unique(hint, self.fcns)
        self.fcns[name] = {"params": [{key: value} for key, value in params.items()], "ret": ret,
                           "do": do if isinstance(do, list) else [do]}
        return "u." + name

    def named_type(self, name: str, definition: AvroType) -> AvroType:
        """The full definition the first time a named type is used, its name afterwards (PFA's rule)."""
        if name in self._defined_types:
            return name
        self._defined_types[name] = definition
        return definition

    @staticmethod
    def _unique(hint: str, taken: Dict[str, Any]) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", hint) or "x"
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        name, index = base, 2
        while name in taken:
            name, index = f"{base}_{index}", index + 1
        return name


Exporter = Callable[[Any, DocumentBuilder, Expr, str], Tuple[AvroType, Expr]]
"""``exporter(estimator, builder, features, output) -> (output_type, output_expr)``.

``features`` is an expression of type ``array<double>``, in the estimator's
feature order. ``output`` is :data:`LABEL` or :data:`PROBA`; an exporter that
cannot give probabilities raises :class:`ExportError` for :data:`PROBA`.
Class labels keep their type: strings as ``string``, integers as ``long``,
booleans as ``boolean``; probability maps are keyed by ``str(label)``.
"""


def label_type(classes: Any) -> Tuple[AvroType, Callable[[Any], Any]]:
    """The Avro type of a classifier's labels and a converter of one label to plain JSON."""
    first = classes[0].item() if hasattr(classes[0], "item") else classes[0]
    if isinstance(first, bool):
        return "boolean", lambda label: bool(label)
    if isinstance(first, int):
        return "long", lambda label: int(label)
    if isinstance(first, str):
        return "string", lambda label: str(label)
    raise ExportError(f"class labels of type {type(first).__name__} are not supported (use strings or integers)")
