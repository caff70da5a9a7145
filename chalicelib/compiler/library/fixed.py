"""``fixed.*``: fixed values, ported from titus ``lib/fixed.py`` with its exact semantics.

A fixed value is a Python ``bytes`` (decoded input) or a ``str`` of code points 0-255; as in titus,
``fixed.toBytes`` turns ``bytes`` into that ``str`` and passes a ``str`` through unchanged.
"""

from typing import Any

from .registry import Site, native


def _to_bytes(x: Any) -> Any:
    if isinstance(x, bytes):
        return x.decode("latin-1")
    return x


def _from_bytes(original: Any, replacement: Any) -> Any:
    if isinstance(original, bytes):
        original = original.decode("latin-1")
    if isinstance(replacement, bytes):
        replacement = replacement.decode("latin-1")
    length = min(len(original), len(replacement))
    return replacement[0:length] + original[length:len(original)]


@native("fixed.toBytes")
def _emit_to_bytes(site: Site) -> str:
    return site.call(_to_bytes)


@native("fixed.fromBytes")
def _emit_from_bytes(site: Site) -> str:
    return site.call(_from_bytes)
