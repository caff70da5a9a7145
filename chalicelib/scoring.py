"""What the routes do, apart from HTTP: score one record or a batch with a model
(the default model, or one by name), describe models, report health."""

from typing import Any, Callable, Dict, Generator, List, Optional, Tuple, Union

from .engine import DEFAULT_TIMEOUT_MS
from .errors import (
    InvalidRequest,
    ModelLoadError,
    ModelNotReady,
    ModelTimeout,
    NotScoredInTime,
    PayloadTooLarge,
    ResponseTooLarge,
    ServiceError,
)
from .limits.answer_size import RESPONSE_LIMIT, value_size
from .limits.deadline import Deadline
from .limits.memory import MB, peak_resident_bytes, resident_bytes
from .model_loader import LoadedModel
from .model_names import name_from_key
from .model_registry import ModelRegistry
from .model_store import ModelStore
from .settings import LAMBDA_PAYLOAD_LIMIT
from .telemetry import ServiceMetrics
from .validation import shown

BATCH_FIELD = "records"
# Of a Lambda invocation's remaining time, what is kept back to encode, log and return the answer.
ANSWER_MARGIN_MS = 1000


class ScoringService:
    """Scores records with the registry's models, each call within one deadline.

    A call's deadline is ``timeout_ms`` from its start, or sooner when the caller has less time
    left (``time_left_ms``: what remains of the Lambda invocation, less a margin to answer in).
    """

    def __init__(self, registry: ModelRegistry, store: ModelStore, max_batch_records: int,
                 timeout_ms: int = DEFAULT_TIMEOUT_MS, memory_limit_mb: Optional[int] = None,
                 metrics: Optional[ServiceMetrics] = None) -> None:
        self._registry = registry
        self._store = store
        self.max_batch_records = max_batch_records
        self.timeout_ms = timeout_ms
        self.memory_limit_mb = memory_limit_mb
        self._metrics = metrics

    def warm(self, deadline: Optional[Deadline] = None) -> None:
        """Load the default model now if it is not loaded, waiting at most until ``deadline``; a failure is
        remembered, not raised."""
        try:
            self._registry.get(deadline=deadline)
        except ServiceError:
            pass

    def predict(self, record: Any, name: Optional[str] = None,
                time_left_ms: Optional[float] = None) -> Tuple[Dict[str, Any], LoadedModel]:
        deadline = self._deadline(time_left_ms)
        model = self._registry.get(name, deadline)
        try:
            prediction = model.predict(record, deadline)
            if value_size(prediction) > RESPONSE_LIMIT:
                raise ResponseTooLarge(f"the model's answer is over the {LAMBDA_PAYLOAD_LIMIT // MB} MB that "
                                       f"Lambda can return")
        except ServiceError as error:
            error.model = model.identity()
            self._scored(model, 1, deadline, {error.code: 1})
            raise
        self._scored(model, 1, deadline, {})
        return {"prediction": prediction, "model": model.identity()}, model

    def predict_batch(self, body: Any, name: Optional[str] = None,
                      time_left_ms: Optional[float] = None) -> Tuple[Dict[str, Any], LoadedModel]:
        """Every record comes out once, as a prediction or as an error; records not reached by the
        batch's deadline get ``model_timeout``."""
        deadline = self._deadline(time_left_ms)
        records = self._batch_records(body)
        model = self._registry.get(name, deadline)
        predictions: List[Any] = []
        errors: List[Dict[str, Any]] = []
        size = 0
        for index, record in enumerate(records):
            if deadline.expired:
                late = ModelTimeout(f"not scored: the batch's time budget ({deadline.budget_ms:.0f} ms) ran out "
                                    f"after {index} of {len(records)} records")
                predictions.extend([None] * (len(records) - index))
                errors.extend({"index": later, **late.to_body()["error"]} for later in range(index, len(records)))
                break
            try:
                prediction = model.predict(record, deadline)
                size += value_size(prediction)
            except ServiceError as error:
                prediction = None
                errors.append({"index": index, **error.to_body()["error"]})
                size += value_size(errors[-1])
            predictions.append(prediction)
            if size > RESPONSE_LIMIT:  # stop as soon as the answer could not be returned, rather than build it all
                raise ResponseTooLarge(
                    f"the answer would be over the {LAMBDA_PAYLOAD_LIMIT // MB} MB that Lambda can return by "
                    f"record {index} of {len(records)}; send fewer records in one call")
        codes: Dict[str, int] = {}
        for entry in errors:
            codes[entry["code"]] = codes.get(entry["code"], 0) + 1
        self._scored(model, len(records), deadline, codes)
        return {"predictions": predictions, "errors": errors, "model": model.identity()}, model

    def predict_all(self, model: LoadedModel, records: List[Any],
                    time_left_ms: Optional[float] = None) -> Tuple[List[Any], Optional[Tuple[int, ServiceError]]]:
        """All-or-nothing scoring: every record's prediction, in order, or the index and error of the first
        record that fails (the records share one deadline, as a batch's do)."""
        deadline = self._deadline(time_left_ms)
        predictions: List[Any] = []
        size = 0
        failure: Optional[Tuple[int, ServiceError]] = None
        for index, record in enumerate(records):
            try:
                if deadline.expired:
                    raise ModelTimeout(f"not scored: the call's time budget ({deadline.budget_ms:.0f} ms) ran out "
                                       f"after {index} of {len(records)} records")
                prediction = model.predict(record, deadline)
            except ServiceError as error:
                error.model = model.identity()
                failure = index, error
                break
            size += value_size(prediction)
            if size > RESPONSE_LIMIT:
                failure = index, ResponseTooLarge(
                    f"the model's answer to record 0 alone is over the {LAMBDA_PAYLOAD_LIMIT // MB} MB that Lambda "
                    f"can return" if index == 0 else
                    f"the answer would be over the {LAMBDA_PAYLOAD_LIMIT // MB} MB that Lambda can return by "
                    f"record {index} of {len(records)}; send fewer records in one call")
                break
            predictions.append(prediction)
        self._scored(model, len(predictions) + (failure is not None), deadline,
                     {failure[1].code: 1} if failure else {})
        return predictions, failure

    def model(self, name: Optional[str] = None, time_left_ms: Optional[float] = None) -> LoadedModel:
        """The model that ``predict`` would use now (raises what it would raise)."""
        return self._registry.get(name, self._deadline(time_left_ms))

    def model_version(self, name: str, version_id: str) -> LoadedModel:
        """One stored version of a model, compiled on its own (not swapped in); ModelLoadError if it cannot serve."""
        return self._registry.loader(name).load_version(version_id)

    def score_each(self, model: LoadedModel, records: List[Any], time_left_ms: Callable[[], Optional[float]],
                   first: bool = True) -> Generator[Union[Any, ServiceError], None, None]:
        """Each record's prediction or its error, in order, as ``predict_batch`` answers them: the records
        share one deadline, the model's time limit, capped by what ``time_left_ms()`` says remains of the
        invocation. Records not reached by the model's own limit get a final ``model_timeout``.

        When the cap, not the model's limit, runs out, the records from there on get :class:`NotScoredInTime`
        (scoring them later, with more time, can succeed) - unless this was the invocation's ``first``
        message and it got to score: it had the whole invocation, and another would not do better, so the
        record that ran out and those after it get ``model_timeout``.
        """
        deadline = self._deadline(time_left_ms())
        capped = deadline.budget_ms < self.timeout_ms
        codes: Dict[str, int] = {}
        scored = 0
        try:
            for index, record in enumerate(records):
                if deadline.expired:
                    # Not even started: nothing says that another invocation, with more time, would not do it.
                    late = self._not_reached(deadline, capped and (not first or index == 0), index, len(records))
                    for _ in range(index, len(records)):
                        scored += not late.transient
                        codes[late.code] = codes.get(late.code, 0) + (not late.transient)
                        yield late
                    return
                try:
                    outcome: Union[Any, ServiceError] = model.predict(record, deadline)
                except ModelTimeout as error:
                    outcome = self._not_reached(deadline, True, index, len(records)) if capped and not first \
                        else error
                except ServiceError as error:
                    outcome = error
                if isinstance(outcome, ServiceError):
                    outcome.model = model.identity()
                    if not outcome.transient:
                        codes[outcome.code] = codes.get(outcome.code, 0) + 1
                scored += not (isinstance(outcome, ServiceError) and outcome.transient)
                yield outcome
        finally:
            if self._metrics is not None and scored:
                self._metrics.scored(model.name, model.version, scored, deadline.engine_ms, codes)

    @staticmethod
    def _not_reached(deadline: Deadline, transient: bool, index: int, total: int) -> ServiceError:
        if transient:
            return NotScoredInTime(f"not scored: the invocation's time ran out after {index} of {total} records")
        return ModelTimeout(f"not scored: the message's time budget ({deadline.budget_ms:.0f} ms) ran out after "
                            f"{index} of {total} records")

    def _scored(self, model: LoadedModel, records: int, deadline: Deadline, errors: Dict[str, int]) -> None:
        if self._metrics is not None:
            self._metrics.scored(model.name, model.version, records, deadline.engine_ms, errors)

    def _deadline(self, time_left_ms: Optional[float]) -> Deadline:
        cap = None if time_left_ms is None else time_left_ms - ANSWER_MARGIN_MS
        return Deadline(self.timeout_ms, cap_ms=cap)

    def describe(self, name: Optional[str] = None) -> Tuple[Dict[str, Any], LoadedModel]:
        loader = self._registry.default if name is None else self._registry.loader(name)
        model = self._registry.get(name, self._deadline(None))
        return {**model.describe(), "update": loader.update_status()}, model

    def list_models(self) -> Dict[str, Any]:
        """The model documents under the prefix in S3 (the first 1000 keys; ``truncated`` says if there are
        more), and which of them this container has loaded."""
        try:
            objects, truncated = self._store.list(self._registry.prefix)
        except ModelLoadError as error:
            raise ModelNotReady(f"cannot list models: {error}") from None
        loaded = self._registry.loaded()
        models = []
        for item in objects:
            name = name_from_key(self._registry.prefix, item["key"])
            if name is None:
                continue
            model = loaded.get(name)
            models.append({"name": name, "loaded": model is not None, "version": model.version if model else None,
                           "location": self._store.location(item["key"]), "etag": item["etag"],
                           "size_bytes": item["size_bytes"], "last_modified": item["last_modified"]})
        return {"models": models, "default": self._registry.default_name, "truncated": truncated}

    def health(self) -> Dict[str, Any]:
        self.warm(self._deadline(None))
        memory = {"resident_mb": round(resident_bytes() / MB, 1),
                  "peak_resident_mb": round(peak_resident_bytes() / MB, 1), "limit_mb": self.memory_limit_mb}
        return {**self._registry.default.status(), "loaded_models": len(self._registry.loaded()), "memory": memory}

    def _batch_records(self, body: Any) -> List[Any]:
        if type(body) is not dict:
            raise InvalidRequest(f'expected an object {{"{BATCH_FIELD}": [...]}}, got {shown(body)}')
        unknown = sorted(key for key in body if key != BATCH_FIELD)
        if unknown:
            raise InvalidRequest(f"unknown field {unknown[0]!r}; expected fields: {BATCH_FIELD}", field=unknown[0])
        if BATCH_FIELD not in body:
            raise InvalidRequest(f"missing required field {BATCH_FIELD!r} (expected an array of records)",
                                 field=BATCH_FIELD)
        records = body[BATCH_FIELD]
        if type(records) is not list:
            raise InvalidRequest(f"expected an array of records, got {shown(records)}", field=BATCH_FIELD)
        if len(records) > self.max_batch_records:
            raise PayloadTooLarge(f"expected at most {self.max_batch_records} records (MAX_BATCH_RECORDS), "
                                  f"got {len(records)}", field=BATCH_FIELD)
        return records
