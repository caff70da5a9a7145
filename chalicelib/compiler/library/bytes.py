"""``bytes.*``: bytes values, ported from titus ``lib/bytes.py`` with its exact semantics.

A bytes value is a Python ``bytes`` (decoded input) or a ``str`` of code points 0-255 (what titus's
functions return); each function accepts both as titus does, and returns a ``str`` where titus does.
titus's quirks kept: ``bytes.subseq`` slices as Python does (no clamping of the indexes beyond it),
the testers given bytes as a ``str`` raise Python's ``TypeError`` (``codecs.decode`` of a ``str``),
a ``str`` with a code point over 255 raises titus's ``TypeError`` where titus converts it, and
``bytes.fromBase64`` lets ``binascii.Error`` through for bad padding.
"""

import base64  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
import codecs
import re
from typing import Any, Callable, Dict

from .registry import Site, native
from .types import AvroBytes

from titus.errors import PFARuntimeException


def _to_bytes(value: Any) -> bytes:
    """titus's ``stringToBytes``: each code point one byte."""
    try:
        return value.encode("latin-1")  # type: ignore[no-any-return]
    except UnicodeEncodeError:
        raise TypeError("value is not of type string") from None


def _to_string(value: bytes) -> str:
    """titus's ``bytesToString``."""
    return value.decode("latin-1")


# ------------------------------------------------------------------ basic access

@native("bytes.len")
def _emit_len(site: Site) -> str:
    return f"len({site.args[0]})"  # titus writes this call inline, as len(x)


def _subseq(x: Any, start: int, end: int) -> str:
    if isinstance(x, str):
        return x[start:end]
    return _to_string(x[start:end])


@native("bytes.subseq")
def _emit_subseq(site: Site) -> str:
    return site.call(_subseq)


def _subseqto(x: Any, start: int, end: int, replacement: Any) -> str:
    if isinstance(replacement, str):
        replacement = _to_bytes(replacement)
    if isinstance(x, str):
        x = _to_bytes(x)
    length = len(x)
    norm_start = start if start >= 0 else length + start
    norm_start = 0 if norm_start < 0 else length if norm_start > length else norm_start
    norm_end = end if end >= 0 else length + end
    norm_end = 0 if norm_end < 0 else length if norm_end > length else norm_end
    if norm_end < norm_start:
        norm_end = norm_start
    return _to_string(x[:norm_start] + replacement + x[norm_end:])


@native("bytes.subseqto")
def _emit_subseqto(site: Site) -> str:
    return site.call(_subseqto)


# ------------------------------------------------------------------ testers, decoders, encoders

_CODECS = {"Ascii": "ascii", "Latin1": "latin_1", "Utf8": "utf_8", "Utf16": "utf_16", "Utf16be": "utf_16_be",
           "Utf16le": "utf_16_le"}


def _decodes(codec: str) -> Callable[[Any], bool]:
    def decodes(x: Any) -> bool:
        try:
            codecs.decode(x, codec, "strict")
        except UnicodeDecodeError:
            return False
        return True
    return decodes


def _encodes(codec: str) -> Callable[[str], bool]:
    def encodes(x: str) -> bool:
        try:
            codecs.encode(x, codec, "strict")
        except UnicodeEncodeError:
            return False
        return True
    return encodes


def _decoder(codec: str, name: str, code: int) -> Callable[[Any], str]:
    def decode(x: Any) -> str:
        try:
            if isinstance(x, str):
                x = _to_bytes(x)
            return codecs.decode(x, codec, "strict")
        except UnicodeDecodeError:
            raise PFARuntimeException("invalid bytes", code, name, None) from None
    return decode


def _encoder(codec: str, name: str, code: int) -> Callable[[str], str]:
    def encode(x: str) -> str:
        try:
            return codecs.encode(x, codec, "strict").decode("latin-1")
        except UnicodeEncodeError:
            raise PFARuntimeException("invalid string", code, name, None) from None
    return encode


_decodes_ascii = _decodes("ascii")


def _is_ascii_bytes(x: Any) -> bool:
    if type(x) is bytes:
        return x.isascii()
    return _decodes_ascii(x)


_TESTERS: Dict[str, Any] = {}
_DECODERS: Dict[str, Any] = {}
_ENCODERS: Dict[str, Any] = {}
for _index, (_suffix, _codec) in enumerate(_CODECS.items()):
    _TESTERS["bytes.is" + _suffix] = (_decodes(_codec), _encodes(_codec))
    _DECODERS["bytes.decode" + _suffix] = _decoder(_codec, "bytes.decode" + _suffix, 16090 + 10 * _index)
    _ENCODERS["bytes.encode" + _suffix] = _encoder(_codec, "bytes.encode" + _suffix, 16150 + 10 * _index)
_TESTERS["bytes.isAscii"] = (_is_ascii_bytes, _TESTERS["bytes.isAscii"][1])


@native(*_TESTERS)
def _emit_tester(site: Site) -> str:
    of_bytes, of_string = _TESTERS[site.name]
    return site.call(of_bytes if isinstance(site.param_types[0], AvroBytes) else of_string)


@native(*_DECODERS)
def _emit_decoder(site: Site) -> str:
    return site.call(_DECODERS[site.name])


@native(*_ENCODERS)
def _emit_encoder(site: Site) -> str:
    return site.call(_ENCODERS[site.name])


# ------------------------------------------------------------------ base64

def _to_base64(x: Any) -> str:
    if isinstance(x, str):
        x = _to_bytes(x)
    return base64.b64encode(x).decode()


_BASE64 = re.compile(r"^[A-Za-z0-9\+/]*=*$")


def _from_base64(s: str) -> str:
    if _BASE64.match(s) is None:
        raise PFARuntimeException("invalid base64", 16220, "bytes.fromBase64", None)
    return _to_string(base64.b64decode(s))


@native("bytes.toBase64")
def _emit_to_base64(site: Site) -> str:
    return site.call(_to_base64)


@native("bytes.fromBase64")
def _emit_from_base64(site: Site) -> str:
    return site.call(_from_base64)
