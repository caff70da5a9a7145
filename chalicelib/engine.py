"""The PFA engine wrapper: the only module that uses titus.

:meth:`PfaModel.compile` turns a parsed PFA document into a model that scores
records already validated by :mod:`chalicelib.validation`. titus's own input
check is skipped (``check=False``): it is slow, converts ``"0.7"`` and ``true``
to numbers and drops unknown fields.
"""

import threading
from typing import Any, Dict, Optional

from .avro_schema import SchemaError
from .errors import ModelError, ModelLoadError, ModelTimeout
from .titus_compat import PFAEngine, titus_errors
from .validation import compile_validator

SUPPORTED_METHODS = ("map",)


class PfaModel:
    """A compiled PFA document of method ``map``.

    ``score(datum)`` returns titus's output value for one validated datum and
    raises :class:`ModelError` (422) or :class:`ModelTimeout` (504). Calls are
    serialised: an engine with cells or pools keeps state between calls.
    """

    def __init__(self, engine: Any, document: Dict[str, Any]) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        config = engine.config
        self.name: Optional[str] = document.get("name")
        self.method: str = config.method
        self.input_schema: Any = _declared_or_resolved(document.get("input"), config.input)
        self.output_schema: Any = _declared_or_resolved(document.get("output"), config.output)
        self.metadata: Dict[str, str] = dict(config.metadata or {})
        self.doc: Optional[str] = document.get("doc")
        self.pfa_version: Optional[int] = document.get("version")

    @classmethod
    def compile(cls, document: Dict[str, Any], timeout_ms: Optional[int] = None) -> "PfaModel":
        """Compile ``document``; raises :class:`ModelLoadError` with a one-line reason."""
        options = {"timeout": timeout_ms} if timeout_ms else None
        try:
            engine, = PFAEngine.fromJson(document, options=options)
        except titus_errors.PFAException as error:
            raise ModelLoadError(f"the PFA document does not compile: {_one_line(error)}") from error
        except titus_errors.AvroException as error:
            raise ModelLoadError(f"the PFA document has an invalid Avro type: {_one_line(error)}") from error
        except Exception as error:  # titus reports some malformed documents with bare Python errors
            raise ModelLoadError(
                f"the PFA document does not compile: {type(error).__name__}: {_one_line(error)}") from error
        method = engine.config.method
        method_name = getattr(method, "name", str(method)).lower()
        if method_name not in SUPPORTED_METHODS:
            raise ModelLoadError(f"PFA method {method_name!r} is not supported; this service serves 'map' documents")
        model = cls(engine, document)
        model.method = method_name
        try:
            engine.begin()
        except Exception as error:
            raise ModelLoadError(f"the PFA document's 'begin' failed: {_one_line(error)}") from error
        return model

    def score(self, datum: Any) -> Any:
        try:
            with self._lock:
                return self._engine.action(datum, check=False)
        except titus_errors.PFATimeoutException as error:
            raise ModelTimeout(f"the model did not finish in time: {_one_line(error)}") from None
        except titus_errors.PFARuntimeException as error:
            raise ModelError(f"the model raised an error: {_one_line(error)}", pfa_code=error.code) from None
        except titus_errors.PFAUserException as error:
            raise ModelError(f"the model raised an error: {_one_line(error)}", pfa_code=error.code) from None
        except RecursionError:
            raise ModelError("the model recursed too deeply") from None
        except (ArithmeticError, LookupError, TypeError, ValueError) as error:
            # titus lets some failures inside its library functions escape as bare Python errors.
            raise ModelError(f"the model failed: {type(error).__name__}: {_one_line(error)}") from None


def _declared_or_resolved(declared: Any, avro_type: Any) -> Any:
    """The type as the document declares it, when it stands alone; else titus's resolved form.

    titus's form drops ``"default": null`` from record fields, which would make a
    nullable field with a null default required.
    """
    resolved = avro_type.jsonNode(set())
    try:
        compile_validator(declared)
    except (SchemaError, KeyError, TypeError, AttributeError):
        return resolved
    return declared


def _one_line(error: BaseException, limit: int = 300) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
