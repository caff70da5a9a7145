"""``enum.*``: enum symbols, ported from titus ``lib/enum.py`` with its exact semantics.

An enum value is its symbol (a ``str``); a string that is not a symbol raises titus's
``AvroException`` with its message.
"""

import json  # noqa: I001  (titus is imported after .types, which applies the titus shims first)
from typing import Any, Dict

from .registry import Site, native
from . import types  # noqa: F401  (the titus shims)

from titus.errors import AvroException


def _symbols(avro_type: Any) -> Dict[str, int]:
    return {symbol: index for index, symbol in enumerate(avro_type.symbols)}


def _not_in(x: Any, avro_type: Any) -> AvroException:
    declared = json.loads(repr(avro_type))
    return AvroException("\"{0}\" is not in enum {1} ({2})".format(x, declared["name"], declared["symbols"]))


@native("enum.toString")
def _emit_to_string(site: Site) -> str:
    avro_type = site.param_types[0]
    symbols = frozenset(avro_type.symbols)

    def to_string(x: Any) -> Any:
        if x in symbols:
            return x
        raise _not_in(x, avro_type)
    return site.call(to_string)


@native("enum.toInt")
def _emit_to_int(site: Site) -> str:
    avro_type = site.param_types[0]
    index = _symbols(avro_type)

    def to_int(x: Any) -> int:
        found = index.get(x)
        if found is None:
            raise _not_in(x, avro_type)
        return found
    return site.call(to_int)


@native("enum.numSymbols")
def _emit_num_symbols(site: Site) -> str:
    return f"({site.args[0]}, {len(site.param_types[0].symbols)})[1]"  # the argument is still evaluated
