"""Many models in one container: loaded lazily by name, kept within a bound.

Each name gets a :class:`ModelLoader` on first use. Loaded models are kept in
least-recently-used order and evicted beyond ``max_models`` or beyond
``max_bytes`` of memory (as measured when each was compiled; the default model
is never evicted). Names that have not loaded (unknown, broken, not tried yet)
are remembered separately, at most ``_UNLOADED_LIMIT`` of them, oldest first
out, and the bound holds as each name is added: requests for made-up names can
neither push real models out nor grow the process.
"""

import threading
from collections import OrderedDict
from typing import Callable, Dict, Optional

from .limits.deadline import Deadline
from .model_loader import FailureState, LoadedModel, ModelLoader
from .model_names import check_model_name, model_key, name_from_key

LoaderFactory = Callable[[str, str, bool], ModelLoader]  # (key, name, missing_is_not_found) -> loader
_UNLOADED_LIMIT = 256
_FAILURE_LIMIT = 4096


class ModelRegistry:
    def __init__(self, make_loader: LoaderFactory, prefix: str, default_key: str, max_models: int,
                 max_bytes: int, refresh_seconds: float = 0.0) -> None:
        self.prefix = prefix
        self._refresh_seconds = refresh_seconds
        self._refresher: Optional[threading.Thread] = None
        self._closed = threading.Event()
        self._make_loader = make_loader
        self._max_models = max_models
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._loaders: "OrderedDict[str, ModelLoader]" = OrderedDict()
        self._failures: "OrderedDict[str, FailureState]" = OrderedDict()
        as_named = name_from_key(prefix, default_key)
        self.default_name = as_named or _stem(default_key)
        # The default model is also reachable by name when it lives under the prefix.
        self._default = make_loader(default_key, self.default_name, False)
        if as_named is not None:
            self._loaders[as_named] = self._default

    @property
    def default(self) -> ModelLoader:
        return self._default

    def loader(self, name: str) -> ModelLoader:
        check_model_name(name)
        with self._lock:
            loader = self._loaders.get(name)
            if loader is None:
                loader = self._make_loader(model_key(self.prefix, name), name, True)
                failure = self._failures.pop(name, None)
                if failure is not None:
                    loader.remember_failure(failure)
                self._loaders[name] = loader
                self._forget_unloaded(keep=loader)
            self._loaders.move_to_end(name)
            return loader

    def get(self, name: Optional[str] = None, deadline: Optional[Deadline] = None) -> LoadedModel:
        """The current model of ``name`` (the default model when None), waiting for a load until ``deadline``."""
        loader = self._default if name is None else self.loader(name)
        was_loaded = loader.loaded is not None
        model = loader.get(deadline)
        if not was_loaded:
            self._enforce_bounds(keep=loader)
            self._start_refresher()
        return model

    def close(self) -> None:
        """Stop the refresher (a runtime being replaced)."""
        self._closed.set()

    def _start_refresher(self) -> None:
        """Loaded models also look for new versions between requests, so an upload takes over without
        waiting for the next request to notice (on Lambda this runs while the container is awake)."""
        with self._lock:
            if self._refresh_seconds <= 0 or self._refresher is not None or self._closed.is_set():
                return
            self._refresher = threading.Thread(target=self._refresh_loop, name="model-refresher", daemon=True)
        self._refresher.start()

    def _refresh_loop(self) -> None:
        while not self._closed.wait(self._refresh_seconds / 2):
            with self._lock:
                loaders = [self._default, *self._loaders.values()]
            for loader in loaders:
                loader.refresh_if_due()

    def loaded(self) -> Dict[str, LoadedModel]:
        """Every loaded model by name, the default model included."""
        with self._lock:
            loaders = [(self.default_name, self._default), *self._loaders.items()]
        return {name: loader.loaded for name, loader in loaders if loader.loaded is not None}

    def remembered(self) -> int:
        """How many names this registry holds a loader for, loaded or not."""
        with self._lock:
            return len(self._loaders)

    def _forget_unloaded(self, keep: ModelLoader) -> None:
        """Drop the oldest names that have not loaded beyond the limit (call with the lock held)."""
        unloaded = [name for name, loader in self._loaders.items()
                    if loader.loaded is None and loader is not self._default and loader is not keep]
        for name in unloaded[: max(0, len(unloaded) + 1 - _UNLOADED_LIMIT)]:
            # A stored version that failed is remembered apart (names of documents that exist, so bounded by
            # the bucket), so that forgetting its loader does not mean fetching and compiling it again.
            failure = self._loaders.pop(name).failure()
            if failure is not None:
                self._failures[name] = failure
                while len(self._failures) > _FAILURE_LIMIT:
                    self._failures.popitem(last=False)

    def _enforce_bounds(self, keep: ModelLoader) -> None:
        with self._lock:
            sizes = {name: loader.loaded.memory_bytes for name, loader in self._loaders.items()
                     if loader.loaded is not None}
            count, total = len(sizes), sum(sizes.values())
            for name, size in list(sizes.items()):  # least recently used first
                if count <= self._max_models and total <= self._max_bytes:
                    break
                if self._loaders[name] in (keep, self._default):
                    continue
                del self._loaders[name]
                count, total = count - 1, total - size


def _stem(key: str) -> str:
    base = key.rsplit("/", 1)[-1]
    return base.split(".", 1)[0] or base
