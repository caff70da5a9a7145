"""PFA's core forms as Python statements: the visitor over titus's type-checked contexts.

titus walks a document with a task that is handed each form's context after its parts; our task
(:class:`KeepContexts`) returns the context itself, so the result is a typed tree. :class:`CodeGen`
writes it out: every PFA expression becomes a Python expression, with the statements it needs
(``if``, loops, temporaries) written before it. Variables are plain locals; library calls are
whatever :mod:`chalicelib.compiler.library` emits for the concrete types, else a direct call of
titus's own implementation.
"""

import json
import math
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from titus import pfaast as ast
from titus.datatype import AvroMap, AvroRecord, AvroUnion, jsonDecoder
from titus.fcn import LibFcn

from . import runtime
from .cost import is_cheap
from .errors import Unsupported
from .library import Namespace, Site, lookup, wants_atoms, writes_statements
from .source import Names, Writer

# Names titus defines in the action's scope (and begin's and end's, where they exist).
ENGINE_SYMBOLS = ("input", "name", "instance", "metadata", "actionsStarted", "actionsFinished", "version")


class KeepContexts(ast.Task):
    """A titus task that keeps each form's type-checked context as the result of walking it."""

    def __call__(self, context: Any, engineOptions: Any = None) -> Any:
        return context


class Scope:
    def __init__(self, parent: Optional["Scope"]) -> None:
        self.parent = parent
        self.depth: int = 0 if parent is None else parent.depth + 1
        self.names: Dict[str, str] = {}

    def find(self, name: str) -> Optional[str]:
        found = self.find_scope(name)
        return None if found is None else found.names[name]

    def find_scope(self, name: str) -> Optional["Scope"]:
        scope: Optional[Scope] = self
        while scope is not None:
            if name in scope.names:
                return scope
            scope = scope.parent
        return None


# How many items of a loop whose body is cheap (see .cost) run between two looks at the clock.
CHEAP_STRIDE = 16

# Library functions whose later arguments titus evaluates only when the first does not decide.
LAZY_FROM = {"&&": 1, "||": 1, "&&&": 1, "|||": 1}


