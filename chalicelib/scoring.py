"""What the routes do, apart from HTTP: score one record or a batch, describe
the model, report health."""

from typing import Any, Dict, List, Tuple

from .errors import InvalidRequest, PayloadTooLarge, ServiceError
from .model_loader import LoadedModel, ModelLoader
from .validation import shown

BATCH_FIELD = "records"


class ScoringService:
    def __init__(self, loader: ModelLoader, max_batch_records: int) -> None:
        self._loader = loader
        self.max_batch_records = max_batch_records

    def warm(self) -> None:
        self._loader.warm()

    def predict(self, record: Any) -> Tuple[Dict[str, Any], LoadedModel]:
        model = self._loader.get()
        return {"prediction": model.predict(record), "model": _identity(model)}, model

    def predict_batch(self, body: Any) -> Tuple[Dict[str, Any], LoadedModel]:
        records = self._batch_records(body)
        model = self._loader.get()
        predictions: List[Any] = []
        errors: List[Dict[str, Any]] = []
        for index, record in enumerate(records):
            try:
                predictions.append(model.predict(record))
            except ServiceError as error:
                predictions.append(None)
                errors.append({"index": index, **error.to_body()["error"]})
        return {"predictions": predictions, "errors": errors, "model": _identity(model)}, model

    def describe(self) -> Tuple[Dict[str, Any], LoadedModel]:
        model = self._loader.get()
        return model.describe(), model

    def health(self) -> Dict[str, Any]:
        try:
            self._loader.get()
        except ServiceError:
            pass
        return self._loader.status()

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


def _identity(model: LoadedModel) -> Dict[str, str]:
    return {"name": model.name, "version": model.version}
