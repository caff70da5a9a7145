"""A PFA document made ready to answer requests: compiled, with its validator,
output encoder and example request. The service and ``pfactl`` build models
the same way, through :func:`compile_served`.

A map-typed input may be given a record's contract by the document's metadata:
``input_keys`` (comma-separated: exactly these keys, all required) and
``input_types`` (JSON text: key to the Avro type its value must have, narrower
than the map's value type).
"""

import json
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from .avro_schema import SchemaError
from .compiler.choice import AUTO, TITUS
from .documents import parse_document
from .engine import PfaModel
from .errors import ModelError, ModelLoadError, ModelMemoryExceeded, ServiceError
from .limits.deadline import Deadline
from .limits.memory import give_back
from .output_encoding import compile_encoder
from .schema_examples import EXAMPLE_REQUEST, example_request
from .schema_samples import sample_requests
from .validation import compile_validator

INPUT_KEYS = "input_keys"
INPUT_TYPES = "input_types"
# Metadata the service reads for itself; GET /model shows what it means (input_keys, example_request),
# not the raw text again.
SERVICE_METADATA = (INPUT_KEYS, INPUT_TYPES, EXAMPLE_REQUEST)
# Generated requests the compiled engine must answer as titus does before it serves (within a time budget).
CHECK_SAMPLES = 64


@dataclass(frozen=True)
class ServedModel:
    model: PfaModel
    validate: Callable[[Any], Any]
    encode: Callable[[Any], Any]
    example: Any
    input_keys: Optional[List[str]]
    input_types: Optional[Dict[str, Any]] = None

    def predict(self, record: Any, deadline: Optional[Deadline] = None) -> Any:
        """Validate, score and encode one parsed JSON record by ``deadline`` (raises ServiceErrors).

        Running out of the memory budget anywhere on the way is :class:`ModelMemoryExceeded` for this
        record alone, and what was built for it is given back.
        """
        try:
            return self._predict(record, deadline)
        except MemoryError:
            pass
        # Outside the except block nothing holds the failed run's frames, so what it built can be given back.
        give_back()
        raise ModelMemoryExceeded("the model needed more memory than the service's budget allows "
                                  "(MEMORY_LIMIT_MB); nothing it built was kept")

    def _predict(self, record: Any, deadline: Optional[Deadline]) -> Any:
        output = self.model.score(self.validate(record), deadline)
        try:
            return self.encode(output)
        except RecursionError:
            raise ModelError("the model's answer is nested too deeply to write as JSON") from None

    def describe(self) -> Dict[str, Any]:
        described: Dict[str, Any] = {"method": self.model.method}
        if self.model.doc is not None:
            described["doc"] = self.model.doc
        described.update({
            "engine": self.model.engine.describe(),
            "metadata": {key: value for key, value in self.model.metadata.items() if key not in SERVICE_METADATA},
            "input_schema": self.model.input_schema,
            "output_schema": self.model.output_schema,
            "input_keys": self.input_keys,
            "input_types": self.input_types,
            "example_request": self.example,
        })
        return described


def compile_served(data: bytes, key: str, timeout_ms: Optional[int] = None, engine: str = AUTO) -> ServedModel:
    """Parse (JSON, or YAML by the key's suffix) and compile; raises ModelLoadError with a one-line reason.

    ``engine`` is ``PFA_ENGINE``: which engine may serve (see :mod:`chalicelib.compiler.choice`).
    """
    model = PfaModel.compile(parse_document(data, key), timeout_ms=timeout_ms)
    input_keys = _input_keys(model.metadata)
    input_types = _input_types(model.metadata, input_keys)
    try:
        validate = compile_validator(model.input_schema, map_keys=input_keys, map_types=input_types)
    except SchemaError as error:
        raise ModelLoadError(f"metadata.{INPUT_TYPES} does not fit the input type: {error}") from None
    example = example_request(model.input_schema, model.metadata, input_keys)
    check_inputs = [] if engine == TITUS else _check_inputs(model.input_schema, validate, example, input_keys,
                                                            input_types)
    model.choose_engine(engine, check_inputs)
    return ServedModel(
        model=model,
        validate=validate,
        encode=compile_encoder(model.output_schema),
        example=example,
        input_keys=input_keys,
        input_types=input_types,
    )


def _check_inputs(schema: Any, validate: Callable[[Any], Any], example: Any, input_keys: Optional[List[str]],
                  input_types: Optional[Dict[str, Any]]) -> List[Any]:
    """The example request and seeded requests from the input type, as validated data, for the engine check."""
    requests = [example]
    try:
        requests += sample_requests(schema, CHECK_SAMPLES, seed=0, keys=input_keys, key_types=input_types)
    except (SchemaError, KeyError, TypeError, ValueError, RecursionError):
        pass  # a type the generator cannot walk: the example alone is checked
    data = []
    for request in requests:
        try:
            data.append(validate(request))
        except ServiceError:
            continue
    return data


def _input_keys(metadata: Dict[str, str]) -> Optional[List[str]]:
    raw = metadata.get(INPUT_KEYS)
    if not raw:
        return None
    return [key.strip() for key in raw.split(",") if key.strip()]


def _input_types(metadata: Dict[str, str], input_keys: Optional[List[str]]) -> Optional[Dict[str, Any]]:
    raw = metadata.get(INPUT_TYPES)
    if not raw:
        return None
    try:
        types = json.loads(raw)
    except ValueError:
        raise ModelLoadError(f"metadata.{INPUT_TYPES} is not JSON text (expected an object of key to Avro type)") \
            from None
    if not isinstance(types, dict):
        raise ModelLoadError(f"metadata.{INPUT_TYPES} must be a JSON object of key to Avro type")
    unknown = [key for key in types if input_keys is None or key not in input_keys]
    if unknown:
        raise ModelLoadError(f"metadata.{INPUT_TYPES} names {unknown[0]!r}, which is not in metadata.{INPUT_KEYS}")
    return types
