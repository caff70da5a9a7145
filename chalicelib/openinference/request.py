"""An inference request of the Open Inference Protocol, read into one record per row.

The body is the protocol's JSON object, or (the binary tensor data extension, which tritonclient uses by
default) that object's first ``Inference-Header-Content-Length`` bytes followed by the tensors' raw bytes,
in the order of the inputs that give a ``binary_data_size``.

Row ``i`` of every input tensor makes record ``i``: for a record or keyed-map input, one field per tensor;
otherwise the one tensor's value. A null is JSON ``null`` in ``data``; in a nullable FP64 or FP32 input,
``NaN`` (what NumPy holds for a missing value) is null too. The records then meet the model's own
validation, as a /predict record does.
"""

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import InvalidRequest, MalformedJson, PayloadTooLarge
from ..request_body import read_json
from ..validation import shown
from . import binary
from .compression import byte_count, decompressed
from .tensors import ACCEPTED, Signature, Tensor
from .values import brief, fits, got, missing, typed

BINARY_HEADER = "Inference-Header-Content-Length"
DATATYPES = ("BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
             "FP64", "BYTES", "BF16")
REQUEST_FIELDS = ("id", "parameters", "inputs", "outputs", "model_name", "model_version")
INPUT_FIELDS = ("name", "shape", "datatype", "parameters", "data")
OUTPUT_FIELDS = ("name", "parameters")
BINARY_SIZE = "binary_data_size"
_LENGTH = re.compile(r"[0-9]{1,15}")
# An id is echoed in the answer: it is bounded like any caller-written text there.
ID_LIMIT = 256
_NAMES_SHOWN = 10


@dataclass(frozen=True)
class InferenceRequest:
    """What the request asks: ``records`` in row order, ``outputs`` to answer (None: all)."""

    id: Optional[str]
    records: List[Any]
    outputs: Optional[List[str]]


def read_request(raw_body: bytes, json_length: Optional[str], signature: Signature, max_bytes: int,
                 max_rows: int, encoding: Optional[str] = None,
                 check_model: Callable[[Optional[str], Optional[str]], None] = lambda name, version: None
                 ) -> InferenceRequest:
    """Read and check the request against the model's tensors; InvalidRequest (400) or PayloadTooLarge (413)
    names the input and what was expected. ``encoding`` is the Content-Encoding, if any; ``check_model`` is
    given the body's model_name and model_version before any input is read."""
    if len(raw_body) > max_bytes:
        raise PayloadTooLarge(f"request body is {len(raw_body)} bytes, over the limit of {max_bytes} bytes")
    raw_body = decompressed(raw_body, encoding, max_bytes)
    header, raw = _split(raw_body, json_length)
    try:
        body = read_json(header, max_bytes, what="an inference request object", allow_nan=True)
    except MalformedJson as error:
        if json_length is None and b'"binary_data_size"' in header:
            error.message += (f"; a body of binary tensor data needs the header {BINARY_HEADER} (the length in "
                              f"bytes of its JSON part)")
        raise
    if type(body) is not dict:
        raise InvalidRequest(f'expected an inference request object {{"inputs": [...]}}, got {shown(body)}')
    _known(body, REQUEST_FIELDS, "the request")
    check_model(_optionalbrief(body, "model_name", "request"), _optionalbrief(body, "model_version", "request"))
    request_id = _optionalbrief(body, "id", "request")
    if request_id is not None and len(request_id) > ID_LIMIT:
        raise InvalidRequest(f"id is {len(request_id)} characters; expected at most {ID_LIMIT}", field="id")
    _parameters(body.get("parameters"), "parameters")
    inputs = body.get("inputs")
    if type(inputs) is not list:
        raise InvalidRequest(f"expected 'inputs', an array of input tensors, got {got(inputs)}", field="inputs")
    tensors = _read_inputs(inputs, raw, signature)
    records = _records(tensors, signature, max_rows)
    return InferenceRequest(id=request_id, records=records, outputs=_requested_outputs(body.get("outputs"), signature))


def _split(raw_body: bytes, json_length: Optional[str]) -> Tuple[bytes, Optional[memoryview]]:
    if json_length is None:
        return raw_body, None
    text = json_length.strip()
    if not _LENGTH.fullmatch(text) or int(text) > len(raw_body):
        raise InvalidRequest(f"header {BINARY_HEADER} must be the length in bytes of the JSON part of the body "
                             f"(0 to {len(raw_body)}), got {json_length[:40]!r}", field=BINARY_HEADER)
    length = int(text)
    return raw_body[:length], memoryview(raw_body)[length:]


@dataclass(frozen=True)
class _Input:
    tensor: Tensor
    rows: int
    width: int
    values: List[Any]


