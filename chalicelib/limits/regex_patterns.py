"""Which regular expressions the engine may run.

PFA's ``re.*`` functions take POSIX extended syntax, which has no back-references; titus hands the
pattern to the C library's ``regexec``, which accepts ``\\1``..``\\9`` as an extension and then
backtracks: ``(a+)+\\1\\1\\1b`` on 400 ``a`` characters runs for many seconds in one call that
nothing can interrupt. Patterns with a back-reference are therefore refused, at load when they are
written in the document, and at run time when computed.

Without back-references the matcher's time still grows with the square of the text (it tries every
start) times the size of the pattern once counted repetitions are written out (``x{150}`` is 150
copies of ``x``): ``(a+)+b`` takes about 0.1 s on 8,000 characters and 17 s on 100,000, and
``(.*a){150}x`` 25 s on 10,000. So a call runs only when :func:`match_cost` is at most
:data:`MAX_COST` (about half a second at worst), and a pattern written out to more than
:data:`MAX_PATTERN_SIZE` parts is refused outright.
"""

from typing import Any, Iterator, List, Optional, Tuple

MAX_PATTERN_SIZE = 2_000
MAX_COST = 1_000_000_000
TOO_COSTLY = ("a regular expression runs only while its size (counted repetitions written out) times the "
              f"square of the text's length is at most {MAX_COST:.1e}")
BACK_REFERENCE = "back-references (\\1 to \\9) are not part of POSIX extended syntax, which PFA's re.* functions use"


def back_reference(pattern: str) -> Optional[str]:
    """The first back-reference in ``pattern`` (as written), or None.

    A backslash escapes the next character outside bracket expressions; inside ``[...]`` it is an
    ordinary character (POSIX), so ``[\\1]`` is a set, not a back-reference.
    """
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if char == "\\" and index + 1 < length:
            if pattern[index + 1] in "123456789":
                return pattern[index:index + 2]
            index += 2
        elif char == "[":
            index = _end_of_bracket(pattern, index)
        else:
            index += 1
    return None


def _end_of_bracket(pattern: str, start: int) -> int:
    index = start + 1
    if index < len(pattern) and pattern[index] == "^":
        index += 1
    if index < len(pattern) and pattern[index] == "]":  # a leading ] is a member
        index += 1
    while index < len(pattern):
        if pattern.startswith(("[:", "[.", "[="), index):
            close = pattern.find(pattern[index + 1] + "]", index + 2)
            index = close + 2 if close >= 0 else len(pattern)
        elif pattern[index] == "]":
            return index + 1
        else:
            index += 1
    return index


def pattern_size(pattern: str) -> int:
    """The pattern's size with its counted repetitions written out: ``(ab){3}c`` is 3 x (2 + 1) + 1.

    A pattern this cannot read (the C library then refuses it too) counts as its length.
    """
    try:
        size, end = _alternatives(pattern, 0)
    except (IndexError, ValueError):
        return len(pattern)
    return size if end >= len(pattern) else max(size, len(pattern))


def match_cost(pattern: str, text_length: int) -> int:
    """The worst case of one search, in the units of :data:`MAX_COST`."""
    return pattern_size(pattern) * max(1, text_length) ** 2


def _alternatives(pattern: str, index: int) -> Tuple[int, int]:
    total, index = _sequence(pattern, index)
    while index < len(pattern) and pattern[index] == "|":
        size, index = _sequence(pattern, index + 1)
        total += size
    return total, index


def _sequence(pattern: str, index: int) -> Tuple[int, int]:
    total = 0
    while index < len(pattern) and pattern[index] not in "|)":
        size, index = _atom(pattern, index)
        while index < len(pattern) and pattern[index] in "*+?{":
            if pattern[index] == "{":
                close = pattern.index("}", index)
                low, comma, high = pattern[index + 1:close].partition(",")
                most = int(high) if high.strip() else int(low or 0) + (1 if comma else 0)  # {n,} is n and more
                size *= max(1, most)
                index = close + 1
            else:
                size += 1
                index += 1
        total += size
    return total, index


def _atom(pattern: str, index: int) -> Tuple[int, int]:
    char = pattern[index]
    if char == "(":
        size, index = _alternatives(pattern, index + 1)
        if index >= len(pattern) or pattern[index] != ")":
            raise ValueError("unbalanced parenthesis")
        return size + 1, index + 1
    if char == "[":
        return 1, _end_of_bracket(pattern, index)
    if char == "\\":
        return 1, index + 2
    return 1, index + 1


def literal_patterns(document: Any) -> Iterator[Tuple[str, str]]:
    """(function name, pattern) for each ``re.*`` call in a PFA document whose pattern is a literal string."""
    stack: List[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.startswith("re.") and isinstance(value, list) and len(value) > 1:
                    pattern = _literal_string(value[1])
                    if pattern is not None:
                        yield key, pattern
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _literal_string(node: Any) -> Optional[str]:
    if isinstance(node, dict) and len(node) == 1:
        value = node.get("string", node.get("str"))
        if isinstance(value, str):
            return value
    if isinstance(node, list) and len(node) == 1 and isinstance(node[0], str):
        return node[0]  # ["text"] is a string literal in PFA
    return None
