"""stat.change.* (titus's lib/stat/change.py): both engines must agree."""

import math
import random

from chalicelib.compiler.library import lookup
from tests.compiler.test_library_array import DOUBLE_POOL, INT_MAX, agree, doc, native_everywhere, record

rng = random.Random(37000)
NAN = math.nan


def test_update_trigger():
    history = {"type": "record", "name": "H", "fields": [{"name": n, "type": "int"} for n in
                                                          ("numEvents", "numRuns", "currentRun", "longestRun")]}
    fcn = {"params": [{"h": "H"}], "ret": "H", "do": {"stat.change.updateTrigger": [{">": ["input", 0]}, "h"]}}
    document = {"input": "double", "output": history,
                "cells": {"h": {"type": history, "init": {"numEvents": 0, "numRuns": 0, "currentRun": 0,
                                                         "longestRun": 0}}},
                "action": [{"cell": "h", "to": fcn}]}
    native_everywhere(document, "stat.change.updateTrigger")
    agree(document, [rng.choice([1.0, -1.0, 2.0, 0.0]) for _ in range(100)])
    direct = doc(record(p="boolean", h=history), "H", [{"stat.change.updateTrigger": ["input.p", "input.h"]}])
    values = [0, 1, 3, -1, INT_MAX]
    agree(direct, [{"p": p, "h": {"numEvents": a, "numRuns": b, "currentRun": c, "longestRun": d}}
                   for p in (True, False) for a in values[:3] for b in values for c in values for d in values[:4]])


def test_z_value():
    mv = {"type": "record", "name": "MV",
          "fields": [{"name": n, "type": "double"} for n in ("count", "mean", "variance")]}
    pool = DOUBLE_POOL + [4.0, 1.0, 0.5]
    data = [{"x": rng.choice(pool), "mv": {"count": rng.choice(pool + [2.0, 10.0]), "mean": rng.choice(pool),
                                           "variance": rng.choice(pool)}, "u": rng.random() < 0.5}
            for _ in range(300)]
    two = doc(record(x="double", mv=mv, u="boolean"), "double", [{"stat.change.zValue": ["input.x", "input.mv"]}])
    three = doc(record(x="double", mv=mv, u="boolean"), "double",
                [{"stat.change.zValue": ["input.x", "input.mv", "input.u"]}])
    for document in (two, three):
        native_everywhere(document, "stat.change.zValue")
        agree(document, data)


def test_update_cusum():
    document = doc(record(a="double", b="double", c="double"), "double",
                   [{"stat.change.updateCUSUM": ["input.a", "input.b", "input.c"]}])
    native_everywhere(document, "stat.change.updateCUSUM")
    agree(document, [{"a": a, "b": b, "c": c} for a in DOUBLE_POOL for b in DOUBLE_POOL[:6] for c in (0.0, NAN, 1.0)])


def test_every_name_is_native():
    from titus.lib.stat import change

    for name in change.provides:
        assert lookup(name) is not None, name