def _read_inputs(inputs: List[Any], raw: Optional[memoryview], signature: Signature) -> Dict[str, _Input]:
    by_name = {tensor.name: tensor for tensor in signature.inputs}
    read: Dict[str, _Input] = {}
    offset = 0
    for position, given in enumerate(inputs):
        where = f"inputs[{position}]"
        if type(given) is not dict:
            raise InvalidRequest(f"expected {where} to be an input tensor object, got {got(given)}", field=where)
        _known(given, INPUT_FIELDS, where)
        name = given.get("name")
        if type(name) is not str:
            raise InvalidRequest(f"expected {where}.name to be the input's name, got {got(name)}",
                                 field=f"{where}.name")
        if name not in by_name:
            raise InvalidRequest(f"unknown input {_short(name)}; the model's inputs are {_names(list(by_name))}",
                                 field=name)
        if name in read:
            raise InvalidRequest(f"input {name!r} is given twice", field=name)
        tensor = by_name[name]
        shape = _shape(given.get("shape"), tensor)
        _datatype(given.get("datatype"), tensor)
        parameters = _parameters(given.get("parameters"), f"input {name!r} parameters")
        rows, width = shape[0], shape[1] if tensor.array else 1
        count = rows * width
        if BINARY_SIZE in parameters:
            if "data" in given:
                raise InvalidRequest(f"input {name!r} gives both 'data' and parameters.{BINARY_SIZE}; expected "
                                     f"one of them", field=name)
            size = parameters[BINARY_SIZE]
            if raw is None or type(size) is not int or size < 0 or offset + size > len(raw):
                left = 0 if raw is None else len(raw) - offset
                raise InvalidRequest(f"input {name!r} has parameters.{BINARY_SIZE} {brief(size)}, but the body "
                                     f"has {byte_count(left)} of binary data left after the JSON part "
                                     f"({BINARY_HEADER})", field=name)
            values = binary.decode(raw[offset:offset + size], given["datatype"], count, width, tensor)
            offset += size
        elif "data" in given:
            values = _flat(given["data"], rows, width, len(given["shape"]), tensor)
        else:
            raise InvalidRequest(f"input {name!r} has no 'data'", field=name)
        if len(values) != count:
            raise InvalidRequest(f"input {name!r} has shape {brief(given['shape'])}, which holds {count} values, "
                                 f"but its data has {len(values)}", field=name)
        if "data" in given:
            values = typed(values, given["datatype"], width, tensor)
        fits(values, given["datatype"], width, tensor)
        read[name] = _Input(tensor, rows, width, missing(values, width, tensor))
    if raw is not None and offset != len(raw):
        raise InvalidRequest(f"the body has {byte_count(len(raw) - offset)} of binary data that no input's "
                             f"parameters.{BINARY_SIZE} accounts for", field=BINARY_HEADER)
    return read


