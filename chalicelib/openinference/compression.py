"""A compressed request body (``Content-Encoding``, tritonclient's ``request_compression_algorithm``), read
within the body limit: a small body cannot unpack into a large one, nor into many parts."""

import zlib
from typing import List, Optional

from ..errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType

# zlib's window bits for each encoding.
ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_MEMBERS = 16


def decompressed(raw_body: bytes, encoding: Optional[str], max_bytes: int) -> bytes:
    """The body uncompressed (at most ``max_bytes`` of it: a small body cannot unpack into a large one)."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return raw_body
    if name not in ENCODINGS:
        raise UnsupportedMediaType(f"Content-Encoding {name[:40]!r} is not supported; send the body as it is, "
                                   f"or compressed with {' or '.join(ENCODINGS)}", field="Content-Encoding")
    parts: List[bytes] = []
    size = 0
    rest = raw_body
    while True:  # a gzip body may be several members, one after another (a few: each is copied)
        if len(parts) == _MEMBERS:
            raise InvalidRequest(f"request body has more than {_MEMBERS} gzip members; compress it as one",
                                 field="Content-Encoding")
        decoder = zlib.decompressobj(ENCODINGS[name])
        try:
            part = decoder.decompress(rest, max_bytes + 1 - size)
        except zlib.error:
            raise InvalidRequest(f"request body is not {name} data, as its Content-Encoding says",
                                 field="Content-Encoding") from None
        parts.append(part)
        size += len(part)
        if size > max_bytes:
            raise PayloadTooLarge(f"request body uncompressed is over the limit of {max_bytes} bytes")
        if not decoder.eof:
            raise InvalidRequest(f"request body is cut short: its {name} data does not end",
                                 field="Content-Encoding")
        rest = decoder.unused_data
        if not rest:
            return b"".join(parts)
        if name != "gzip":
            raise InvalidRequest(f"request body has {byte_count(len(rest))} after the end of its {name} data",
                                 field="Content-Encoding")


def byte_count(count: int) -> str:
    return f"{count} byte{'' if count == 1 else 's'}"
