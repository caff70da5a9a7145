"""The PFA engine wrapper: titus, or the compiled engine where it gives titus's answers.

:meth:`PfaModel.compile` turns a parsed PFA document into a model that scores
records already validated by :mod:`chalicelib.validation`. titus's own input
check is skipped (``check=False``): it is slow, converts ``"0.7"`` and ``true``
to numbers and drops unknown fields.
"""

import threading
import time
from typing import Any, Callable, Dict, List, Optional

from .avro_schema import SchemaError
from .compiler.choice import CHECK_BUDGET_MS, TITUS, EngineChoice, EngineRefused, choose_engine
from .errors import ModelError, ModelLoadError, ModelTimeout, ServiceError
from .limits.deadline import Deadline
from .limits.memory import give_back
from .limits.regex_patterns import (
    BACK_REFERENCE,
    MAX_PATTERN_SIZE,
    back_reference,
    literal_patterns,
    pattern_size,
)
from .titus_compat import PFAEngine, check_time_in_user_functions, set_action_timeout, titus_errors
from .validation import compile_validator

SUPPORTED_METHODS = ("map",)
DEFAULT_TIMEOUT_MS = 10_000

# What a failure inside titus's own Python code means, in the caller's terms.
_PYTHON_FAILURES = (
    (OverflowError, "a calculation went beyond the range of a double"),
    (ZeroDivisionError, "a calculation divided by zero"),
    (ArithmeticError, "a calculation failed"),
    ((LookupError, TypeError, ValueError, AttributeError), "a library function failed on the values it was given"),
)


class PfaModel:
    """A compiled PFA document of method ``map``.

    ``score(datum, deadline)`` returns titus's output value for one validated datum and
    raises :class:`ModelError` (422) or :class:`ModelTimeout` (504). Calls are serialised (an
    engine with cells or pools keeps state between calls); the wait for the engine counts against
    the same deadline as the run.
    """

    def __init__(self, engine: Any, document: Dict[str, Any], timeout_ms: Optional[int] = None) -> None:
        self._engine = engine
        self._document = document
        self._action: Callable[[Any], Any] = lambda datum: engine.action(datum, check=False)
        self._set_timeout: Callable[[float], None] = lambda timeout_ms: set_action_timeout(engine, timeout_ms)
        self.engine = EngineChoice(TITUS, "the compiled engine was not considered")
        self.timeout_ms = timeout_ms or DEFAULT_TIMEOUT_MS
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
        _refuse_costly_patterns(document)
        options = {"timeout": timeout_ms} if timeout_ms else None
        try:
            engine, = PFAEngine.fromJson(document, options=options)
        except titus_errors.PFAException as error:
            raise ModelLoadError(f"the PFA document does not compile: {_one_line(error)}") from None
        except titus_errors.AvroException as error:
            raise ModelLoadError(f"the PFA document has an invalid Avro type: {_one_line(error)}") from None
        except RecursionError:
            raise ModelLoadError("the PFA document does not compile: it is nested too deeply") from None
        except MemoryError:
            give_back()
            raise ModelLoadError("the PFA document does not compile: compiling it needs more memory than the "
                                 "service's budget (MEMORY_LIMIT_MB) allows") from None
        except Exception:  # titus reports some malformed documents with bare Python errors
            raise ModelLoadError("the PFA document does not compile: it is not a well-formed PFA document "
                                 "(a part of it is missing or of the wrong JSON type)") from None
        method = engine.config.method
        method_name = getattr(method, "name", str(method)).lower()
        if method_name not in SUPPORTED_METHODS:
            raise ModelLoadError(f"PFA method {method_name!r} is not supported; this service serves 'map' documents")
        check_time_in_user_functions(engine)
        model = cls(engine, document, timeout_ms)
        model.method = method_name
        try:
            engine.begin()
        except Exception as error:
            raise ModelLoadError(f"the PFA document's 'begin' failed: {_one_line(error)}") from None
        return model

    def choose_engine(self, preference: str, check_inputs: List[Any]) -> EngineChoice:
        """Serve on the compiled engine if ``preference`` and the check on ``check_inputs`` allow; see
        :mod:`chalicelib.compiler.choice`. ``PFA_ENGINE=compiled`` that cannot be met is a ModelLoadError."""
        try:
            choice = choose_engine(self._document, preference, check_inputs,
                                   budget_ms=min(CHECK_BUDGET_MS, self.timeout_ms / 10), titus_engine=self._engine)
        except EngineRefused as why:
            raise ModelLoadError(f"PFA_ENGINE is 'compiled' but {why}") from None
        if choice.compiled is not None:
            serving = choice.compiled.instance()
            try:
                serving.begin()
            except Exception as error:
                raise ModelLoadError(f"the PFA document's 'begin' failed: {_one_line(error)}") from None
            self._action = serving.action
            self._set_timeout = serving.set_timeout
        self.engine = choice
        return choice

    def score(self, datum: Any, deadline: Optional[Deadline] = None) -> Any:
        """Score one validated datum by ``deadline`` (default: the timeout the model was compiled with).

        A ``MemoryError`` (the memory budget) is let through: the caller turns it into
        :class:`ModelMemoryExceeded` once the failed run's frames are gone.
        """
        if deadline is None:
            deadline = Deadline(self.timeout_ms)
        if not self._lock.acquire(timeout=deadline.remaining_ms() / 1000):
            raise ModelTimeout(f"the model was busy with other records for the whole time budget "
                               f"({deadline.budget_ms:.0f} ms)")
        try:
            if deadline.expired:
                raise ModelTimeout(f"the time budget ({deadline.budget_ms:.0f} ms) ran out before the model started")
            self._set_timeout(deadline.remaining_ms())
            started = time.perf_counter()
            try:
                return self._action(datum)
            finally:
                deadline.engine_ms += (time.perf_counter() - started) * 1000
        except titus_errors.PFATimeoutException:
            raise ModelTimeout(f"the model did not finish within the time budget ({deadline.budget_ms:.0f} ms)") \
                from None
        except titus_errors.PFARuntimeException as error:
            raise ModelError(f"the model raised an error: {error.message} in {error.fcnName}",
                             pfa_code=error.code) from None
        except titus_errors.PFAUserException as error:
            raise ModelError(f"the model raised an error: {error.message}", pfa_code=error.code) from None
        except RecursionError:
            raise ModelError("the model recursed too deeply") from None
        except (MemoryError, ServiceError):
            raise
        except Exception as error:
            # titus lets some failures inside its library functions escape as bare Python errors.
            raise ModelError(f"the model could not score this record: {_python_failure(error)}") from None
        finally:
            self._lock.release()


def _refuse_costly_patterns(document: Dict[str, Any]) -> None:
    """What the engine would refuse at every call is refused at load, with the reason."""
    for function, pattern in literal_patterns(document):
        found = back_reference(pattern)
        if found is not None:
            raise ModelLoadError(f"the PFA document uses {found} in the pattern of {function}: {BACK_REFERENCE}")
        size = pattern_size(pattern)
        if size > MAX_PATTERN_SIZE:
            raise ModelLoadError(f"the pattern of {function} has {size} parts once its counted repetitions are "
                                 f"written out, more than {MAX_PATTERN_SIZE}")


def _python_failure(error: Exception) -> str:
    for kinds, meaning in _PYTHON_FAILURES:
        if isinstance(error, kinds):
            return meaning
    return "the engine failed"


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
