"""Which regular expressions the engine may run.

PFA's ``re.*`` functions take POSIX extended syntax, which has no back-references; titus hands the
pattern to the C library's ``regexec``, which accepts ``\\1``..``\\9`` as an extension and then
backtracks: ``(a+)+\\1\\1\\1b`` on 400 ``a`` characters runs for many seconds in one call that
nothing can interrupt. Patterns with a back-reference are therefore refused, at load when they are
written in the document, and at run time when computed.

Without back-references the matcher's time still grows with the square of the text (it tries every
start): ``(a+)+b`` takes about 0.1 s on 8,000 characters and 17 s on 100,000. So one call gets at
most :data:`MAX_TEXT` characters, which keeps a single call well under a second.
"""

from typing import Any, Iterator, List, Optional, Tuple

MAX_TEXT = 10_000
TEXT_TOO_LONG = f"regular expressions run on texts of at most {MAX_TEXT} characters"
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
