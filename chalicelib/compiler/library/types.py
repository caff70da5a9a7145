"""Questions an emitter asks of titus's resolved types."""

from typing import Any

from titus.datatype import (
    AvroArray,
    AvroBoolean,
    AvroBytes,
    AvroDouble,
    AvroEnum,
    AvroFixed,
    AvroFloat,
    AvroInt,
    AvroLong,
    AvroMap,
    AvroNull,
    AvroRecord,
    AvroString,
    AvroUnion,
)

__all__ = ["AvroArray", "AvroBoolean", "AvroBytes", "AvroDouble", "AvroEnum", "AvroFixed", "AvroFloat",
           "AvroInt", "AvroLong", "AvroMap", "AvroNull", "AvroRecord", "AvroString", "AvroUnion",
           "is_int", "is_long", "is_integral", "is_floating", "is_number"]


def is_int(avro_type: Any) -> bool:
    return isinstance(avro_type, AvroInt)


def is_long(avro_type: Any) -> bool:
    return isinstance(avro_type, AvroLong)


def is_integral(avro_type: Any) -> bool:
    return isinstance(avro_type, (AvroInt, AvroLong))


def is_floating(avro_type: Any) -> bool:
    return isinstance(avro_type, (AvroFloat, AvroDouble))


def is_number(avro_type: Any) -> bool:
    return is_integral(avro_type) or is_floating(avro_type)
