"""PFA's ``s.*`` functions (titus's ``lib/pfastring.py``), as titus computes them with Python strings.

``s.substr`` is Python slicing (negative indexes count from the end), ``s.split`` on an empty separator
is ``[]``, ``s.replacefirst`` on an empty string replaces every match (there is at most one) and
``s.replacelast`` works on reversed strings, as titus does. ``s.number`` is left to titus.
"""

from typing import Any, Callable, Dict, List, Optional  # noqa: I001  (titus is imported after titus_compat)

from ... import titus_compat  # noqa: F401  (its shims must run before titus is imported)

from titus.errors import PFARuntimeException

from .registry import Site, native


def _start_end(length: int, start: int, end: int) -> "tuple[int, int]":
    """titus.util.startEnd: Python-like normalisation of a [start, end) range."""
    norm_start = start if start >= 0 else length + start
    norm_start = min(max(norm_start, 0), length)
    norm_end = end if end >= 0 else length + end
    norm_end = min(max(norm_end, 0), length)
    return norm_start, max(norm_end, norm_start)


def _substrto(s: str, start: int, end: int, replacement: str) -> str:
    norm_start, norm_end = _start_end(len(s), start, end)
    return s[:norm_start] + replacement + s[norm_end:]


def _count(haystack: str, needle: str) -> int:
    if len(haystack) == 0 or len(needle) == 0:
        return 0
    return haystack.count(needle)


def _split(s: str, sep: str) -> List[str]:
    return [] if len(sep) == 0 else s.split(sep)


def _padded(x: int, width: int, zero_pad: bool, conversion: str, code: int, name: str) -> str:
    if not zero_pad:
        if width < 0:
            form = "{0:<" + str(-width) + conversion + "}"
        elif width == 0:
            form = ""
        else:
            form = "{0:" + str(width) + conversion + "}"
    else:
        if width < 0:
            raise PFARuntimeException("negative width cannot be used with zero-padding", code, name, None)
        elif width == 0:
            form = ""
        else:
            form = "{0:0" + str(width) + conversion + "}"
    return form.format(x)


def _hex(x: int) -> str:
    if x < 0:
        raise PFARuntimeException("negative number", 39111, "s.hex", None)
    return "{0:x}".format(x)


def _hex_padded(x: int, width: int, zero_pad: bool) -> str:
    if x < 0:
        raise PFARuntimeException("negative number", 39111, "s.hex", None)
    return _padded(x, width, zero_pad, "x", 39110, "s.hex")


def _int(x: int) -> str:
    return "{0:d}".format(x)


def _int_padded(x: int, width: int, zero_pad: bool) -> str:
    return _padded(x, width, zero_pad, "d", 39240, "s.int")


def _replacefirst(s: str, original: str, replacement: str) -> str:
    if len(s) > 0:
        return s.replace(original, replacement, 1)
    return s.replace(original, replacement)


def _replacelast(s: str, original: str, replacement: str) -> str:
    backward = s[::-1]
    if len(s) > 0:
        replaced = backward.replace(original[::-1], replacement[::-1], 1)
    else:
        replaced = backward.replace(original[::-1], replacement[::-1])
    return replaced[::-1]


def _translate(s: str, oldchars: str, newchars: str) -> str:
    out = []
    for c in s:
        i = oldchars.find(c)
        if i < 0:
            out.append(c)
        elif i < len(newchars):
            out.append(newchars[i])
    return "".join(out)


_HELPERS: Dict[str, Callable[..., Any]] = {
    "s.len": len, "s.substrto": _substrto, "s.count": _count, "s.index": str.find, "s.rindex": str.rfind,
    "s.startswith": str.startswith, "s.endswith": str.endswith, "s.split": _split, "s.lower": str.lower,
    "s.upper": str.upper, "s.lstrip": str.lstrip, "s.rstrip": str.rstrip, "s.strip": str.strip,
    "s.replaceall": str.replace, "s.replacefirst": _replacefirst, "s.replacelast": _replacelast,
    "s.translate": _translate,
}


@native(*_HELPERS)
def _emit_helper(site: Site) -> Optional[str]:
    return site.call(_HELPERS[site.name])


@native("s.substr")
def _emit_substr(site: Site) -> Optional[str]:
    s, start, end = site.args
    return f"({s})[({start}):({end})]"


@native("s.contains")
def _emit_contains(site: Site) -> Optional[str]:
    return site.call(_contains)


def _contains(haystack: str, needle: str) -> bool:
    return needle in haystack


@native("s.join")
def _emit_join(site: Site) -> Optional[str]:
    return site.call(_join)


def _join(array: List[str], sep: str) -> str:
    return sep.join(array)


@native("s.concat")
def _emit_concat(site: Site) -> Optional[str]:
    return f"(({site.args[0]}) + ({site.args[1]}))"


@native("s.repeat")
def _emit_repeat(site: Site) -> Optional[str]:
    return f"(({site.args[0]}) * ({site.args[1]}))"


@native("s.hex")
def _emit_hex(site: Site) -> Optional[str]:
    return site.call(_hex if len(site.args) == 1 else _hex_padded)


@native("s.int")
def _emit_int(site: Site) -> Optional[str]:
    return site.call(_int if len(site.args) == 1 else _int_padded)
