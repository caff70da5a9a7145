"""Library functions by PFA name: how a call to each is written in generated code.

A *native* function is registered with :func:`native` as an emitter: given the call's
:class:`Site` (its resolved types and the Python expressions of its arguments) it returns one
Python expression. An emitter never writes document content into that expression: constants and
helper functions reach the generated code through :meth:`Site.const` and :meth:`Site.helper`,
which bind them to generated names.

Rules an emitter keeps:

- each argument expression is used exactly once and in order, or the emitter calls a helper
  (``site.call(fn)``), which evaluates them once, in order;
- an argument of function type evaluates to a Python callable taking the PFA parameters
  positionally;
- a runtime failure raises ``PFARuntimeException(message, code, fcnName, pos)`` with titus's
  message and code for the same input;
- values are exactly titus's: ``None``, ``bool``, ``int`` (int and long), ``float`` (float and
  double), ``str`` (string, enum symbols, bytes and fixed), ``list`` (array), ``dict`` (map and
  record). A union's value is usually the member's value itself, but titus tags it
  (``{"double": 1.5}``) where it was upcast, decoded from tagged JSON (cells, literals) or made by
  a function that tags (``&&&``, ``model.tree.missingTest``): accept both forms where titus does.
  Results are new values: an argument is never changed in place (PFA values are immutable).

An emitter may return ``None`` for a signature it does not cover; the call then goes through
titus's own implementation of the function (see ``chalicelib.compiler.core``).
"""

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

Emitter = Callable[["Site"], Optional[str]]

_NATIVE: Dict[str, Emitter] = {}
_WANTS_ATOMS: set = set()
_WRITES_STATEMENTS: set = set()


def native(*names: str, atoms: bool = False, statements: bool = False) -> Callable[[Emitter], Emitter]:
    """Register the decorated emitter for each PFA function name in ``names``.

    With ``atoms``, every argument expression the emitter gets is a name or a constant (the compiler
    evaluates the others into temporaries first, in order), so it may use each as often as it likes.
    With ``statements`` (which implies ``atoms``), the emitter may also write statements that run before
    its expression, with :meth:`Site.line` and :meth:`Site.temp`.
    """
    def register(emitter: Emitter) -> Emitter:
        for name in names:
            if name in _NATIVE:
                raise ValueError(f"library function {name} is registered twice")
            _NATIVE[name] = emitter
            if atoms or statements:
                _WANTS_ATOMS.add(name)
            if statements:
                _WRITES_STATEMENTS.add(name)
        return emitter
    return register


def lookup(name: str) -> Optional[Emitter]:
    return _NATIVE.get(name)


def wants_atoms(name: str) -> bool:
    return name in _WANTS_ATOMS


def writes_statements(name: str) -> bool:
    return name in _WRITES_STATEMENTS


def native_names() -> List[str]:
    return sorted(_NATIVE)


class Namespace:
    """The generated module's globals: every helper and constant gets a generated name."""

    def __init__(self) -> None:
        self.values: Dict[str, Any] = {}
        self._by_identity: Dict[Tuple[str, int], str] = {}
        self._keep: List[Any] = []

    def bind(self, value: Any, kind: str) -> str:
        key = (kind, id(value))
        if key in self._by_identity:
            return self._by_identity[key]
        name = f"_{kind}{len(self.values)}"
        self.values[name] = value
        self._by_identity[key] = name
        self._keep.append(value)  # ids stay unique while the namespace lives
        return name


@dataclass
class Site:
    """One call of a library function, as the compiler sees it."""

    name: str
    param_types: List[Any]  # titus AvroType (or FcnType) of each argument
    ret_type: Any  # titus AvroType of the result
    args: List[str]  # Python expressions of the arguments
    pos: Optional[str]
    namespace: Namespace = field(default_factory=Namespace)
    writer: Any = None  # where statements go, for emitters registered with ``statements``

    def line(self, text: str) -> None:
        """A statement run before the emitter's expression (``statements`` emitters only)."""
        if self.writer is None:
            raise RuntimeError(f"the emitter of {self.name} writes statements but was not registered so")
        self.writer.line(text)

    def temp(self) -> str:
        """A new local name for the statements to assign (``statements`` emitters only)."""
        if self.writer is None:
            raise RuntimeError(f"the emitter of {self.name} writes statements but was not registered so")
        return str(self.writer.temp())

    def helper(self, function: Any) -> str:
        """A generated name bound to ``function`` (or any object) in the generated module."""
        return self.namespace.bind(function, "h")

    def const(self, value: Any) -> str:
        """A generated name bound to the constant ``value``; never inline document data as code."""
        return self.namespace.bind(value, "k")

    def call(self, function: Any, *leading: str) -> str:
        """``function(*leading, *args)`` as an expression; ``leading`` are expressions made by the emitter."""
        return f"{self.helper(function)}({', '.join([*leading, *self.args])})"
