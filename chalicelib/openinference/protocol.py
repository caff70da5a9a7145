"""The Open Inference Protocol's calls, apart from HTTP: the same models, validation and engine as /predict.

A model's version is the one that serves (its S3 version id, or ETag when the bucket is not versioned).
A request for another version is refused with :class:`VersionNotServed`, never answered by the one that
serves. An inference is all or nothing: the protocol has no per-row errors, so the first row that fails
fails the call, naming the row (and the input, when validation refused it).
"""

import weakref
from typing import Any, Dict, Optional, Tuple, Union

from .. import __version__
from ..errors import InvalidInput, InvalidRequest, ResponseTooLarge, ServiceError
from ..model_loader import LoadedModel
from ..model_names import check_model_name
from ..scoring import ScoringService
from ..served_model import ServedModel
from .request import read_request
from .response import output_tensors
from .tensors import SINGLE_INPUT, NoTensorForm, Signature, signature

SERVER_NAME = "pfa-serving"
# "<project>_<format>", as the protocol names platforms.
PLATFORM = "titus2_pfa"


class VersionNotServed(ServiceError):
    """The path names a version of the model that is not the one serving."""

    status = 404
    code = "model_version_not_served"


class OpenInference:
    def __init__(self, service: ScoringService, max_body_bytes: int, max_rows: int) -> None:
        self._service = service
        self._max_body_bytes = max_body_bytes
        self._max_rows = max_rows

    @staticmethod
    def server_metadata() -> Dict[str, Any]:
        return {"name": SERVER_NAME, "version": __version__, "extensions": []}

    def server_ready(self) -> Dict[str, Any]:
        """Ready when the default model serves (raises ModelNotReady, 503, with the reason otherwise)."""
        self._service.model()
        return {"ready": True}

    def model_metadata(self, name: str, version: Optional[str] = None) -> Tuple[Dict[str, Any], LoadedModel]:
        model = self._model(name, version)
        tensors = _signature(model)
        return {"name": name, "versions": [model.version], "platform": PLATFORM, **tensors.metadata()}, model

    def model_ready(self, name: str, version: Optional[str] = None) -> Tuple[Dict[str, Any], LoadedModel]:
        """Ready when the model (at that version) serves and has tensors."""
        model = self._model(name, version)
        _signature(model)
        return {"name": name, "ready": True}, model

    def infer(self, name: str, version: Optional[str], raw_body: bytes, json_length: Optional[str],
              time_left_ms: Optional[float] = None,
              encoding: Optional[str] = None) -> Tuple[Dict[str, Any], LoadedModel]:
        model = self._model(name, version, time_left_ms)
        tensors = _signature(model)
        try:
            request = read_request(raw_body, json_length, tensors, self._max_body_bytes, self._max_rows, encoding,
                                   lambda body_name, body_version: _same_model(body_name, body_version, name, model))
        except ServiceError as error:
            error.model = model.identity()
            raise
        predictions, failure = self._service.predict_all(model, request.records, time_left_ms)
        if failure is not None:
            index, refused = failure
            raise _in_row(refused, index, len(request.records), tensors)
        answer: Dict[str, Any] = {"model_name": name, "model_version": model.version}
        if request.id is not None:
            answer["id"] = request.id
        answer["outputs"] = output_tensors(predictions, tensors, request.outputs)
        return answer, model

    def _model(self, name: str, version: Optional[str], time_left_ms: Optional[float] = None) -> LoadedModel:
        check_model_name(name)
        model = self._service.model(name, time_left_ms)
        if version is not None and version != model.version:
            refused = VersionNotServed(f"model {name!r} has no version {_short(version)} serving: the version "
                                       f"that serves is {model.version!r} (GET /v2/models/{name} lists it)",
                                       field="version")
            refused.model = model.identity()
            raise refused
        return model


# Each served model's tensors (or why it has none), worked out once: by id, with a weak reference that tells
# a live entry from one whose model has gone (and whose id may be reused).
_SIGNATURES: Dict[int, Tuple["weakref.ref[ServedModel]", Union[Signature, NoTensorForm]]] = {}
_SIGNATURES_KEPT = 256


def _signature(model: LoadedModel) -> Signature:
    served = model.served
    entry = _SIGNATURES.get(id(served))
    if entry is None or entry[0]() is not served:
        try:
            found: Union[Signature, NoTensorForm] = signature(
                served.model.input_schema, served.model.output_schema, served.input_keys, served.input_types)
        except NoTensorForm as error:
            found = error
        if len(_SIGNATURES) >= _SIGNATURES_KEPT:
            for key in [key for key, (ref, _) in list(_SIGNATURES.items()) if ref() is None] or list(_SIGNATURES):
                _SIGNATURES.pop(key, None)
        entry = weakref.ref(served), found
        _SIGNATURES[id(served)] = entry
    found = entry[1]
    if isinstance(found, NoTensorForm):
        refused = NoTensorForm(found.message, field=found.field)
        refused.model = model.identity()
        raise refused
    return found


def _same_model(body_name: Optional[str], body_version: Optional[str], name: str, model: LoadedModel) -> None:
    """A body that names a model (KServe's client sends model_name) must name the one in the path."""
    if body_name is not None and body_name != name:
        raise InvalidRequest(f"the request's model_name {_short(body_name)} is not the model in the path, "
                             f"{name!r}", field="model_name")
    if body_version is not None and body_version != model.version:
        raise VersionNotServed(f"the request's model_version {_short(body_version)} is not the version that "
                               f"serves, {model.version!r}", field="model_version")


def _in_row(error: ServiceError, index: int, rows: int, tensors: Signature) -> ServiceError:
    """The row's error, saying which row and which input (the protocol has no per-row errors); an answer too
    large to return already says where it stopped."""
    if isinstance(error, ResponseTooLarge):
        return error
    field = error.field
    if not tensors.inputs_per_field and isinstance(error, InvalidInput):
        field = SINGLE_INPUT if field is None else SINGLE_INPUT + (field if field.startswith("[") else "." + field)
    where = f"row {index} of {rows}" + (f", input {field!r}" if field else "")
    error.message = f"{where}: {error.message}"
    error.field = field
    return error


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")

