"""One model: loaded once, kept up to date, and honest about whether it is ready.

:class:`ModelLoader` fetches and compiles its document on first use (or when
warmed at cold start) and keeps it. After a failure it answers "not ready, and
why" until a backoff delay has passed, so a missing or broken model never turns
into a crash loop or an S3 request per call.

Once loaded, it checks S3 for a newer version at most every ``refresh_seconds``
(a conditional GET on the ETag), when a request comes or when the registry's
refresher asks. The check and the compile run off the request path
(``background``); the new model replaces the old one in a single reference
swap, so each request is answered wholly by one version. A new version that
does not compile is not swapped in: the last good model keeps serving and
:meth:`status` shows the failed version and why.
"""

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional, Tuple

from .errors import ModelLoadError, ModelNotFound, ModelNotReady, ServiceError
from .limits.deadline import Deadline
from .limits.memory import give_back, resident_bytes
from .model_store import DocumentMissing, ModelStore, StoredDocument, VersionFailed
from .served_model import ServedModel, compile_served

Background = Callable[[Callable[[], None]], None]
KEPT_PER_DOCUMENT_BYTE = 5
# How many versions before a broken latest one a loading container tries.
FALLBACK_VERSIONS = 2
EventSink = Callable[..., None]
FailureState = Tuple[ModelLoadError, int, float]  # the error, failures so far, when the next attempt may run


def in_thread(task: Callable[[], None]) -> None:
    threading.Thread(target=task, name="model-update", daemon=True).start()


def _ignore(*args: Any, **kwargs: Any) -> None:
    pass


@dataclass(frozen=True)
class LoadedModel:
    """A served model and where it came from."""

    name: str
    location: str
    version: str
    etag: str
    version_id: Optional[str]
    size_bytes: int
    memory_bytes: int
    loaded_at: str
    fetch_ms: float
    compile_ms: float
    served: ServedModel

    def predict(self, record: Any, deadline: Optional[Deadline] = None) -> Any:
        return self.served.predict(record, deadline)

    def identity(self) -> Dict[str, str]:
        return {"name": self.name, "version": self.version}

    def describe(self) -> Dict[str, Any]:
        return {
            "name": self.name,
            "location": self.location,
            "version": self.version,
            "etag": self.etag,
            "version_id": self.version_id,
            "size_bytes": self.size_bytes,
            "memory_bytes": self.memory_bytes,
            "loaded_at": self.loaded_at,
            "fetch_ms": round(self.fetch_ms, 3),
            "compile_ms": round(self.compile_ms, 3),
            **self.served.describe(),
        }


