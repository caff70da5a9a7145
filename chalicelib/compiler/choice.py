"""Which engine serves a document: the compiled one where it gives titus's answers, else titus.

``PFA_ENGINE`` is ``auto`` (the default: compiled when it compiles and agrees with titus on the
check inputs), ``compiled`` (compiled or the load fails, with the reason) or ``titus``.

The check runs the example request and inputs generated from the input type through a fresh
titus engine and a fresh compiled instance, never the instances that serve, so a stateful
document's served state is untouched. It has a time budget, half of it at most for one input; an
input titus cannot finish in its time ends the check there, and proves nothing either way. Under
``auto``, a check that compared nothing leaves titus serving.
"""

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from ..limits.memory import give_back
from ..settings import ENGINE_CHOICES
from ..titus_compat import PFAEngine, set_action_timeout
from .agreement import outcome, same_outcome
from .errors import Unsupported
from .program import CompiledDocument, compile_document

AUTO, COMPILED, TITUS = ENGINE_CHOICES
CHECK_BUDGET_MS = 200.0
# Running out of time or stack proves nothing about the answers: the check stops there.
_OUT_OF_RESOURCES = ("timeout", "recursion")


class EngineRefused(Exception):
    """``PFA_ENGINE=compiled`` and the document cannot be served compiled; ``str()`` says why."""


@dataclass(frozen=True)
class EngineChoice:
    name: str  # "compiled" or "titus"
    reason: str
    compiled: Optional[CompiledDocument] = None
    checked_inputs: int = 0
    check_ms: float = 0.0

    def describe(self) -> Dict[str, Any]:
        return {"name": self.name, "reason": self.reason}


def choose_engine(document: Dict[str, Any], preference: str, check_inputs: List[Any],
                  budget_ms: float = CHECK_BUDGET_MS,
                  compiler: Callable[[Dict[str, Any]], CompiledDocument] = compile_document,
                  titus_engine: Any = None) -> EngineChoice:
    """Compile ``document`` and check it against titus on ``check_inputs`` (validated data), by ``preference``."""
    if preference == TITUS:
        return EngineChoice(TITUS, "PFA_ENGINE is 'titus'")
    started = time.perf_counter()
    try:
        compiled = _compile(document, compiler)
    except Unsupported as why:
        return _fallback(preference, f"the compiler does not cover this document: {why}")
    difference, compared = _check(document, compiled, check_inputs, budget_ms, titus_engine)
    check_ms = (time.perf_counter() - started) * 1000
    if difference is not None:
        return _fallback(preference, f"the compiled engine disagreed with titus on {difference}")
    if compared == 0 and check_inputs and preference == AUTO:
        return _fallback(preference, f"the check could not score any input on titus within its budget "
                                     f"({budget_ms:.0f} ms), so nothing showed the two engines agree")
    reason = (f"it agreed with titus on {compared} check input{'s' if compared != 1 else ''} "
              f"(compiled and checked in {check_ms:.0f} ms)")
    if preference == COMPILED:
        reason = f"PFA_ENGINE is 'compiled' and {reason}"
    return EngineChoice(COMPILED, reason, compiled, compared, check_ms)


def compiled_or_reason(document: Dict[str, Any]) -> "CompiledDocument | str":
    """The compiled document, or why the compiler does not cover it (as ``engine.reason`` words it)."""
    try:
        return _compile(document, compile_document)
    except Unsupported as why:
        return f"the compiler does not cover this document: {why}"


def _compile(document: Dict[str, Any], compiler: Callable[[Dict[str, Any]], CompiledDocument]) -> CompiledDocument:
    try:
        compiled = compiler(document)
    except Unsupported:
        raise
    except RecursionError:
        raise Unsupported("it is nested too deeply to compile") from None
    except MemoryError:
        give_back()
        raise Unsupported("compiling it needs more memory than the budget allows") from None
    except Exception as error:  # a document titus accepts but the compiler cannot write is titus's to serve
        raise Unsupported(f"the compiler failed on it ({type(error).__name__})") from None
    return compiled


def _fallback(preference: str, reason: str) -> EngineChoice:
    if preference == COMPILED:
        raise EngineRefused(reason)
    return EngineChoice(TITUS, reason)


def _check(document: Dict[str, Any], compiled: CompiledDocument, inputs: List[Any], budget_ms: float,
           titus_engine: Any = None) -> "tuple[Optional[str], int]":
    """The first disagreement (described) and how many inputs were compared.

    ``titus_engine`` (the one that serves if the compiled engine does not) is used for the check when
    scoring cannot change what it holds or writes; otherwise titus makes a fresh engine of its own. The
    budget starts once both engines are ready.
    """
    try:
        if titus_engine is not None and keeps_no_state(document):
            reference = titus_engine
        else:
            reference, = PFAEngine.fromJson(document)
            reference.log = _quiet  # the check's instances do not write the document's log lines
            reference.begin()
        candidate = compiled.instance(log=_quiet)
        candidate.begin()
    except Exception:
        return None, 0  # titus itself cannot make a second engine: nothing to compare
    deadline = time.perf_counter() + budget_ms / 1000
    compared = 0
    ran_out = False

    def remaining_ms() -> float:
        return (deadline - time.perf_counter()) * 1000

    # One input may take half the budget: titus cannot stop inside one library call (an a.concat of a million
    # items), so an input it runs out of time on overruns by about what it had already spent.
    per_input_ms = budget_ms / 2
    for datum in inputs:
        left = min(remaining_ms(), per_input_ms)
        if left <= 1:
            break
        set_action_timeout(reference, left)
        try:
            expected = outcome(_titus_action(reference), datum)
            if expected[0] in _OUT_OF_RESOURCES:
                break
            candidate.set_timeout(max(remaining_ms(), 1.0) + left)
            got = outcome(candidate.action, datum)
            if got[0] in _OUT_OF_RESOURCES and expected[0] == "python error":
                break  # titus's Python failed, likely out of stack too (it uses more per PFA call)
        except MemoryError:
            ran_out = True  # an input too large for the budget ends the check; what it built is given back
            break
        compared += 1
        if not same_outcome(expected, got):
            if expected[0] == got[0] == "value":
                return f"check input {compared}: the two engines gave different values", compared
            return f"check input {compared}: titus gave {_brief(expected)}, compiled {_brief(got)}", compared
    if ran_out:
        give_back()
    return None, compared


def keeps_no_state(document: Any) -> bool:
    """Whether scoring leaves an engine as it was and writes nothing: no cell or pool is changed, no random
    number drawn, no log line written, and the action counters are not read."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if ("cell" in node or "pool" in node) and ("to" in node or "del" in node):
                return False
            if any(isinstance(key, str) and (key.startswith("rand.") or key in _STATEFUL_FORMS) for key in node):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and node in ("actionsStarted", "actionsFinished"):
            return False
    return True


_STATEFUL_FORMS = ("log", "a.shuffle", "emit")


def _quiet(message: Any, namespace: Any) -> None:
    return None


def _titus_action(engine: Any) -> Callable[[Any], Any]:
    def action(datum: Any) -> Any:
        return engine.action(datum, check=False)
    return action


def _brief(result: "tuple[str, Any]", limit: int = 80) -> str:
    kind, detail = result
    text = "a value" if kind == "value" else f"{kind} {detail!r}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


