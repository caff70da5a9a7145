"""A PFA document made ready to answer requests: compiled, with its validator,
output encoder and example request. The service and ``pfactl`` build models
the same way, through :func:`compile_served`."""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from .documents import parse_document
from .engine import PfaModel
from .output_encoding import compile_encoder
from .schema_examples import example_request
from .validation import compile_validator

INPUT_KEYS = "input_keys"


@dataclass(frozen=True)
class ServedModel:
    model: PfaModel
    validate: Callable[[Any], Any]
    encode: Callable[[Any], Any]
    example: Any
    input_keys: Optional[List[str]]

    def predict(self, record: Any) -> Any:
        """Validate, score and encode one parsed JSON record (raises ServiceErrors)."""
        return self.encode(self.model.score(self.validate(record)))

    def describe(self) -> Dict[str, Any]:
        return {
            "method": self.model.method,
            "doc": self.model.doc,
            "metadata": self.model.metadata,
            "input_schema": self.model.input_schema,
            "output_schema": self.model.output_schema,
            "input_keys": self.input_keys,
            "example_request": self.example,
        }


def compile_served(data: bytes, key: str, timeout_ms: Optional[int] = None) -> ServedModel:
    """Parse (JSON, or YAML by the key's suffix) and compile; raises ModelLoadError with a one-line reason."""
    model = PfaModel.compile(parse_document(data, key), timeout_ms=timeout_ms)
    input_keys = _input_keys(model.metadata)
    return ServedModel(
        model=model,
        validate=compile_validator(model.input_schema, map_keys=input_keys),
        encode=compile_encoder(model.output_schema),
        example=example_request(model.input_schema, model.metadata, input_keys),
        input_keys=input_keys,
    )


def _input_keys(metadata: Dict[str, str]) -> Optional[List[str]]:
    raw = metadata.get(INPUT_KEYS)
    if not raw:
        return None
    return [key.strip() for key in raw.split(",") if key.strip()]
