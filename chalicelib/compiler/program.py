"""A whole engine: the generated module, and instances of it with their own cells and pools.

The module defines one factory, ``_instance``. Each call of it is one engine instance: its cells,
pools, clock and counters are the factory's locals, shared by the user functions, ``begin``,
``action`` and ``end`` it returns as closures.
"""

import random
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from titus import pfaast as ast
from titus.datatype import AvroMap, jsonDecoder
from titus.genpy import ExecutionState, genericLog
from titus.options import EngineOptions
from titus.pfaast import Method
from titus.reader import jsonToAst
from titus.signature import PFAVersion
from titus.util import DynamicScope
from titus.version import defaultPFAVersion

from . import runtime
from .core import CodeGen, KeepContexts, assigned_names
from .errors import Unsupported
from .library import Namespace
from .source import Writer

FACTORY = "_instance"
# Generated code beyond this is not compiled (titus serves): Python's compile of it would take seconds.
MAX_SOURCE_CHARS = 4_000_000
# What every generated module can use, besides its own constants and helpers.
BUILTINS = {"_perf": time.perf_counter, "_NO_MATCH": runtime.NO_MATCH, "_MemoryError": MemoryError}


class CompiledDocument:
    """A compiled PFA document: its source (``source``) and a factory of independent instances."""

    def __init__(self, engine_config: Any, source: str, namespace: Dict[str, Any], delegated: List[str],
                 options: Any = None) -> None:
        self.config = engine_config
        self.options = options if options is not None else EngineOptions(engine_config.options, None)
        self.source = source
        self.delegated = delegated  # library functions whose titus implementation is called
        code = compile(source, "<compiled PFA>", "exec")
        module: Dict[str, Any] = {"__builtins__": __builtins__, **BUILTINS, **namespace}
        exec(code, module)
        self._factory: Callable[..., Tuple[Callable[[float], None], Callable[[], Any], Callable[[Any], Any],
                                           Callable[[], Any]]] = module[FACTORY]

    def instance(self, index: int = 0, log: Optional[Callable[[List[Any], Optional[str]], None]] = None) \
            -> "CompiledEngine":
        """A new instance (``index`` seeds its random numbers as titus's instance ``index``); ``log``
        receives the document's ``log`` calls (titus's default: printed)."""
        return CompiledEngine(self, index, log or genericLog)


class CompiledEngine:
    """One instance: ``action(datum)`` scores a datum already validated against the input type.

    Errors are titus's exception classes with titus's codes. Not thread-safe when the document
    has cells or pools, like titus's engines.
    """

    def __init__(self, document: CompiledDocument, index: int,
                 log: Callable[[List[Any], Optional[str]], None] = genericLog) -> None:
        config = document.config
        self.config = config
        options = document.options
        # titus's options (the document's, overridden by compile_document's); set_timeout overrides the action's.
        self._timeouts = {"begin": options.timeout_begin, "action": options.timeout_action, "end": options.timeout_end}
        self.timeout_ms: Optional[float] = None
        cell_names = sorted(config.cells)
        pool_names = sorted(config.pools)
        self._cells = [jsonDecoder(config.cells[name].avroType, config.cells[name].initJsonNode)
                       for name in cell_names]
        self._pools = [jsonDecoder(AvroMap(config.pools[name].avroType), config.pools[name].initJsonNode)
                       for name in pool_names]
        self._rollback_cells = [i for i, name in enumerate(cell_names) if config.cells[name].rollback]
        self._rollback_pools = [i for i, name in enumerate(pool_names) if config.pools[name].rollback]
        self._clock = runtime.Clock()
        rand = random.Random() if config.randseed is None else random.Random(config.randseed)
        for _ in range(index):
            rand = random.Random(rand.randint(0, 2**31 - 1))
        self._state = ExecutionState(options, rand, "action", None)
        self._counts = [0, 0]
        self._set_deadline, self._begin, self._action, self._end = document._factory(
            self._cells, self._pools, self._clock, self._state, DynamicScope(None), log,
            config.name, index, config.metadata, config.version, self._counts)

    def set_timeout(self, timeout_ms: Optional[float]) -> None:
        self.timeout_ms = timeout_ms

    def _start(self, routine: str) -> None:
        timeout_ms = self.timeout_ms if routine == "action" and self.timeout_ms is not None \
            else self._timeouts[routine]
        self._clock.start(timeout_ms)
        self._set_deadline(self._clock.deadline)
        self._state.startTime = time.time()
        self._state.timeout = timeout_ms if timeout_ms and timeout_ms > 0 else 0

    def begin(self) -> Any:
        self._start("begin")
        return self._begin()

    def end(self) -> Any:
        self._start("end")
        return self._end()

    def action(self, datum: Any) -> Any:
        self._start("action")
        if not (self._rollback_cells or self._rollback_pools):
            return self._action(datum)
        cells = [self._cells[i] for i in self._rollback_cells]
        pools = [dict(self._pools[i]) for i in self._rollback_pools]
        try:
            return self._action(datum)
        except Exception:
            for i, value in zip(self._rollback_cells, cells, strict=True):
                self._cells[i] = value
            for i, saved in zip(self._rollback_pools, pools, strict=True):
                self._pools[i].clear()
                self._pools[i].update(saved)
            raise


