"""Reading a PFA document from the bytes stored in S3: JSON, or YAML with pyyaml."""

import json
from typing import Any, Dict

import yaml

from .errors import ModelLoadError

YAML_SUFFIXES = (".yaml", ".yml")
_JSON_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
               list: "an array"}


def parse_document(data: bytes, key: str) -> Dict[str, Any]:
    """Parse ``data`` as YAML when ``key`` ends in .yaml/.yml, else as JSON.

    Raises :class:`ModelLoadError` with a one-line reason.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelLoadError(f"the model document is not UTF-8 text ({error.reason} at byte {error.start})") from None
    try:
        if key.lower().endswith(YAML_SUFFIXES):
            try:
                document = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise ModelLoadError(f"the model document is not valid YAML: {' '.join(str(error).split())}") \
                    from None
        else:
            try:
                document = json.loads(text)
            except ValueError as error:
                raise ModelLoadError(f"the model document is not valid JSON: {error}") from None
    except RecursionError:
        raise ModelLoadError("the model document is nested too deeply to read") from None
    if not isinstance(document, dict):
        raise ModelLoadError(
            f"the model document must be a PFA object with 'input', 'output' and 'action', "
            f"got {_JSON_KINDS.get(type(document), 'something else')}")
    return document