class ModelLoader:
    """Gives the current model of one S3 key, or raises why there is none.

    Raises :class:`ModelNotFound` (404) when the document does not exist and
    ``missing_is_not_found`` is set (named models), else :class:`ModelNotReady` (503).
    Thread-safe.
    """

    def __init__(self, store: ModelStore, key: str, name: str, *, timeout_ms: Optional[int] = None,
                 engine: str = "auto", retry_min_seconds: float = 1.0, retry_max_seconds: float = 60.0,
                 refresh_seconds: float = 0.0,
                 missing_is_not_found: bool = False, clock: Callable[[], float] = time.monotonic,
                 background: Background = in_thread, on_event: EventSink = _ignore) -> None:
        self.name = name
        self._store = store
        self._key = key
        self._timeout_ms = timeout_ms
        self._engine = engine
        self._retry_min = retry_min_seconds
        self._retry_max = retry_max_seconds
        self._refresh = refresh_seconds
        self._missing_is_not_found = missing_is_not_found
        self._clock = clock
        self._background = background
        self._on_event = on_event
        self._lock = threading.Lock()
        self._model: Optional[LoadedModel] = None
        self._failures = 0
        self._next_attempt = 0.0
        self._last_error: Optional[ModelLoadError] = None
        self._next_check = 0.0
        self._checking = False
        self._last_checked_at: Optional[str] = None
        self._failed_update: Optional[Dict[str, Any]] = None
        self._last_check_error: Optional[str] = None
        self._loading: Optional[threading.Event] = None

    @property
    def location(self) -> str:
        return self._store.location(self._key)

    @property
    def loaded(self) -> Optional[LoadedModel]:
        return self._model

    def get(self, deadline: Optional[Deadline] = None) -> LoadedModel:
        """The current model, loading it first if need be; waits for a load at most until ``deadline``.

        The load runs off the request (``background``), so a caller whose time runs out gets 503 "still
        loading" while the load goes on for the next one.
        """
        model = self._model
        if model is not None:
            self.refresh_if_due()
            return model
        with self._lock:
            if self._model is not None:
                return self._model
            loading = self._loading
            start = loading is None
            if start:
                if self._next_attempt - self._clock() > 0:
                    raise self._not_available()
                loading = self._loading = threading.Event()
        if start:
            self._background(self._load)
        assert loading is not None
        if not loading.wait(None if deadline is None else deadline.remaining_ms() / 1000):
            raise ModelNotReady(f"model {self.name!r} is still loading; retry shortly", retry_after=1)
        if self._model is not None:
            return self._model
        raise self._not_available()

    def load_version(self, version_id: str) -> LoadedModel:
        """One stored version, compiled on its own and not swapped in (a job scores every row with the version
        it started with); :class:`ModelLoadError` when it cannot serve."""
        stored, fetch_ms = self._fetch(version_id=version_id)
        if stored is None:  # only a conditional GET answers nothing
            raise ModelLoadError(f"{self.location} has no version {version_id}")
        return self._build(stored, fetch_ms)

    def remember_failure(self, failure: "FailureState") -> None:
        """Start from a failure this model's earlier loader had (see :meth:`failure`)."""
        self._last_error, self._failures, self._next_attempt = failure

    def failure(self) -> Optional["FailureState"]:
        """Why the model is not loaded, when a stored version failed (for a loader that replaces this one)."""
        if self._model is None and isinstance(self._last_error, VersionFailed):
            return self._last_error, self._failures, self._next_attempt
        return None

    def _load(self) -> None:
        """Fetch and compile the latest version (or, when it cannot serve, the newest earlier one that can)."""
        try:
            # A version that failed before is not fetched again until the object changes.
            stored, fetch_ms = self._fetch(unless_etag=getattr(self._last_error, "etag", None))
            if stored is None:  # still the version that failed: nothing new to say or to compile
                assert self._last_error is not None
                self._failed(self._last_error)
                return
            try:
                model = self._build(stored, fetch_ms)
            except VersionFailed as latest:
                model = self._earlier_version_that_serves(latest)
        except ModelLoadError as error:
            self._failed(error)
            if not (isinstance(error, DocumentMissing) and self._missing_is_not_found):
                self._on_event("model_load_failed", level="WARNING", model=self.name,
                               version=getattr(error, "version", None), reason=str(error))
        except Exception as error:  # a bug must not take the container down
            self._on_event("model_load_bug", level="ERROR", model=self.name,
                           exception=f"{type(error).__name__}: {error}")
            self._failed(ModelLoadError("the model could not be loaded because of an internal error (the "
                                        "service's log has the details)"))
        else:
            self._failures = 0
            self._last_error = None
            self._next_check = self._clock() + self._refresh
            self._model = model
            self._on_event("model_loaded", model=self.name, version=model.version,
                           compile_ms=round(model.compile_ms, 3), memory_bytes=model.memory_bytes)
        finally:
            with self._lock:
                loading, self._loading = self._loading, None
            if loading is not None:
                loading.set()

    def _earlier_version_that_serves(self, latest: VersionFailed) -> LoadedModel:
        """A container that starts after a broken version was stored serves what the others kept serving:
        the newest earlier version that compiles (of the last ``FALLBACK_VERSIONS``), with the latest
        shown as the failed update. Raises ``latest`` when there is none."""
        try:
            earlier = self._store.earlier_versions(self._key, FALLBACK_VERSIONS + 1)
        except ModelLoadError:
            raise latest from None
        for version_id in [version for version in earlier if version != latest.version][:FALLBACK_VERSIONS]:
            try:
                stored, fetch_ms = self._fetch(version_id=version_id)
                assert stored is not None
                model = self._build(stored, fetch_ms)
            except ModelLoadError:
                continue
            self._failed_update = {"version": latest.version, "etag": latest.etag, "reason": str(latest),
                                   "at": _now()}
            self._on_event("model_update_failed", level="WARNING", model=self.name, version=latest.version,
                           reason=str(latest), serving=model.version)
            return model
        raise latest

    def refresh_if_due(self) -> None:
        """Start a check for a newer version (in the background) if the refresh interval has passed."""
        if self._refresh and self._model is not None and not self._checking and self._clock() >= self._next_check:
            self._start_check()

    def check_for_update(self) -> None:
        """Look for a newer version now and swap it in if it compiles (what the background check runs).

        Every version that fails (too large, not a document, does not compile) is recorded in
        ``failed_update`` and is not fetched again until the object changes: the conditional GET
        then names the failed version rather than the serving one.
        """
        current = self._model
        if current is None:
            return
        failed = self._failed_update
        try:
            stored, fetch_ms = self._fetch(unless_etag=failed["etag"] if failed else current.etag)
            self._last_check_error = None
            if stored is None:  # unchanged: the serving version, or the version that failed
                return
            if stored.etag == current.etag:  # the latest version is the one serving (again)
                self._failed_update = None
                return
            fresh = self._build(stored, fetch_ms)
        except DocumentMissing as error:
            with self._lock:
                self._model = None
                self._failed(error)
            self._on_event("model_removed", model=self.name, version=current.version)
        except VersionFailed as error:
            self._failed_update = {"version": error.version, "etag": error.etag, "reason": str(error), "at": _now()}
            self._on_event("model_update_failed", level="WARNING", model=self.name, version=error.version,
                           reason=str(error), serving=current.version)
        except ModelLoadError as error:  # S3 trouble: keep serving, try again at the next interval
            self._last_check_error = str(error)
            self._on_event("model_update_check_failed", level="WARNING", model=self.name, reason=str(error))
        except Exception as error:  # a bug must not stop the checks nor reach a request
            self._last_check_error = "the check failed because of an internal error (the service's log has the details)"
            self._on_event("model_update_check_bug", level="ERROR", model=self.name,
                           exception=f"{type(error).__name__}: {error}")
        else:
            self._model = fresh
            self._failed_update = None
            self._on_event("model_updated", model=self.name, version=fresh.version, previous=current.version,
                           memory_bytes=fresh.memory_bytes)
        finally:
            self._last_checked_at = _now()

    def status(self) -> Dict[str, Any]:
        model = self._model
        status: Dict[str, Any]
        if model is not None:
            status = {"ready": True, "model": {"name": model.name, "version": model.version,
                                               "location": model.location, "loaded_at": model.loaded_at}}
        else:
            status = {"ready": False, "location": self.location,
                      "reason": str(self._last_error) if self._last_error else "model not loaded yet",
                      "failed_attempts": self._failures}
            if self._failures:
                status["next_attempt_in_seconds"] = round(max(0.0, self._next_attempt - self._clock()), 3)
        return status

    def update_status(self) -> Dict[str, Any]:
        return {"last_checked_at": self._last_checked_at, "failed_update": self._failed_update,
                "last_check_error": self._last_check_error, "refresh_seconds": self._refresh}

    def _start_check(self) -> None:
        with self._lock:
            if self._checking or self._clock() < self._next_check:
                return
            self._checking = True
            self._next_check = self._clock() + self._refresh

        def task() -> None:
            try:
                self.check_for_update()
            finally:
                self._checking = False
        self._background(task)

    def _not_available(self) -> ServiceError:
        wait = max(0.0, self._next_attempt - self._clock())
        if isinstance(self._last_error, DocumentMissing) and self._missing_is_not_found:
            return ModelNotFound(f"no model named {self.name!r} ({self.location} does not exist)", field="name")
        return ModelNotReady(f"model not loaded: {self._last_error}", retry_after=wait)

    def _failed(self, error: ModelLoadError) -> None:
        # What is remembered must not keep the failed request's frames and responses alive.
        error.__traceback__ = error.__context__ = error.__cause__ = None
        self._failures += 1
        delay = min(self._retry_max, self._retry_min * 2 ** (self._failures - 1))
        self._next_attempt = self._clock() + delay
        self._last_error = error

    def _fetch(self, unless_etag: Optional[str] = None,
               version_id: Optional[str] = None) -> Tuple[Optional[StoredDocument], float]:
        started = time.perf_counter()
        stored = self._store.fetch(self._key, unless_etag=unless_etag, version_id=version_id)
        return stored, (time.perf_counter() - started) * 1000

    def _build(self, stored: StoredDocument, fetch_ms: float) -> LoadedModel:
        """Compile one stored version; any failure is a :class:`VersionFailed` naming it.

        The memory the model keeps is measured (resident memory after the compile, its garbage
        returned, minus before), so that the registry's budget counts what models really take. A
        process that reuses memory freed earlier measures low, so it counts at least
        ``KEPT_PER_DOCUMENT_BYTE`` times the document's size, the least compiled documents kept here.
        """
        started = time.perf_counter()
        before = resident_bytes()
        try:
            served = compile_served(stored.data, self._key, self._timeout_ms, self._engine)
        except ModelLoadError as error:
            raise VersionFailed(str(error), etag=stored.etag, version=stored.version) from None
        except MemoryError:
            raise VersionFailed("loading the document needs more memory than the service's budget "
                                "(MEMORY_LIMIT_MB) allows", etag=stored.etag, version=stored.version) from None
        except Exception as error:  # a bug must not take the container down, nor hide which version
            self._on_event("model_load_bug", level="ERROR", model=self.name, version=stored.version,
                           exception=f"{type(error).__name__}: {error}")
            raise VersionFailed("the model could not be loaded because of an internal error (the service's log "
                                "has the details)", etag=stored.etag, version=stored.version) from None
        finally:
            give_back()
        compile_ms = (time.perf_counter() - started) * 1000
        memory = max(KEPT_PER_DOCUMENT_BYTE * len(stored.data), resident_bytes() - before)
        return LoadedModel(
            name=self.name, location=stored.location, version=stored.version, etag=stored.etag,
            version_id=stored.version_id, size_bytes=len(stored.data), memory_bytes=memory, loaded_at=_now(),
            fetch_ms=fetch_ms, compile_ms=compile_ms, served=served)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