def compile_document(document: Dict[str, Any], options: Optional[Dict[str, Any]] = None) -> CompiledDocument:
    """Compile a PFA document of method ``map``; raises :class:`Unsupported` with the reason.

    The document is type-checked by titus here as well; one titus rejects is not compiled either.
    """
    engine_config = jsonToAst(document)
    if engine_config.method != Method.MAP:
        raise Unsupported("only documents of method 'map' are compiled")
    engine_options = EngineOptions(engine_config.options, options)
    context, _ = engine_config.walk(KeepContexts(), ast.SymbolTable.blank(), ast.FunctionTable.blank(),
                                    engine_options, PFAVersion.fromString(defaultPFAVersion))
    namespace = Namespace()
    cell_index = {name: i for i, name in enumerate(sorted(engine_config.cells))}
    pool_index = {name: i for i, name in enumerate(sorted(engine_config.pools))}
    user_functions = {name: f"f{i}" for i, (name, _) in enumerate(context.fcns)}
    gen = CodeGen(namespace, assigned_names(document), cell_index, pool_index, user_functions)
    out = Writer(gen.names)
    with out.block(f"def {FACTORY}(_cells, _pools, _clock, _state, _scope, _log, _name, _index, _metadata, "
                   "_version, _counts):"):
        out.line("_deadline = _clock.deadline")
        out.line("_tick = 1")
        with out.block("def _start(deadline):"):
            out.line("nonlocal _deadline")
            out.line("_deadline = deadline")
        body = out.collect()
        for name, function in context.fcns:
            gen.function_body(user_functions[name], function.paramNames, function.exprs, body)
        _routine(gen, body, "_begin", context.begin[0], ("name", "instance", "metadata", "version"))
        _routine(gen, body, "_action", context.action[0], ("input", "name", "instance", "metadata", "version",
                                                           "actionsStarted", "actionsFinished"))
        _routine(gen, body, "_end", context.end[0], ("name", "instance", "metadata", "version",
                                                     "actionsStarted", "actionsFinished"))
        out.extend(gen.prelude)
        out.extend(body)
        out.line("return _start, _begin, _action, _end")
    source = out.source()
    if len(source) > MAX_SOURCE_CHARS:
        raise Unsupported(f"its generated code would be over {MAX_SOURCE_CHARS} characters")
    return CompiledDocument(engine_config, source, namespace.values, sorted(gen.delegated), engine_options)


_SYMBOL_VALUES = {"name": "_name", "instance": "_index", "metadata": "_metadata", "version": "_version",
                  "actionsStarted": "_counts[0]", "actionsFinished": "_counts[1]"}


def _routine(gen: CodeGen, out: Writer, name: str, body: List[Any], symbols: Tuple[str, ...]) -> None:
    from .core import Scope

    gen.scope = Scope(gen.scope)
    try:
        is_action = name == "_action"
        params = [gen.declare("input")] if is_action else []
        with out.block(f"def {name}({', '.join(params)}):"):
            if is_action:
                out.line("_counts[0] += 1")
            for symbol in symbols:
                if symbol != "input":
                    out.line(f"{gen.declare(symbol)} = {_SYMBOL_VALUES[symbol]}")
            value = gen.sequence(body, out, bind_last=is_action) if body else "None"
            if is_action:
                out.line("_counts[1] += 1")
                out.line(f"return {value}")
            else:  # titus's begin and end answer nothing
                gen.statement(value, out)
                out.line("return None")
    finally:
        assert gen.scope.parent is not None
        gen.scope = gen.scope.parent
