"""The output tensors of an inference: row ``i`` of each is the prediction for record ``i``.

A record output is one tensor per field, any other output the one tensor ``output``. Values are the ones
/predict answers (a null is ``null``; a non-finite double the string ``"NaN"``, ``"Infinity"`` or
``"-Infinity"``, which NumPy reads back as the number). An array output needs every row's array the same
length.
"""

from typing import Any, Dict, List, Optional

from ..errors import ModelError
from .tensors import Signature, Tensor


def output_tensors(predictions: List[Any], signature: Signature,
                   requested: Optional[List[str]]) -> List[Dict[str, Any]]:
    tensors = signature.outputs
    if requested is not None:
        by_name = {tensor.name: tensor for tensor in tensors}
        tensors = tuple(by_name[name] for name in requested)
    return [_tensor(tensor, [row[tensor.name] for row in predictions] if signature.outputs_per_field
                    else predictions) for tensor in tensors]


def _tensor(tensor: Tensor, rows: List[Any]) -> Dict[str, Any]:
    if not tensor.array:
        return {"name": tensor.name, "datatype": tensor.datatype, "shape": [len(rows)], "data": rows}
    widths = {len(row) for row in rows if row is not None}
    if any(row is None for row in rows) or len(widths) > 1:
        lengths = ", ".join(f"row {index}: {'null' if row is None else len(row)}"
                            for index, row in enumerate(rows[:5]))
        raise ModelError(f"output {tensor.name!r} has arrays of different lengths ({lengths}, ...); a tensor's "
                         f"rows are the same length, so score these records with /predict/batch")
    width = widths.pop() if widths else 0
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": [len(rows), width],
            "data": [value for row in rows for value in row]}
