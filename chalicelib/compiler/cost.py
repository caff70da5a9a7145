"""Which expressions take a small, bounded time whatever the data: their loops may check the clock less often.

An expression is *cheap* when it makes no loop, no call of a user or inline function, and only calls library
functions on values of fixed size (numbers, booleans, nulls, enum symbols, records of those): ``m.ln`` of a
double, ``prob.dist.gaussianLL`` of a double and a record, an ``attr`` or ``cell`` path, a ``cast`` to a
primitive type. Whatever it is given, one evaluation is a few microseconds at most.
"""

from typing import Any, Dict, Iterator, Optional

from titus import pfaast as ast
from titus.datatype import (
    AvroBoolean,
    AvroDouble,
    AvroEnum,
    AvroFloat,
    AvroInt,
    AvroLong,
    AvroNull,
    AvroRecord,
    AvroUnion,
)
from titus.fcn import LibFcn

from . import runtime

_SCALARS = (AvroBoolean, AvroDouble, AvroEnum, AvroFloat, AvroInt, AvroLong, AvroNull)

_STRUCTURE = (ast.LiteralNull.Context, ast.LiteralBoolean.Context, ast.LiteralInt.Context, ast.LiteralLong.Context,
              ast.LiteralFloat.Context, ast.LiteralDouble.Context, ast.LiteralString.Context, ast.Ref.Context,
              ast.Doc.Context, ast.AttrGet.Context, ast.CellGet.Context, ast.PoolGet.Context, ast.Let.Context,
              ast.SetVar.Context, ast.Do.Context, ast.If.Context, ast.Cond.Context, ast.Upcast.Context,
              ast.IfNotNull.Context, ast.Error.Context, ast.CastBlock.Context, ast.CastCase.Context)


def is_cheap(context: Any, _known: Optional[Dict[int, bool]] = None) -> bool:
    """Whether ``context`` is cheap; each context is judged once (titus's trees share parts)."""
    known = {} if _known is None else _known
    if id(context) not in known:
        known[id(context)] = False  # while being judged
        known[id(context)] = _judge(context, known)
    return known[id(context)]


def _judge(context: Any, known: Dict[int, bool]) -> bool:
    if isinstance(context, ast.Call.Context):
        if not isinstance(context.fcn, LibFcn) or context.fcn.name.startswith("u."):
            return False
        if not all(_fixed_size(t) for t in [*context.paramTypes, context.retType]):
            return False
    elif isinstance(context, ast.CastBlock.Context):
        if any(runtime.plain_type(case.toType) is None for case, _ in context.cases):
            return False
    elif not isinstance(context, _STRUCTURE):
        return False
    return all(is_cheap(child, known) for child in _children(context))


def _fixed_size(avro_type: Any) -> bool:
    if isinstance(avro_type, _SCALARS):
        return True
    if isinstance(avro_type, AvroUnion):
        return all(_fixed_size(member) for member in avro_type.types)
    if isinstance(avro_type, AvroRecord):
        return all(isinstance(field.avroType, _SCALARS) for field in avro_type.fields)
    return False


def _children(context: Any) -> Iterator[Any]:
    """The contexts inside ``context``'s fields (through lists, tuples, dicts and path steps)."""
    stack = [value for key, value in vars(context).items() if key not in ("calls", "symbols")]
    seen = set()
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, ast.AstContext):
            yield value
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, ast.PathIndex) or type(value).__module__ == ast.__name__:
            stack.extend(vars(value).values())
