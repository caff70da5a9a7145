"""Writing Python source: indented lines, generated names, blocks collected apart.

Every name in generated code is made here from a counter (``v3``, ``t12``, ``f2``); nothing a
document contains ever becomes part of the source text.
"""

from contextlib import contextmanager
from typing import Iterator, List


class Names:
    """Counters for generated local names, shared by every writer of one module."""

    def __init__(self) -> None:
        self._next = 0

    def new(self, kind: str) -> str:
        self._next += 1
        return f"{kind}{self._next}"


class Writer:
    """Lines at an indentation level; :meth:`collect` gathers lines to place later."""

    def __init__(self, names: Names, indent: int = 0) -> None:
        self.names = names
        self.indent = indent
        self.lines: List[str] = []

    def line(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        self.line(header)
        self.indent += 1
        mark = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == mark:
                self.line("pass")
            self.indent -= 1

    def collect(self) -> "Writer":
        """A writer at this indentation whose lines are placed with :meth:`extend`, or not at all."""
        return Writer(self.names, self.indent)

    def extend(self, other: "Writer") -> None:
        self.lines.extend(other.lines)

    def temp(self) -> str:
        return self.names.new("t")

    def source(self) -> str:
        return "\n".join(self.lines) + "\n"
