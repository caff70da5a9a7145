"""The two engines the bench compares, titus and compiled: one app runtime per ``PFA_ENGINE`` setting, and the
raw engine call of a served model on each."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping

import app as app_module
from chalicelib.compiler.program import CompiledEngine
from chalicelib.served_model import ServedModel
from chalicelib.settings import PFA_ENGINE
from chalicelib.wiring import LazyRuntime, Runtime

TITUS, COMPILED = "titus", "compiled"
ENGINES = (TITUS, COMPILED)


class EngineRuntimes:
    """The app's runtime per engine, each built from the same settings plus ``PFA_ENGINE=<engine>``.

    The routes of ``app.py`` read the module's ``runtime`` on every request, so :meth:`use` points the one
    Chalice app at the runtime of an engine: a stage's ``before`` (untimed) calls it. :meth:`close` puts the
    app's own runtime back and closes the ones built here."""

    def __init__(self, settings: Mapping[str, str], build: Callable[[Dict[str, str]], Runtime]) -> None:
        self._built: List[Runtime] = []
        self._original = app_module.runtime

        def factory(engine: str) -> Callable[[], Runtime]:
            def make() -> Runtime:
                runtime = build({**settings, PFA_ENGINE: engine})
                self._built.append(runtime)
                return runtime
            return make

        self._runtimes = {engine: LazyRuntime(factory(engine)) for engine in ENGINES}

    def use(self, engine: str) -> Runtime:
        lazy = self._runtimes[engine]
        app_module.runtime = lazy
        return lazy.get()

    def user(self, engine: str) -> Callable[[], Runtime]:
        """``use`` of that engine, as a stage's ``before``."""
        return lambda: self.use(engine)

    def close(self) -> None:
        app_module.runtime = self._original
        for runtime in self._built:
            runtime.close()


def titus_engine(served: ServedModel) -> Any:
    """The raw titus engine of a served model, whose ``action(x, check=False)`` is the baseline."""
    return served.model._engine


def compiled_action(served: ServedModel) -> Callable[[Any], Any]:
    """The compiled instance a model served with PFA_ENGINE=compiled answers with: its ``action(datum)``, which
    mirrors titus's ``engine.action(datum, check=False)``."""
    action = served.model._action
    if served.model.engine.name != COMPILED or not isinstance(getattr(action, "__self__", None), CompiledEngine):
        raise RuntimeError(f"{served.model.name}: not served by the compiled engine ({served.model.engine.reason})")
    return action
