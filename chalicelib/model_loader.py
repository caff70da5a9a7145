"""Loading the model once per container, and knowing whether it is ready.

:class:`ModelLoader` fetches and compiles the document on first use (or when
warmed at cold start), keeps the result for the life of the container, and
after a failure answers "not ready, and why" until a backoff delay has passed,
so a missing or broken model never turns into a crash loop or a fetch per request.
"""

import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional

from .errors import ModelLoadError, ModelNotReady
from .model_store import ModelStore
from .served_model import ServedModel, compile_served


@dataclass(frozen=True)
class LoadedModel:
    """A served model and where it came from."""

    name: str
    location: str
    version: str
    etag: str
    version_id: Optional[str]
    size_bytes: int
    loaded_at: str
    fetch_ms: float
    compile_ms: float
    served: ServedModel

    def predict(self, record: Any) -> Any:
        return self.served.predict(record)

    def describe(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "version": self.version,
            "etag": self.etag,
            "version_id": self.version_id,
            "size_bytes": self.size_bytes,
            "loaded_at": self.loaded_at,
            "fetch_ms": round(self.fetch_ms, 3),
            "compile_ms": round(self.compile_ms, 3),
            **self.served.describe(),
        }


class ModelLoader:
    """Gives the loaded model, or raises :class:`ModelNotReady` with the reason.

    Thread-safe: concurrent first requests wait for one load.
    """

    def __init__(self, store: ModelStore, key: str, name: Optional[str] = None,
                 timeout_ms: Optional[int] = None, retry_min_seconds: float = 1.0,
                 retry_max_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._key = key
        self._name = name
        self._timeout_ms = timeout_ms
        self._retry_min = retry_min_seconds
        self._retry_max = retry_max_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._model: Optional[LoadedModel] = None
        self._failures = 0
        self._next_attempt = 0.0
        self._last_error: Optional[str] = None

    @property
    def location(self) -> str:
        return f"s3://{self._store.bucket}/{self._key}"

    def get(self) -> LoadedModel:
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is not None:
                return self._model
            wait = self._next_attempt - self._clock()
            if wait > 0:
                raise ModelNotReady(f"model not loaded: {self._last_error}", retry_after=wait)
            try:
                self._model = self._load()
            except ModelLoadError as error:
                self._failed(str(error))
            except Exception as error:  # a bug must not take the container down
                self._failed(f"unexpected {type(error).__name__} while loading: {error}")
            else:
                self._failures = 0
                self._last_error = None
                return self._model
            raise ModelNotReady(f"model not loaded: {self._last_error}",
                                retry_after=self._next_attempt - self._clock())

    def warm(self) -> None:
        """Try to load now (cold start); a failure is remembered, not raised."""
        try:
            self.get()
        except ModelNotReady:
            pass

    def status(self) -> Dict[str, Any]:
        model = self._model
        if model is not None:
            return {"ready": True, "model": {"name": model.name, "version": model.version,
                                             "location": model.location, "loaded_at": model.loaded_at}}
        status: Dict[str, Any] = {"ready": False, "location": self.location,
                                  "reason": self._last_error or "model not loaded yet",
                                  "failed_attempts": self._failures}
        if self._failures:
            status["next_attempt_in_seconds"] = round(max(0.0, self._next_attempt - self._clock()), 3)
        return status

    def _failed(self, reason: str) -> None:
        self._failures += 1
        delay = min(self._retry_max, self._retry_min * 2 ** (self._failures - 1))
        self._next_attempt = self._clock() + delay
        self._last_error = reason

    def _load(self) -> LoadedModel:
        started = time.perf_counter()
        stored = self._store.fetch(self._key)
        fetched = time.perf_counter()
        served = compile_served(stored.data, self._key, self._timeout_ms)
        return LoadedModel(
            name=self._name or served.model.name or _stem(self._key),
            location=stored.location,
            version=stored.version,
            etag=stored.etag,
            version_id=stored.version_id,
            size_bytes=len(stored.data),
            loaded_at=datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
            fetch_ms=(fetched - started) * 1000,
            compile_ms=(time.perf_counter() - fetched) * 1000,
            served=served,
        )


def _stem(key: str) -> str:
    base = os.path.basename(key)
    return base.split(".", 1)[0] or base