class CodeGen:
    """Writes the Python of one engine's functions; see :func:`chalicelib.compiler.program`."""

    def __init__(self, namespace: Namespace, assigned: Set[str], cell_index: Dict[str, int],
                 pool_index: Dict[str, int], user_functions: Dict[str, str]) -> None:
        self.namespace = namespace
        self.names = Names()
        self.assigned = assigned  # PFA names that some 'set' or 'for' step assigns
        self.cell_index = cell_index
        self.pool_index = pool_index
        self.user_functions = user_functions  # "u.name" -> generated name
        self.stable: Set[str] = set()  # generated names that are assigned once
        self.scope = Scope(None)
        self.delegated: Set[str] = set()
        # Inline functions being written: [depth of the function's own scope, whether it uses outer variables].
        self.functions: List[List[Any]] = []
        # Inline functions that use no variable of the function around them, defined once per instance.
        self.prelude = Writer(self.names, 1)
        self._visit: Dict[type, Callable[[Any, Writer], str]] = {
            ast.LiteralNull.Context: lambda c, w: "None",
            ast.LiteralBoolean.Context: lambda c, w: "True" if c.value else "False",
            ast.LiteralInt.Context: lambda c, w: self.number(int(c.value)),
            ast.LiteralLong.Context: lambda c, w: self.number(int(c.value)),
            ast.LiteralFloat.Context: lambda c, w: self.number(float(c.value)),
            ast.LiteralDouble.Context: lambda c, w: self.number(float(c.value)),
            ast.LiteralString.Context: lambda c, w: self.const(c.value),
            ast.LiteralBase64.Context: lambda c, w: self.const(c.value),
            ast.Literal.Context: lambda c, w: self.const(jsonDecoder(c.retType, json.loads(c.value))),
            ast.Ref.Context: self.ref,
            ast.NewObject.Context: self.new_object,
            ast.NewArray.Context: self.new_array,
            ast.Do.Context: self.do,
            ast.Let.Context: self.let,
            ast.SetVar.Context: self.set_var,
            ast.AttrGet.Context: self.attr_get,
            ast.AttrTo.Context: self.attr_to,
            ast.CellGet.Context: self.cell_get,
            ast.CellTo.Context: self.cell_to,
            ast.PoolGet.Context: self.pool_get,
            ast.PoolTo.Context: self.pool_to,
            ast.PoolDel.Context: self.pool_del,
            ast.If.Context: self.if_,
            ast.Cond.Context: self.cond,
            ast.While.Context: self.while_,
            ast.DoUntil.Context: self.do_until,
            ast.For.Context: self.for_,
            ast.Foreach.Context: self.foreach,
            ast.Forkeyval.Context: self.forkeyval,
            ast.CastBlock.Context: self.cast,
            ast.Upcast.Context: self.upcast,
            ast.IfNotNull.Context: self.if_not_null,
            ast.Doc.Context: lambda c, w: "None",
            ast.Error.Context: self.error,
            ast.Try.Context: self.try_,
            ast.Log.Context: self.log,
            ast.Call.Context: self.call,
            ast.CallUserFcn.Context: self.call_user_dynamic,
            ast.FcnDef.Context: self.inline_function,
            ast.FcnRef.Context: self.function_ref,
            ast.FcnRefFill.Context: self.function_ref_fill,
        }

    # ---------------------------------------------------------------- helpers

    def const(self, value: Any) -> str:
        name = self.namespace.bind(value, "k")
        self.stable.add(name)
        return name

    def helper(self, value: Any) -> str:
        return self.namespace.bind(value, "h")

    def number(self, value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return self.const(value)
        if isinstance(value, float) and value == 0.0 and math.copysign(1.0, value) < 0:
            return "(-0.0)"
        text = repr(value)
        return text if not text.startswith("-") else f"({text})"

    def is_stable(self, code: str) -> bool:
        if code in ("None", "True", "False") or code in self.stable:
            return True
        try:
            float(code.strip("()"))
            return True
        except ValueError:
            return False

    def expr(self, context: Any, out: Writer) -> str:
        visit = self._visit.get(type(context))
        if visit is None:
            raise Unsupported(f"the form {type(context).__qualname__.split('.')[0]} is not compiled")
        return visit(context, out)

    def exprs(self, contexts: Sequence[Any], out: Writer) -> List[str]:
        """Each context's expression, evaluated once each and in order, whatever statements they need."""
        codes: List[str] = []
        for context in contexts:
            part = out.collect()
            code = self.expr(context, part)
            if part.lines:
                for index, earlier in enumerate(codes):
                    if not self.is_stable(earlier):
                        codes[index] = self.bind(earlier, out)
                out.extend(part)
            codes.append(code)
        return codes

    def inline_map(self, array: Any, function: Any, out: Writer) -> str:
        """``a.map`` of an inline function as a loop: the function's body runs in place, once per item."""
        items = self.expr(array, out)
        result, append = out.temp(), out.temp()
        out.line(f"{result} = []")
        out.line(f"{append} = {result}.append")
        self.scope = Scope(self.scope)
        try:
            item = self.declare(function.paramNames[0])
            countdown = self.countdown(function.exprs, out)
            with out.block(f"for {item} in {items}:"):
                self.look_at_clock(countdown, out)
                out.line(f"{append}({self.sequence(function.exprs, out, bind_last=False)})")
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent
        self.stable.add(result)
        return result

    def inline_simple_walk(self, context: Any, out: Writer) -> str:
        """``model.tree.simpleWalk`` with an inline test, as titus walks it, the test's body in the loop."""
        datum, node = [code if self.is_stable(code) else self.bind(code, out)
                       for code in self.exprs(context.args[:2], out)]
        test = context.args[2]
        tree_name = self.const(str(json.loads(repr(context.paramTypes[1]))["name"]))
        current, union, tag, result = out.temp(), out.temp(), out.temp(), out.temp()
        out.line(f"{current} = {node}")
        countdown = self.countdown(test.exprs, out)
        self.scope = Scope(self.scope)
        try:
            datum_name, node_name = (self.declare(name) for name in test.paramNames)
            with out.block("while True:"):
                self.look_at_clock(countdown, out)
                out.line(f"{datum_name} = {datum}")
                out.line(f"{node_name} = {current}")
                passed = self.sequence(test.exprs, out, bind_last=False)
                out.line(f"{union} = {current}[{self.const('pass')}] if {passed} else {current}[{self.const('fail')}]")
                with out.block(f"if {union} is None:"):
                    out.line(f"{result} = None")
                    out.line("break")
                out.line(f"({tag}, {current}), = {union}.items()")
                with out.block(f"if {tag} != {tree_name}:"):
                    out.line(f"{result} = {current}")
                    out.line("break")
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent
        self.stable.add(result)
        return result

    def lazy_exprs(self, contexts: Sequence[Any], first_lazy: int, out: Writer) -> List[str]:
        """Like :meth:`exprs`, but an argument from ``first_lazy`` on that needs statements becomes a call
        of a local function, so it is evaluated only where the emitter places it (``and``, ``or``)."""
        codes = self.exprs(contexts[:first_lazy], out)
        for context in contexts[first_lazy:]:
            part = Writer(out.names, out.indent + 1)
            code = self.expr(context, part)
            if not part.lines:
                codes.append(code)
                continue
            name = self.names.new("g")
            out.line(f"def {name}():")  # titus seals the scope around an argument: it assigns nothing outside
            out.extend(part)
            out.line(f"    return {code}")
            codes.append(f"{name}()")
        return codes

    def bind(self, code: str, out: Writer) -> str:
        name = out.temp()
        out.line(f"{name} = {code}")
        self.stable.add(name)
        return name

    def statement(self, code: str, out: Writer) -> None:
        """An expression whose value is not used: written only if evaluating it can do or raise anything."""
        if not (self.is_stable(code) or code.isidentifier()):
            out.line(code)

    def sequence(self, contexts: Sequence[Any], out: Writer, bind_last: bool = True) -> str:
        """A block's expressions in a new scope; the value is the last one's (bound to a temporary, unless
        ``bind_last`` is false and the caller uses the expression at once, before anything else runs)."""
        self.scope = Scope(self.scope)
        try:
            last = "None"
            for index, context in enumerate(contexts):
                code = self.expr(context, out)
                if index < len(contexts) - 1:
                    self.statement(code, out)
                else:
                    last = code
            if bind_last and not self.is_stable(last) and contexts:
                last = self.bind(last, out)
            return last
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent

    def declare(self, name: str) -> str:
        python_name = self.names.new("v")
        self.scope.names[name] = python_name
        if name not in self.assigned:
            self.stable.add(python_name)
        return python_name

    def check_time(self, out: Writer) -> None:
        out.line("if _perf() > _deadline: _clock.expired()")

    def countdown(self, body: Sequence[Any], out: Writer) -> Optional[str]:
        """A loop's countdown to its next look at the clock, if its body takes bounded time (see .cost)."""
        if not all(is_cheap(expr) for expr in body):
            return None
        countdown = out.temp()
        out.line(f"{countdown} = 1")
        return countdown

    def look_at_clock(self, countdown: Optional[str], out: Writer) -> None:
        """The clock, every time; or every CHEAP_STRIDE times, counted down in ``countdown``."""
        if countdown is None:
            self.check_time(out)
            return
        out.line(f"{countdown} -= 1")
        with out.block(f"if not {countdown}:"):
            out.line(f"{countdown} = {CHEAP_STRIDE}")
            self.check_time(out)

    # ---------------------------------------------------------------- values and variables

    def ref(self, context: Any, out: Writer) -> str:
        scope = self.scope.find_scope(context.name)
        if scope is None:
            raise Unsupported("a variable is referred to outside its scope")
        for function in self.functions:
            if scope.depth < function[0]:
                function[1] = True
        return scope.names[context.name]

    def new_object(self, context: Any, out: Writer) -> str:
        keys = list(context.fields.keys())
        codes = self.exprs([context.fields[key] for key in keys], out)
        return "{" + ", ".join(f"{self.const(key)}: {code}" for key, code in zip(keys, codes, strict=True)) + "}"

    def new_array(self, context: Any, out: Writer) -> str:
        return "[" + ", ".join(self.exprs(context.items, out)) + "]"

    def do(self, context: Any, out: Writer) -> str:
        return self.sequence(context.exprs, out)

    def let(self, context: Any, out: Writer) -> str:
        codes = self.exprs([expr for _, _, expr in context.nameTypeExpr], out)
        for (name, _, _), code in zip(context.nameTypeExpr, codes, strict=True):
            out.line(f"{self.declare(name)} = {code}")
        return "None"

    def set_var(self, context: Any, out: Writer) -> str:
        codes = self.exprs([expr for _, _, expr in context.nameTypeExpr], out)
        scopes = [self.scope.find_scope(name) for name, _, _ in context.nameTypeExpr]
        if any(scope is None for scope in scopes):
            raise Unsupported("a variable is set outside its scope")
        targets = [self.scope.find(name) for name, _, _ in context.nameTypeExpr]
        if len({id(scope) for scope in scopes}) > 1:
            # titus's DynamicScope.set hands every name to the enclosing scope once one is not its own, and
            # fails where a name is not found: setting variables of different blocks at once is its error.
            out.line(f"{self.helper(runtime.raise_scope_error)}()")
            return "None"
        if len(codes) > 1:
            codes = [code if self.is_stable(code) else self.bind(code, out) for code in codes]
        for target, code in zip(targets, codes, strict=True):
            out.line(f"{target} = {code}")
        return "None"

    # ---------------------------------------------------------------- paths, cells, pools

    def path_parts(self, path: Sequence[Any]) -> List[Tuple[str, Any]]:
        parts: List[Tuple[str, Any]] = []
        for step in path:
            if isinstance(step, ast.ArrayIndex):
                parts.append(("array", step.i))
            elif isinstance(step, ast.MapIndex):
                parts.append(("map", step.k))
            elif isinstance(step, ast.RecordIndex):
                parts.append(("record", step.f))
            else:
                raise Unsupported("a path step of an unknown kind")
        return parts

    def walk_path(self, base: str, path: Sequence[Any], array_code: int, map_code: int, fcn_name: str,
                  out: Writer, leading: Sequence[Any] = ()) -> str:
        parts = self.path_parts(path)
        index_contexts = [part for kind, part in parts if kind != "record"]
        codes = self.exprs([*leading, *index_contexts], out)
        leading_codes, index_codes = codes[:len(leading)], iter(codes[len(leading):])
        if leading_codes:
            base = leading_codes[0]
        item = self.helper(runtime.item)
        for kind, part in parts:
            if kind == "record":
                base = f"{base}[{self.const(part)}]"
                continue
            key = next(index_codes)
            if not self.is_stable(base):
                base = self.bind(base, out)
            if not self.is_stable(key):
                key = self.bind(key, out)
            missing = f"{item}({{0}}, {key}, {array_code}, {map_code}, {self.const(fcn_name)})"
            if kind == "map":
                base = f"({base}[{key}] if {key} in {base} else {missing.format(base)})"
            else:
                base = f"({base}[{key}] if 0 <= {key} < len({base}) else {missing.format(base)})"
        return base

    def path_list(self, path: Sequence[Any], out: Writer, extra: Sequence[Any] = (),
                  bound: bool = False) -> Tuple[str, List[str]]:
        """The path as a Python list expression (record fields as constants), and ``extra``'s codes after it;
        ``bound``: all of them evaluated now, into temporaries (titus evaluates them before it reads the cell)."""
        parts = self.path_parts(path)
        index_contexts = [part for kind, part in parts if kind != "record"]
        codes = self.exprs([*index_contexts, *extra], out)
        if bound:
            codes = [code if self.is_stable(code) else self.bind(code, out) for code in codes]
        index_codes = iter(codes[:len(index_contexts)])
        items = [self.const(part) if kind == "record" else next(index_codes) for kind, part in parts]
        return "[" + ", ".join(items) + "]", codes[len(index_contexts):]

    def is_function(self, context: Any) -> bool:
        return isinstance(context, (ast.FcnDef.Context, ast.FcnRef.Context, ast.FcnRefFill.Context))

    def attr_get(self, context: Any, out: Writer) -> str:
        return self.walk_path("", context.path, 2000, 2001, "attr", out, leading=[context.expr])

    def attr_to(self, context: Any, out: Writer) -> str:
        base = self.exprs([context.expr], out)[0]
        if not self.is_stable(base):
            base = self.bind(base, out)
        path, (to,) = self.path_list(context.path, out, extra=[context.to])
        return (f"{self.helper(runtime.update)}({base}, {path}, {to}, {self.is_function(context.to)}, "
                f"2002, 2003, {self.const('attr-to')})")

    def cell_get(self, context: Any, out: Writer) -> str:
        base = f"_cells[{self.cell_index[context.cell]}]"
        if any(not isinstance(step, ast.RecordIndex) for step in context.path):
            base = self.bind(base, out)  # titus reads the cell before it evaluates the path
        return self.walk_path(base, context.path, 2004, 2005, "cell", out)

    def cell_to(self, context: Any, out: Writer) -> str:
        cell = f"_cells[{self.cell_index[context.cell]}]"
        path, (to,) = self.path_list(context.path, out, extra=[context.to], bound=True)
        if not context.path:
            value = f"{to}({cell})" if self.is_function(context.to) else to
        else:
            value = (f"{self.helper(runtime.update)}({cell}, {path}, {to}, {self.is_function(context.to)}, "
                     f"2006, 2007, {self.const('cell-to')})")
        result = self.bind(value, out)
        out.line(f"{cell} = {result}")
        return result

    def pool_get(self, context: Any, out: Writer) -> str:
        base = f"_pools[{self.pool_index[context.pool]}]"
        return self.walk_path(base, context.path, 2008, 2009, "pool", out)

    def pool_to(self, context: Any, out: Writer) -> str:
        pool = f"_pools[{self.pool_index[context.pool]}]"
        path, (to, init) = self.path_list(context.path, out, extra=[context.to, context.init])
        return f"{self.helper(runtime.pool_update)}({pool}, {path}, {to}, {self.is_function(context.to)}, {init})"

    def pool_del(self, context: Any, out: Writer) -> str:
        key = self.exprs([context.dell], out)[0]
        return f"{self.helper(runtime.pool_delete)}(_pools[{self.pool_index[context.pool]}], {key})"

    # ---------------------------------------------------------------- control flow

    def branch(self, contexts: Sequence[Any], result: Optional[str], out: Writer) -> None:
        value = self.sequence(contexts, out, bind_last=False)
        if result is not None:
            out.line(f"{result} = {value}")
        else:
            self.statement(value, out)

    def if_(self, context: Any, out: Writer) -> str:
        predicate = self.expr(context.predicate, out)
        result = out.temp() if context.elseClause is not None else None
        with out.block(f"if {predicate}:"):
            self.branch(context.thenClause, result, out)
        if context.elseClause is not None:
            with out.block("else:"):
                self.branch(context.elseClause, result, out)
            assert result is not None
            self.stable.add(result)
            return result
        return "None"

    def cond(self, context: Any, out: Writer) -> str:
        blocks = list(context.walkBlocks)
        result = out.temp() if context.complete else None
        conditional, otherwise = (blocks[:-1], blocks[-1]) if context.complete else (blocks, None)
        opened = 0
        for index, block in enumerate(conditional):
            # A later predicate that needs statements nests under the 'else' of the one before.
            part = Writer(out.names, out.indent + (1 if index > 0 else 0))
            predicate = self.expr(block.pred, part)
            if index == 0:
                out.extend(part)
                header = f"if {predicate}:"
            elif part.lines:
                out.line("else:")
                out.indent += 1
                opened += 1
                out.extend(part)
                header = f"if {predicate}:"
            else:
                header = f"elif {predicate}:"
            with out.block(header):
                self.branch(block.exprs, result, out)
        if otherwise is not None:
            with out.block("else:"):
                self.branch(otherwise.exprs, result, out)
        out.indent -= opened
        if result is not None:
            self.stable.add(result)
            return result
        return "None"

    def loop_predicate(self, context: Any, out: Writer) -> str:
        self.scope = Scope(self.scope)
        try:
            return self.expr(context, out)
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent

    def while_(self, context: Any, out: Writer) -> str:
        with out.block("while True:"):
            predicate = self.loop_predicate(context.predicate, out)
            out.line(f"if not {predicate}: break")
            self.check_time(out)
            self.statement(self.sequence(context.loopBody, out, bind_last=False), out)
        return "None"

    def do_until(self, context: Any, out: Writer) -> str:
        # The 'until' predicate sees what the body declares (titus evaluates it in the body's scope).
        with out.block("while True:"):
            self.check_time(out)
            self.scope = Scope(self.scope)
            try:
                for body in context.loopBody:
                    self.statement(self.expr(body, out), out)
                predicate = self.loop_predicate(context.predicate, out)
            finally:
                assert self.scope.parent is not None
                self.scope = self.scope.parent
            out.line(f"if {predicate}: break")
        return "None"

    def for_(self, context: Any, out: Writer) -> str:
        self.scope = Scope(self.scope)
        try:
            codes = self.exprs([expr for _, _, expr in context.initNameTypeExpr], out)
            for (name, _, _), code in zip(context.initNameTypeExpr, codes, strict=True):
                out.line(f"{self.declare(name)} = {code}")
            with out.block("while True:"):
                predicate = self.loop_predicate(context.predicate, out)
                out.line(f"if not {predicate}: break")
                self.check_time(out)
                self.statement(self.sequence(context.loopBody, out, bind_last=False), out)
                steps = self.exprs([expr for _, _, expr in context.stepNameTypeExpr], out)
                steps = [code if self.is_stable(code) else self.bind(code, out) for code in steps]
                for (name, _, _), code in zip(context.stepNameTypeExpr, steps, strict=True):
                    out.line(f"{self.scope.find(name)} = {code}")
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent
        return "None"

    def foreach(self, context: Any, out: Writer) -> str:
        array = self.expr(context.objExpr, out)
        self.scope = Scope(self.scope)
        try:
            item = self.names.new("v")
            self.scope.names[context.name] = item
            with out.block(f"for {item} in {array}:"):
                self.check_time(out)
                self.statement(self.sequence(context.loopBody, out, bind_last=False), out)
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent
        return "None"

    def forkeyval(self, context: Any, out: Writer) -> str:
        mapping = self.expr(context.objExpr, out)
        self.scope = Scope(self.scope)
        try:
            key, value = self.names.new("v"), self.names.new("v")
            self.scope.names[context.forkey] = key
            self.scope.names[context.forval] = value
            with out.block(f"for {key}, {value} in {mapping}.items():"):
                self.check_time(out)
                self.statement(self.sequence(context.loopBody, out, bind_last=False), out)
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent
        return "None"

    # ---------------------------------------------------------------- types

    def cast(self, context: Any, out: Writer) -> str:
        value = self.expr(context.expr, out)
        if not self.is_stable(value):
            value = self.bind(value, out)
        from_union = isinstance(context.exprType, AvroUnion)
        if from_union:
            # titus's cast reads a one-entry dict as a tagged member: its tag picks the cases it may match.
            tag, inner = out.temp(), out.temp()
            # Where no member is a record or a map, any dict is a tagged member (titus tags with one key).
            only_tagged = not any(isinstance(member, (AvroRecord, AvroMap)) for member in context.exprType.types)
            test = f"type({value}) is dict" if only_tagged else f"type({value}) is dict and len({value}) == 1"
            with out.block(f"if {test}:"):
                out.line(f"for {tag} in {value}: {inner} = {value}[{tag}]")
            with out.block("else:"):
                out.line(f"{tag} = None")
                out.line(f"{inner} = {value}")
        result = None if context.partial else out.temp()
        opened = 0
        for index, (case, _) in enumerate(context.cases):
            decoder = self.helper(runtime.cast_decoder(case.toType))
            decoded = out.temp()
            if index > 0:
                out.line("else:")
                out.indent += 1
                opened += 1
            if from_union:
                accepted = runtime.accepted_tags(case.toType)
                matches = f"{tag} == {self.const(next(iter(accepted)))}" if len(accepted) == 1 else \
                    f"{tag} in {self.const(accepted)}"
                out.line(f"{decoded} = {self.decode(case.toType, inner, decoder)} if {tag} is None or {matches} "
                         f"else _NO_MATCH")
            else:
                out.line(f"{decoded} = {self.decode(case.toType, value, decoder)}")
            with out.block(f"if {decoded} is not _NO_MATCH:"):
                self.scope = Scope(self.scope)
                try:
                    self.scope.names[case.name] = decoded
                    if case.name not in self.assigned:
                        self.stable.add(decoded)
                    self.branch(case.clause, result, out)
                finally:
                    assert self.scope.parent is not None
                    self.scope = self.scope.parent
        if result is not None:
            out.line("else:")
            out.line(f"    {result} = None")
        out.indent -= opened
        if result is not None:
            self.stable.add(result)
            return result
        return "None"

    def decode(self, to_type: Any, value: str, decoder: str) -> str:
        """``decoder(value)`` (a case's decoder for a value that is not a tagged member), without calling it
        where the answer is plain: a value of exactly the case's Python type is itself; another value can
        only match a number case (``float("0.5")``, ``int(True)``)."""
        fast = runtime.plain_type(to_type)
        if fast is None:
            return f"{decoder}({value})"
        kind, converts = fast
        if kind == "null":
            hit = f"{value} is None"
        elif kind == "boolean":
            hit = f"({value} is True or {value} is False)"
        else:
            hit = f"type({value}) is {kind}"
        miss = f"{decoder}({value})" if converts else "_NO_MATCH"
        return f"({value} if {hit} else {miss})"

    def upcast(self, context: Any, out: Writer) -> str:
        code = self.expr(context.expr, out)
        if isinstance(context.retType, AvroUnion) and not isinstance(context.originalType, AvroUnion):
            for member in context.retType.types:
                if member.accepts(context.originalType):
                    return f"{self.helper(runtime.wrap_union)}({code}, {self.const(member.name)})"
            raise Unsupported("an upcast to a union none of whose types accepts the value")
        return code

    def if_not_null(self, context: Any, out: Writer) -> str:
        codes = self.exprs([expr for _, _, expr in context.symbolTypeResult], out)
        codes = [code if self.is_stable(code) else self.bind(code, out) for code in codes]
        result = out.temp() if context.elseClause is not None else None
        test = " and ".join(f"{code} is not None" for code in codes) or "True"
        with out.block(f"if {test}:"):
            self.scope = Scope(self.scope)
            try:
                untag = self.helper(runtime.untag)
                for (name, avro_type, _), code in zip(context.symbolTypeResult, codes, strict=True):
                    tag = self.const(runtime.expected_tag(avro_type))
                    out.line(f"{self.declare(name)} = {untag}({code}, {tag})")
                self.branch(context.thenClause, result, out)
            finally:
                assert self.scope.parent is not None
                self.scope = self.scope.parent
        if context.elseClause is not None:
            with out.block("else:"):
                self.branch(context.elseClause, result, out)
            assert result is not None
            self.stable.add(result)
            return result
        return "None"

    # ---------------------------------------------------------------- errors and logs

    def error(self, context: Any, out: Writer) -> str:
        code = "None" if context.code is None else self.number(int(context.code))
        out.line(f"{self.helper(runtime.raise_user_error)}({self.const(context.message)}, {code})")
        return "None"

    def try_(self, context: Any, out: Writer) -> str:
        result = out.temp()
        error = out.temp()
        with out.block("try:"):
            self.branch(context.exprs, result, out)
        with out.block("except _MemoryError:"):
            out.line("raise")
        with out.block(f"except Exception as {error}:"):
            filter_ = "None" if context.filter is None else self.const(list(context.filter))
            out.line(f"if not {self.helper(runtime.absorbed)}({error}, {filter_}): raise")
            out.line(f"{result} = None")
        self.stable.add(result)
        return result

    def log(self, context: Any, out: Writer) -> str:
        codes = self.exprs([expr for _, expr in context.exprTypes], out)
        namespace = "None" if context.namespace is None else self.const(context.namespace)
        return f"_log([{', '.join(codes)}], {namespace})"

    # ---------------------------------------------------------------- calls and functions

    def call(self, context: Any, out: Writer) -> str:
        name = context.fcn.name
        if name == "a.map" and isinstance(context.args[1], ast.FcnDef.Context) and \
                len(context.args[1].paramNames) == 1:
            return self.inline_map(context.args[0], context.args[1], out)
        if name == "model.tree.simpleWalk" and isinstance(context.args[2], ast.FcnDef.Context):
            return self.inline_simple_walk(context, out)
        if name in LAZY_FROM:
            args = self.lazy_exprs(context.args, LAZY_FROM[name], out)
        else:
            args = self.exprs(context.args, out)
        if name in self.user_functions:
            return f"{self.user_functions[name]}({', '.join(args)})"
        if name is None or not isinstance(context.fcn, LibFcn):
            raise Unsupported("a call of something that is neither a library nor a user function")
        emitter = lookup(name)
        if emitter is not None:
            if wants_atoms(name):
                args = [arg if self.is_stable(arg) else self.bind(arg, out) for arg in args]
            site = Site(name, list(context.paramTypes), context.retType, args, context.pos, self.namespace,
                        writer=out if writes_statements(name) else None)
            code = emitter(site)
            if code is not None:
                return code
        return self.delegate(context.fcn, list(context.paramTypes), context.retType, args, context.args)

    def delegate(self, fcn: Any, param_types: List[Any], ret_type: Any, args: List[str],
                 arg_contexts: Sequence[Any]) -> str:
        """A call of titus's own implementation, for a function or a signature not written natively."""
        if type(fcn).genpy is not LibFcn.genpy:
            raise Unsupported(f"{fcn.name} is written inline by titus and has no native version here")
        self.delegated.add(fcn.name)
        types = self.const([json.loads(repr(t)) for t in [*param_types, ret_type]])
        wrapped = []
        for code, context, param_type in zip(args, arg_contexts, param_types, strict=True):
            if self.is_function(context):
                arity = len(param_type.params)
                wrapped.append(f"{self.helper(runtime.titus_callable)}({code}, {arity})")
            else:
                wrapped.append(code)
        return f"{self.helper(fcn)}(_state, _scope, None, {types}{''.join(', ' + a for a in wrapped)})"

    def call_user_dynamic(self, context: Any, out: Writer) -> str:
        codes = self.exprs([context.name, *context.args], out)
        table = "{" + ", ".join(f"{self.const(symbol)}: {self.user_functions['u.' + symbol]}"
                                for symbol in context.nameToFcn) + "}"
        return f"{table}[{codes[0]}]({', '.join(codes[1:])})"

    def function_body(self, header_name: str, param_names: Sequence[str], body: Sequence[Any], out: Writer,
                      cheap: bool = False) -> None:
        """``def header_name(params): ...`` for a PFA function's parameters and body (``cheap``: of bounded time,
        see :mod:`.cost`)."""
        self.scope = Scope(self.scope)
        try:
            params = [self.declare(name) for name in param_names]
            with out.block(f"def {header_name}({', '.join(params)}):"):
                if cheap:  # bounded work per call: the instance's one countdown, over all such functions
                    out.line("nonlocal _tick")
                self.look_at_clock("_tick" if cheap else None, out)
                value = self.sequence(body, out, bind_last=False)
                out.line(f"return {value}")
        finally:
            assert self.scope.parent is not None
            self.scope = self.scope.parent

    def inline_function(self, context: Any, out: Writer) -> str:
        """A nested ``def``; one that uses no variable from around it is defined once, with the instance."""
        name = self.names.new("g")
        written = Writer(self.names, 1)
        record = [self.scope.depth + 1, False]
        self.functions.append(record)
        try:
            self.function_body(name, context.paramNames, context.exprs, written,
                               cheap=all(is_cheap(expr) for expr in context.exprs))
        finally:
            self.functions.pop()
        if record[1]:
            shift = "    " * (out.indent - 1)
            out.lines.extend(shift + line for line in written.lines)
        else:
            self.prelude.extend(written)
        self.stable.add(name)
        return name

    def function_ref(self, context: Any, out: Writer) -> str:
        name = context.fcn.name
        if name in self.user_functions:
            return self.user_functions[name]
        return self.library_function_value(context.fcn, context.fcnType, out)

    def library_function_value(self, fcn: Any, fcn_type: Any, out: Writer) -> str:
        """A library function passed as a value: a local function calling it for the given parameter types."""
        params = [self.names.new("a") for _ in fcn_type.params]
        emitter = lookup(fcn.name)
        code = None
        if emitter is not None:
            code = emitter(Site(fcn.name, list(fcn_type.params), fcn_type.ret, params, None, self.namespace))
        if code is None:
            raise Unsupported(f"{fcn.name} is passed as a function and has no native version here")
        name = self.names.new("g")
        with out.block(f"def {name}({', '.join(params)}):"):
            out.line(f"return {code}")
        self.stable.add(name)
        return name

    def function_ref_fill(self, context: Any, out: Writer) -> str:
        """A partly applied function: titus evaluates the filled arguments at each call, in parameter order."""
        filled = dict(context.argTypeResult)
        target = context.fcn.name
        name = self.names.new("g")
        params = [self.names.new("a") for param in context.originalParamNames if param not in filled]
        with out.block(f"def {name}({', '.join(params)}):"):
            free = iter(params)
            args: List[str] = []
            for param in context.originalParamNames:
                args.append(next(free) if param not in filled else "")
            fill_codes = iter(self.exprs([filled[param][1] for param in context.originalParamNames if param in filled],
                                         out))
            args = [arg or next(fill_codes) for arg in args]
            if target in self.user_functions:
                call = f"{self.user_functions[target]}({', '.join(args)})"
            else:
                unfilled = iter(context.fcnType.params)
                full_types = [filled[param][0] if param in filled else next(unfilled)
                              for param in context.originalParamNames]
                emitter = lookup(target)
                code = None
                if emitter is not None:
                    code = emitter(Site(target, full_types, context.fcnType.ret, args, None, self.namespace))
                if code is None:
                    raise Unsupported(f"{target} is partly applied (fill) and has no native version here")
                call = code
            out.line(f"return {call}")
        self.stable.add(name)
        return name

def assigned_names(document: Any) -> Set[str]:
    """Every variable name some ``set`` or ``for`` step of the document assigns."""
    found: Set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("set", "step"):
                target = node.get(key)
                if isinstance(target, dict):
                    found.update(target.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found
