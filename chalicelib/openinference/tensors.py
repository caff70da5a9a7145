"""A model's tensors in the Open Inference Protocol, read from its PFA input and output types.

- A record is one tensor per field; a map with declared keys (``metadata.input_keys``) one per key, typed
  by ``metadata.input_types`` where it narrows the map's value type; any other type is one tensor,
  ``input`` or ``output``.
- Each tensor holds one value per row (shape ``[-1]``), or an array of them (shape ``[-1, -1]``: every row
  the same length within one call).
- The value's Avro type gives the datatype: ``double`` FP64, ``float`` FP32, ``int`` INT32, ``long``
  INT64, ``boolean`` BOOL, ``string``, ``bytes``, ``enum`` and ``fixed`` BYTES. A union of ``null`` and
  one of these is the same tensor, nullable.

Anything else (a nested record, a map without declared keys, a union of two types) has no tensor form:
:class:`NoTensorForm` names the tensor and says why.
"""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from ..avro_schema import NamedTypes, Schema, describe, full_name, type_kind, unwrap
from ..errors import ServiceError

SINGLE_INPUT = "input"
SINGLE_OUTPUT = "output"
VARIABLE = -1

DATATYPES = {"double": "FP64", "float": "FP32", "int": "INT32", "long": "INT64", "boolean": "BOOL",
             "string": "BYTES", "bytes": "BYTES", "enum": "BYTES", "fixed": "BYTES"}
# The datatypes an input of each datatype also takes: every value of them is one the model's type takes
# too (as /predict takes a JSON integer for a double); integers are range-checked by validation.
ACCEPTED = {
    "FP64": ("FP64", "FP32", "INT32", "INT64"),
    "FP32": ("FP32", "FP64", "INT32", "INT64"),
    "INT32": ("INT32", "INT64"),
    "INT64": ("INT64", "INT32"),
    "BOOL": ("BOOL",),
    "BYTES": ("BYTES",),
}


class NoTensorForm(ServiceError):
    """The model's input or output type has no tensor form in the protocol."""

    status = 400
    code = "no_tensor_form"


@dataclass(frozen=True)
class Tensor:
    """One input or output tensor: its name, datatype, whether a row holds an array, and whether a row's
    value may be null; ``kind`` is the Avro type of a value."""

    name: str
    datatype: str
    kind: str
    array: bool = False
    nullable: bool = False

    @property
    def shape(self) -> List[int]:
        return [VARIABLE, VARIABLE] if self.array else [VARIABLE]

    def metadata(self) -> Dict[str, Any]:
        """The protocol's tensor metadata; a nullable tensor says so in ``parameters`` (an addition to the
        protocol's name, datatype and shape)."""
        described: Dict[str, Any] = {"name": self.name, "datatype": self.datatype, "shape": self.shape}
        if self.nullable:
            described["parameters"] = {"nullable": True}
        return described


@dataclass(frozen=True)
class Signature:
    """A model's tensors; ``per_field`` says whether a row's record is built from several tensors (one per
    field or key) or is the one tensor's value. ``optional`` names input fields with a default."""

    inputs: Tuple[Tensor, ...]
    outputs: Tuple[Tensor, ...]
    inputs_per_field: bool
    outputs_per_field: bool
    optional: frozenset = frozenset()

    @property
    def output_names(self) -> frozenset:
        return frozenset(tensor.name for tensor in self.outputs)

    def metadata(self) -> Dict[str, List[Dict[str, Any]]]:
        """The tensors as model metadata lists them; an input that may be left out (its field has a default)
        says so in ``parameters``."""
        inputs = []
        for tensor in self.inputs:
            described = tensor.metadata()
            if tensor.name in self.optional:
                described["parameters"] = {**described.get("parameters", {}), "optional": True}
            inputs.append(described)
        return {"inputs": inputs, "outputs": [tensor.metadata() for tensor in self.outputs]}


def signature(input_schema: Schema, output_schema: Schema, input_keys: Optional[List[str]] = None,
              input_types: Optional[Dict[str, Schema]] = None) -> Signature:
    """The tensors of a model with these types; raises :class:`NoTensorForm` naming what has none."""
    inputs, per_field_in, optional = _side(input_schema, "input", SINGLE_INPUT, input_keys, input_types or {})
    outputs, per_field_out, _ = _side(output_schema, "output", SINGLE_OUTPUT, None, {})
    return Signature(tuple(inputs), tuple(outputs), per_field_in, per_field_out, frozenset(optional))


