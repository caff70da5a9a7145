"""Model names, and where a named model lives in the bucket.

A name is 1-64 characters of letters, digits, ``_`` and ``-``, starting with a
letter or digit: nothing that could climb out of the models prefix or be read
as a path.
"""

import re

from .errors import InvalidModelName

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
DOCUMENT_SUFFIX = ".pfa"
NAME_RULE = "1-64 letters, digits, '_' or '-', starting with a letter or digit"


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = name if isinstance(name, str) and len(name) <= 80 else f"{str(name)[:77]}..."
        raise InvalidModelName(f"invalid model name {shown!r}: expected {NAME_RULE}", field="name")
    return name


def model_key(prefix: str, name: str) -> str:
    """The S3 key of model ``name``: ``<prefix><name>.pfa`` (the document is stored as JSON)."""
    return f"{prefix}{check_model_name(name)}{DOCUMENT_SUFFIX}"


def name_from_key(prefix: str, key: str) -> str | None:
    """The model name a key stores, or None if the key is not a model document under ``prefix``."""
    if not key.startswith(prefix) or not key.endswith(DOCUMENT_SUFFIX):
        return None
    name = key[len(prefix):-len(DOCUMENT_SUFFIX)]
    return name if NAME_PATTERN.fullmatch(name) else None
