"""Tensor values sent as raw bytes (the protocol's binary tensor data extension).

Numbers are little-endian in row-major order; BOOL is one byte per value; each BYTES value is a 4-byte
little-endian length followed by that many bytes. A BYTES value of a ``string`` input must be UTF-8; one
of a ``bytes`` or ``fixed`` input becomes the string of code points 0-255 that /predict takes for it.
"""

import array
import sys
from typing import Any, List

from ..errors import InvalidInput, InvalidRequest
from .tensors import Tensor

# array typecodes of the fixed-size datatypes (their item sizes are checked at import).
_TYPECODES = {"FP64": "d", "FP32": "f", "INT64": "q", "INT32": "i", "BOOL": "B"}
_SIZES = {"FP64": 8, "FP32": 4, "INT64": 8, "INT32": 4, "BOOL": 1}
assert all(array.array(code).itemsize == _SIZES[name] for name, code in _TYPECODES.items())


def decode(raw: memoryview, datatype: str, count: int, width: int, tensor: Tensor) -> List[Any]:
    """``count`` values of ``datatype`` (``width`` to a row) from ``raw``; InvalidRequest names the input when
    they do not fit, InvalidInput the row of a value that is not one of its datatype."""
    if datatype == "BYTES":
        return _strings(raw, count, width, tensor)
    size = _SIZES[datatype]
    if len(raw) != count * size:
        raise InvalidRequest(f"input {tensor.name!r} has {len(raw)} bytes of binary data; {count} {datatype} "
                             f"values take {count * size}", field=tensor.name)
    values = array.array(_TYPECODES[datatype])
    values.frombytes(raw)
    if sys.byteorder == "big":
        values.byteswap()
    if datatype == "BOOL":
        for index, value in enumerate(values):
            if value > 1:
                raise InvalidInput(f"row {index // width} of {count // width}, input {tensor.name!r}: a BOOL byte "
                                   f"is 0 or 1, got {value}", field=tensor.name)
        return [bool(value) for value in values]
    return values.tolist()


def _strings(raw: memoryview, count: int, width: int, tensor: Tensor) -> List[Any]:
    values: List[Any] = []
    offset = 0
    while offset < len(raw) and len(values) < count:
        if offset + 4 > len(raw):
            break
        length = int.from_bytes(raw[offset:offset + 4], "little")
        offset += 4
        if offset + length > len(raw):
            break
        values.append(_text(bytes(raw[offset:offset + length]), tensor, len(values) // width, count // width))
        offset += length
    if len(values) != count or offset != len(raw):
        raise InvalidRequest(f"input {tensor.name!r} binary data does not hold {count} BYTES values (each a 4-byte "
                             f"little-endian length and that many bytes)", field=tensor.name)
    return values


def _text(value: bytes, tensor: Tensor, row: int, rows: int) -> str:
    if tensor.kind in ("bytes", "fixed"):
        return value.decode("latin-1")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"row {row} of {rows}, input {tensor.name!r}: expected UTF-8 text (the model takes a "
                           f"{tensor.kind}), got bytes that are not", field=tensor.name) from None