def _side(schema: Schema, side: str, single: str, keys: Optional[List[str]],
          key_types: Dict[str, Schema]) -> Tuple[List[Tensor], bool, List[str]]:
    named = NamedTypes()
    _register(schema, named, "")
    schema = unwrap(schema)
    kind = type_kind(schema)
    if kind == "ref":
        schema = named.resolve(schema if isinstance(schema, str) else schema["type"], "")
        kind = type_kind(schema)
    if kind == "record":
        namespace = full_name(schema, "").rpartition(".")[0]
        tensors = [_tensor(field["name"], field["type"], named, namespace, f"{side} field {field['name']!r}")
                   for field in schema["fields"]]
        optional = [field["name"] for field in schema["fields"] if "default" in field]
        return tensors, True, optional
    if kind == "map" and side == "input":
        if not keys:
            raise NoTensorForm("the model's input is a map with no declared keys (metadata.input_keys), so it "
                               "has no tensors; score this model with /predict", field=single)
        return [_tensor(key, key_types.get(key, schema["values"]), named, "", f"input key {key!r}")
                for key in keys], True, []
    return [_tensor(single, schema, named, "", f"the model's {side}")], False, []


def _tensor(name: str, schema: Schema, named: NamedTypes, namespace: str, what: str) -> Tensor:
    kind, nullable = _value(schema, named, namespace, what, name)
    if kind == "array":
        items = _items(schema, named, namespace)
        item_kind, item_nullable = _value(items, named, namespace, f"{what} (its items)", name)
        if item_kind == "array":
            raise _none(what, name, "an array of arrays", "a tensor row holds one array")
        return Tensor(name, DATATYPES[item_kind], item_kind, array=True, nullable=item_nullable)
    return Tensor(name, DATATYPES[kind], kind, nullable=nullable)


def _value(schema: Schema, named: NamedTypes, namespace: str, what: str, name: str) -> Tuple[str, bool]:
    """(the Avro kind of one value, whether it may be null); arrays are ``array`` for the caller to open."""
    original = schema
    schema, kind = _resolved(schema, named, namespace)
    nullable = False
    if kind == "union":
        members = [member for member in schema if _resolved(member, named, namespace)[1] != "null"]
        if len(members) != 1:
            raise _none(what, name, describe(original), "a tensor has one datatype")
        nullable = len(members) < len(schema)
        schema, kind = _resolved(members[0], named, namespace)
        if kind == "array":
            raise _none(what, name, describe(original), "a null array has no tensor form")
    if kind in DATATYPES or kind == "array":
        return kind, nullable
    reason = {"record": "a record inside a union has no tensor form" if nullable
              else "a nested record has no tensor form",
              "map": "a map has no tensor form", "null": "it is always null"}.get(kind, "it has no tensor form")
    raise _none(what, name, describe(original), reason)


def _items(schema: Schema, named: NamedTypes, namespace: str) -> Schema:
    resolved, kind = _resolved(schema, named, namespace)
    if kind == "union":
        resolved = next(member for member in resolved if _resolved(member, named, namespace)[1] != "null")
        resolved, _ = _resolved(resolved, named, namespace)
    return resolved["items"]


def _resolved(schema: Schema, named: NamedTypes, namespace: str) -> Tuple[Schema, str]:
    schema = unwrap(schema)
    kind = type_kind(schema)
    if kind == "ref":
        schema = named.resolve(schema if isinstance(schema, str) else schema["type"], namespace)
        kind = type_kind(schema)
    return schema, kind


def _none(what: str, name: str, type_phrase: str, reason: str) -> NoTensorForm:
    return NoTensorForm(f"{what} is {type_phrase}: {reason} in the Open Inference Protocol; score this model "
                        f"with /predict", field=name)


def _register(schema: Schema, named: NamedTypes, namespace: str) -> None:
    """Register every named type the schema defines, so that later references resolve."""
    schema = unwrap(schema)
    if isinstance(schema, list):
        for member in schema:
            _register(member, named, namespace)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in ("record", "enum", "fixed"):
        full = named.register(schema, namespace)
        inner = full.rpartition(".")[0]
        for field in schema.get("fields", []) if kind == "record" else []:
            _register(field["type"], named, inner)
    elif kind == "array":
        _register(schema["items"], named, namespace)
    elif kind == "map":
        _register(schema["values"], named, namespace)