def _shape(shape: Any, tensor: Tensor) -> List[int]:
    expected = "[rows, n]" if tensor.array else "[rows] or [rows, 1]"
    if type(shape) is not list or not 1 <= len(shape) <= 2 or any(
            type(size) is not int or not 0 <= size < 2 ** 32 for size in shape):
        raise InvalidRequest(f"input {tensor.name!r} needs a shape {expected} of non-negative integers, got "
                             f"{brief(shape)}", field=tensor.name)
    if tensor.array and len(shape) == 2:
        return shape
    if not tensor.array and (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
        return shape[:1]
    row = "an array" if tensor.array else "one value"
    raise InvalidRequest(f"input {tensor.name!r} has shape {brief(shape)}; expected {expected}: each row holds "
                         f"{row}", field=tensor.name)


def _datatype(datatype: Any, tensor: Tensor) -> None:
    accepted = ACCEPTED[tensor.datatype]
    if datatype in accepted:
        return
    also = f" (or {', '.join(accepted[1:])})" if len(accepted) > 1 else ""
    if type(datatype) is not str or datatype not in DATATYPES:
        raise InvalidRequest(f"input {tensor.name!r} needs datatype {tensor.datatype}{also}, got {got(datatype)}",
                             field=tensor.name)
    raise InvalidRequest(f"input {tensor.name!r} is {tensor.kind} in the model, so its datatype is "
                         f"{tensor.datatype}{also}; got {datatype}", field=tensor.name)


def _flat(data: Any, rows: int, width: int, dims: int, tensor: Tensor) -> List[Any]:
    """``data`` flattened in row-major order. The protocol allows it flat or nested as the shape is; nested, each
    row must hold what the shape says (a row of the wrong length is refused, not read across rows)."""
    if type(data) is not list:
        raise InvalidRequest(f"input {tensor.name!r} data must be an array, got {got(data)}", field=tensor.name)
    nested = [type(value) is list for value in data]
    if not any(nested):
        return data
    if dims < 2 or not all(nested) or len(data) != rows:
        raise InvalidRequest(f"input {tensor.name!r} data does not follow its shape: give it flat, or as {rows} "
                             f"arrays of {width} values", field=tensor.name)
    flat: List[Any] = []
    for row, values in enumerate(data):
        if len(values) != width or any(type(value) is list for value in values):
            raise InvalidRequest(f"row {row} of {rows}, input {tensor.name!r}: {len(values)} values where its "
                                 f"shape says {width}" if len(values) != width else
                                 f"input {tensor.name!r} data is nested deeper than its shape", field=tensor.name)
        flat.extend(values)
    return flat


def _records(tensors: Dict[str, _Input], signature: Signature, max_rows: int) -> List[Any]:
    missing = [tensor.name for tensor in signature.inputs
               if tensor.name not in tensors and tensor.name not in signature.optional]
    if missing:
        tensor = next(tensor for tensor in signature.inputs if tensor.name == missing[0])
        more = f" (and {len(missing) - 1} more: {_names(missing[1:])})" if len(missing) > 1 else ""
        raise InvalidRequest(f"missing input {tensor.name!r} ({tensor.datatype}, shape {tensor.shape}){more}",
                             field=tensor.name)
    if not tensors:
        raise InvalidRequest("expected at least one input tensor", field="inputs")
    first, *others = tensors.values()
    for given in others:
        if given.rows != first.rows:
            raise InvalidRequest(f"input {given.tensor.name!r} has {given.rows} rows, but {first.tensor.name!r} has "
                                 f"{first.rows}; row i of every input is record i", field=given.tensor.name)
    count = first.rows
    if count > max_rows:
        raise PayloadTooLarge(f"expected at most {max_rows} rows (MAX_BATCH_RECORDS), got {count}", field="inputs")
    columns = [(name, _column(given)) for name, given in tensors.items()]
    if signature.inputs_per_field:
        return [{name: column[row] for name, column in columns} for row in range(count)]
    return list(columns[0][1])


def _column(given: _Input) -> Sequence[Any]:
    if not given.tensor.array:
        return given.values
    width = given.width
    return [given.values[row * width:(row + 1) * width] for row in range(given.rows)]


def _requested_outputs(outputs: Any, signature: Signature) -> Optional[List[str]]:
    if outputs is None:
        return None
    if type(outputs) is not list or not outputs:
        raise InvalidRequest(f"expected 'outputs', an array of the outputs to answer (leave it out for all of "
                             f"them), got {got(outputs)}", field="outputs")
    known = [tensor.name for tensor in signature.outputs]
    names: Dict[str, None] = {}
    for position, requested in enumerate(outputs):
        where = f"outputs[{position}]"
        if type(requested) is not dict:
            raise InvalidRequest(f"expected {where} to be an object with the output's name, got {got(requested)}",
                                 field=where)
        _known(requested, OUTPUT_FIELDS, where)
        name = requested.get("name")
        if type(name) is not str or name not in signature.output_names:
            raise InvalidRequest(f"unknown output {_short(name)}; the model's outputs are {_names(known)}",
                                 field=where)
        _parameters(requested.get("parameters"), f"output {name!r} parameters")
        names[name] = None
    return list(names)


def _parameters(parameters: Any, where: str) -> Dict[str, Any]:
    if parameters is None:
        return {}
    if type(parameters) is not dict:
        raise InvalidRequest(f"expected {where} to be an object of name to value, got {got(parameters)}",
                             field=where)
    return parameters


def _known(given: Dict[str, Any], fields: Tuple[str, ...], where: str) -> None:
    unknown = sorted(key for key in given if key not in fields)
    if unknown:
        raise InvalidRequest(f"unknown field {_short(unknown[0])} in {where}; expected fields: "
                             f"{', '.join(fields)}", field=unknown[0][:60])


def _optionalbrief(body: Dict[str, Any], field: str, where: str) -> Optional[str]:
    value = body.get(field)
    if value is not None and type(value) is not str:
        raise InvalidRequest(f"expected the {where}'s {field} to be a string, got {got(value)}", field=field)
    return value


def _short(name: Any) -> str:
    text = name if isinstance(name, str) else shown(name)
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _names(names: List[str]) -> str:
    shown_names = ", ".join(names[:_NAMES_SHOWN])
    return shown_names + (f", ... ({len(names)} in all)" if len(names) > _NAMES_SHOWN else "")
