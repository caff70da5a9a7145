"""The files named on pfactl's command line, read in one place and refused in the user's terms.

Every command reads them through here: PFA documents (validate, score, upload), joblib files (export)
and data to score (score). A file that is missing, unreadable, empty, or not of the kind expected is a
one-line :class:`PfactlError` naming the file and what was expected, never the parser's exception.
(``.local/s3.json``, which pfactl finds rather than is given, is read by :mod:`pfactl.s3_target`.)
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import IO, Any, Callable, Union

from .errors import PfactlError

PFA_DOCUMENT = "a PFA document (JSON, or YAML when named *.yaml or *.yml)"
JOBLIB_MODEL = "a model saved with joblib.dump"
DATA = {"csv": "CSV with a header line naming the columns", "jsonl": "one JSON record a line"}
STDIN = "-"

# How a joblib file starts: a pickle (protocol 2 and later open with PROTO), or one of the compressed
# containers joblib.dump writes (zlib, gzip, bz2, xz, lzma, lz4). Only used to tell "damaged" from "not
# joblib" in a message: an older pickle protocol still loads.
_JOBLIB_STARTS = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")
_HEAD_BYTES = 64


def display_name(path: Union[str, Path]) -> str:
    """How messages name a file: its path as given, or "stdin" for ``-``."""
    return "stdin" if str(path) == STDIN else str(path)


def empty(what: object, expected: str) -> PfactlError:
    return PfactlError(f"{what} is empty; expected {expected}")


def read_document(path: Path) -> bytes:
    """The bytes of the PFA document at ``path``."""
    data = _read(path)
    if not data.strip():
        raise empty(path, PFA_DOCUMENT)
    return data


def open_data(path: str, fmt: str) -> IO[bytes]:
    """``path`` (``-``: stdin) opened for reading in binary; an empty regular file is refused here, an
    empty stream by :func:`pfactl.scoring.score_stream`, which reads it."""
    try:
        stream = open(path, "rb") if path != STDIN else os.fdopen(os.dup(0), "rb")
    except OSError as error:
        raise PfactlError(f"cannot read {path}: {error.strerror or error}") from None
    if path != STDIN and Path(path).is_file() and os.fstat(stream.fileno()).st_size == 0:
        stream.close()
        raise empty(path, DATA[fmt])
    return stream


def load_joblib(path: Path, warn: Callable[[str], None]) -> Any:
    """The object saved at ``path`` with joblib.dump; warnings while loading (such as a model saved by
    another scikit-learn) go to ``warn`` as one line each."""
    head = _head(path)
    if not head.strip():
        raise empty(path, JOBLIB_MODEL)
    import joblib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loaded = joblib.load(path)
        except ModuleNotFoundError as error:
            raise PfactlError(f"{path} needs the Python module {error.name!r} to load, and it is not installed "
                              f"here") from None
        except (AttributeError, ImportError) as error:  # a class the pickle names is not where it was
            raise PfactlError(f"{path} was saved with other versions of its packages than the ones installed "
                              f"here ({' '.join(str(error).split())}); save it again with these") from None
        except Exception:  # unpickling foreign or damaged data fails in many ways (KeyError, EOFError, ...)
            raise PfactlError(_not_joblib(path, head)) from None
    for warning in caught:
        warn(f"{path}: {' '.join(str(warning.message).split())}")
    return loaded


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PfactlError(f"cannot read {path}: {error.strerror or error}") from None


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError as error:
        raise PfactlError(f"cannot read {path}: {error.strerror or error}") from None


def _not_joblib(path: Path, head: bytes) -> str:
    if head.startswith(_JOBLIB_STARTS):
        return f"{path} is damaged or cut short: it starts as a joblib file but does not load; expected {JOBLIB_MODEL}"
    text = head.lstrip()
    if text.startswith((b"{", b"[")):
        looks = " (it looks like JSON; export reads the fitted scikit-learn model, not a PFA document)"
    elif text[:1].isalpha():
        looks = " (it looks like text)"
    else:
        looks = ""
    return f"{path} is not a joblib file{looks}; expected {JOBLIB_MODEL}"

