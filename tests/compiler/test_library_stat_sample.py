"""stat.sample.* (titus's lib/stat/sample.py): both engines must agree, step by step on a cell.

Most state records are kept in a cell updated by each input, so a run compares a whole history; the
others take the state from the input. Doubles are compared bit for bit.
"""

import math
import random

import pytest
from titus.errors import PFASemanticException

from chalicelib.compiler import Unsupported, compile_document
from chalicelib.compiler.library import lookup
from chalicelib.titus_compat import PFAEngine
from tests.compiler.test_library_array import DOUBLE_POOL, INT_MAX, INT_MIN, agree, array_of, doc, native_everywhere

NAN, INF = math.nan, math.inf
rng = random.Random(14000)


def state_type(name, **fields):
    return {"type": "record", "name": name, "fields": [{"name": k, "type": v} for k, v in fields.items()]}


def value(x):
    return rng.choice(DOUBLE_POOL) if rng.random() < 0.15 else round(rng.uniform(-5, 5), 3)


def xs(n=150):
    return [value(None) for _ in range(n)]


def cell_document(cell_type, init, call, input_type="double", output=None):
    """A cell of ``cell_type`` updated by ``call`` (a PFA expression of ``s`` and ``input``); returns the cell."""
    name = cell_type["name"] if isinstance(cell_type, dict) and "name" in cell_type else cell_type
    fcn = {"params": [{"s": name if isinstance(cell_type, dict) and "name" in cell_type else cell_type}],
           "ret": name if isinstance(cell_type, dict) and "name" in cell_type else cell_type, "do": call}
    return {"input": input_type, "output": output or cell_type,
            "cells": {"state": {"type": cell_type, "init": init}},
            "action": [{"cell": "state", "to": fcn}]}


MEAN_VARIANCE = [({"count": "double"}, {"count": 0.0}),
                 ({"count": "double", "mean": "double"}, {"count": 0.0, "mean": 0.0}),
                 ({"count": "double", "mean": "double", "variance": "double", "other": "string"},
                  {"count": 0.0, "mean": 0.0, "variance": 0.0, "other": "é"})]


@pytest.mark.parametrize("fields, init", MEAN_VARIANCE)
def test_update(fields, init):
    document = cell_document(state_type("S", **fields), init, {"stat.sample.update": ["input", 1.0, "s"]})
    native_everywhere(document, "stat.sample.update")
    agree(document, xs())
    weighted = cell_document(state_type("S", **fields), init,
                             {"stat.sample.update": ["input", {"-": [{"m.abs": "input"}, 1]}, "s"]})
    agree(weighted, [1.0, 1.0, 2.0, 0.0, -1.0, 1.0, 3.0] + xs())
    ints = cell_document(state_type("S", **fields), init, {"stat.sample.update": [2, 1, "s"]}, "int")
    agree(ints, [0] * 5)


@pytest.mark.parametrize("fields, init", MEAN_VARIANCE)
def test_update_window(fields, init):
    record = state_type("S", x="double", w="double", **fields)
    init = [] if "other" not in fields else []
    document = cell_document(array_of(record), init,
                             {"stat.sample.updateWindow": ["input", 1.0, "s", 3]})
    native_everywhere(document, "stat.sample.updateWindow")
    if "other" in fields:  # titus cannot initialise a field it does not know
        agree(document, xs(5))
        return
    agree(document, xs())
    for window in (2, 5, 1, 0, INT_MIN):
        varying = cell_document(array_of(record), [],
                                {"stat.sample.updateWindow": ["input", {"m.abs": "input"}, "s", window]})
        agree(varying, xs(60))


def test_update_window_shrinking():
    record = state_type("S", x="double", w="double", count="double", mean="double", variance="double")
    document = {"input": {"type": "record", "name": "In", "fields": [{"name": "x", "type": "double"},
                                                                       {"name": "n", "type": "int"}]},
                "output": array_of(record),
                "cells": {"state": {"type": array_of(record), "init": []}},
                "action": [{"cell": "state", "to": {"params": [{"s": array_of("S")}], "ret": array_of("S"),
                                                    "do": {"stat.sample.updateWindow": ["input.x", 0.5, "s",
                                                                                        "input.n"]}}}]}
    agree(document, [{"x": value(None), "n": rng.choice([2, 3, 4, 6, 10])} for _ in range(120)])


@pytest.mark.parametrize("with_variance", [False, True])
def test_update_ewma(with_variance):
    fields = {"mean": "double", "variance": "double"} if with_variance else {"mean": "double", "n": "int"}
    init = {"mean": 0.0, "variance": 0.0} if with_variance else {"mean": 0.0, "n": 7}
    document = cell_document(state_type("S", **fields), init, {"stat.sample.updateEWMA": ["input", 0.3, "s"]})
    native_everywhere(document, "stat.sample.updateEWMA")
    agree(document, xs())
    alphas = {"input": {"type": "record", "name": "In", "fields": [{"name": "x", "type": "double"},
                                                                    {"name": "a", "type": "double"}]},
              "output": "S", "cells": {"state": {"type": state_type("S", **fields), "init": init}},
              "action": [{"cell": "state", "to": {"params": [{"s": "S"}], "ret": "S",
                                                  "do": {"stat.sample.updateEWMA": ["input.x", "input.a", "s"]}}}]}
    agree(alphas, [{"x": value(None), "a": rng.choice([0.0, 1.0, 0.5, -0.1, 1.1, NAN, 0.25])} for _ in range(80)])


HW = state_type("HW", level="double", trend="double")
HWP = state_type("HWP", level="double", trend="double", cycle=array_of("double"), multiplicative="boolean")


def test_holt_winters():
    for alpha, beta in ((0.5, 0.25), (1.0, 0.0), (-0.5, 0.5), (0.5, 1.5), (0.0, -0.0)):
        document = cell_document(HW, {"level": 0.0, "trend": 0.0},
                                 {"stat.sample.updateHoltWinters": ["input", alpha, beta, "s"]})
        native_everywhere(document, "stat.sample.updateHoltWinters")
        agree(document, xs(40))
    for multiplicative in (False, True):
        for cycle in ([1.0, 2.0, 0.5], [], [0.0]):
            init = {"level": 1.0, "trend": 0.0, "cycle": cycle, "multiplicative": multiplicative}
            for gamma in (0.3, 2.0):
                document = cell_document(HWP, init,
                                         {"stat.sample.updateHoltWintersPeriodic": ["input", 0.5, 0.25, gamma, "s"]})
                native_everywhere(document, "stat.sample.updateHoltWintersPeriodic")
                agree(document, xs(40))


def test_forecasts():
    one = doc(HW, "double", [{"stat.sample.forecast1HoltWinters": "input"}])
    many = {"input": {"type": "record", "name": "In", "fields": [{"name": "s", "type": HW},
                                                                  {"name": "n", "type": "int"}]},
            "output": array_of("double"), "action": [{"stat.sample.forecastHoltWinters": ["input.n", "input.s"]}]}
    native_everywhere(one, "stat.sample.forecast1HoltWinters")
    native_everywhere(many, "stat.sample.forecastHoltWinters")
    states = [{"level": value(None), "trend": value(None)} for _ in range(40)]
    agree(one, states)
    agree(many, [{"s": s, "n": n} for s in states[:15] for n in (0, 1, 3, -2)])
    one_p = doc(HWP, "double", [{"stat.sample.forecast1HoltWinters": "input"}])
    many_p = {"input": {"type": "record", "name": "In", "fields": [{"name": "s", "type": HWP},
                                                                    {"name": "n", "type": "int"}]},
              "output": array_of("double"), "action": [{"stat.sample.forecastHoltWinters": ["input.n", "input.s"]}]}
    states_p = [{"level": value(None), "trend": value(None), "cycle": [value(None) for _ in range(rng.randint(0, 4))],
                 "multiplicative": rng.random() < 0.5} for _ in range(40)]
    agree(one_p, states_p)
    agree(many_p, [{"s": s, "n": n} for s in states_p[:20] for n in (0, 1, 5)])


def test_update_covariance():
    vec = state_type("C", count="double", mean=array_of("double"), covariance=array_of(array_of("double")))
    document = cell_document(vec, {"count": 0.0, "mean": [0.0, 0.0, 0.0], "covariance": [[0.0] * 3] * 3},
                             {"stat.sample.updateCovariance": ["input", 1.0, "s"]}, array_of("double"))
    native_everywhere(document, "stat.sample.updateCovariance")
    agree(document, [[value(None) for _ in range(3)] for _ in range(60)] + [[1.0, 2.0], [1.0]])
    mp = {"type": "map", "values": "double"}
    mm = {"type": "map", "values": mp}
    maps = state_type("M", count=mm, mean=mp, covariance=mm)
    document = cell_document(maps, {"count": {}, "mean": {}, "covariance": {}},
                             {"stat.sample.updateCovariance": ["input", 1.0, "s"]}, mp)
    keys = ["a", "b", "c", "é"]
    agree(document, [{k: value(None) for k in rng.sample(keys, rng.randint(1, 4))} for _ in range(60)])


def histogram_document(fields, init, x="input", w=1.0):
    return cell_document(state_type("H", **fields), init, {"stat.sample.fillHistogram": [x, w, "s"]})


FLOWS = {"underflow": "double", "overflow": "double", "nanflow": "double", "infflow": "double"}
FLOWS_INIT = {k: 0.0 for k in FLOWS}
EDGES = [0.0, -0.0, 1.0, 9.999999999999998, 10.0, -1e-300, 5.0, NAN, INF, -INF, 1e300, -1e300, 2.5, 7.5]


@pytest.mark.parametrize("flows", [{}, FLOWS, {"nanflow": "double", "overflow": "double"}])
def test_fill_histogram(flows):
    flows_init = {k: 0.0 for k in flows}
    by_numbins = [({"numbins": "int", "low": "double", "high": "double", "values": array_of("double"), **flows},
                   {"numbins": n, "low": lo, "high": hi, "values": [0.0] * size, **flows_init})
                  for n, lo, hi, size in ((4, 0.0, 10.0, 4), (3, -1.0, 1.0, 3), (0, 0.0, 1.0, 0), (2, 0.0, 1.0, 3),
                                          (2, 1.0, 1.0, 2), (2, 0.0, INF, 2), (1, -1e308, 1e308, 1))]
    by_binsize = [({"low": "double", "binsize": "double", "values": array_of("double"), **flows},
                   {"low": lo, "binsize": b, "values": [0.0] * size, **flows_init})
                  for lo, b, size in ((0.0, 2.5, 0), (0.0, 2.5, 3), (1.0, 0.0, 1), (0.0, NAN, 1), (-3.0, 1.0, 2))]
    by_ranges = [({"ranges": array_of(array_of("double")), "values": array_of("double"), **flows},
                  {"ranges": r, "values": [0.0] * len(r), **flows_init})
                 for r in ([[0.0, 1.0], [0.5, 2.0], [5.0, 10.0]], [], [[1.0, 0.0]], [[0.0, 1.0, 2.0]])]
    for fields, init in by_numbins + by_binsize + by_ranges:
        document = histogram_document(fields, init)
        native_everywhere(document, "stat.sample.fillHistogram")
        agree(document, EDGES + xs(30) + [value(None) * 10 for _ in range(30)])


def test_fill_histogram_with_a_large_binsize_index():
    fields = {"low": "double", "binsize": "double", "values": array_of("double")}
    document = histogram_document(fields, {"low": 0.0, "binsize": 1.0, "values": []})
    agree(document, [3.0, 1.0, 7.5, 0.5, -1.0, 12.0])


def test_fill_histogram2d():
    flows2d = ["underunderflow", "undermidflow", "underoverflow", "midunderflow", "midoverflow", "overunderflow",
               "overmidflow", "overoverflow", "nanflow", "infflow"]
    base = {"xnumbins": "int", "xlow": "double", "xhigh": "double", "ynumbins": "int", "ylow": "double",
            "yhigh": "double", "values": array_of(array_of("double"))}
    for flows in ([], flows2d, ["nanflow", "midoverflow"]):
        for xn, yn, rows, cols, (xl, xh, yl, yh) in ((2, 3, 2, 3, (0.0, 1.0, -1.0, 1.0)), (2, 2, 2, 3, (0, 1, 0, 1)),
                                                      (0, 1, 0, 1, (0, 1, 0, 1)), (2, 2, 2, 2, (1.0, 0.0, 0.0, 1.0))):
            fields = {**base, **{k: "double" for k in flows}}
            init = {"xnumbins": xn, "xlow": float(xl), "xhigh": float(xh), "ynumbins": yn, "ylow": float(yl),
                    "yhigh": float(yh), "values": [[0.0] * cols for _ in range(rows)], **{k: 0.0 for k in flows}}
            document = {"input": {"type": "record", "name": "In", "fields": [{"name": "x", "type": "double"},
                                                                               {"name": "y", "type": "double"}]},
                        "output": "H", "cells": {"state": {"type": state_type("H", **fields), "init": init}},
                        "action": [{"cell": "state", "to": {"params": [{"s": "H"}], "ret": "H", "do": {
                            "stat.sample.fillHistogram2d": ["input.x", "input.y", 0.5, "s"]}}}]}
            native_everywhere(document, "stat.sample.fillHistogram2d")
            pool = [-2.0, -1.0, 0.0, 0.5, 1.0, 2.0, NAN, INF, -INF]
            agree(document, [{"x": x, "y": y} for x in pool for y in pool] +
                  [{"x": rng.uniform(-1, 2), "y": rng.uniform(-2, 2)} for _ in range(40)])


def test_fill_counter_and_top_n():
    counter = state_type("K", values={"type": "map", "values": "double"})
    document = cell_document(counter, {"values": {}}, {"stat.sample.fillCounter": ["input", 1.5, "s"]}, "string")
    native_everywhere(document, "stat.sample.fillCounter")
    agree(document, [rng.choice(["a", "b", "", "é", "日本"]) for _ in range(60)])
    less = {"params": [{"a": "double"}, {"b": "double"}], "ret": "boolean", "do": {"<": ["a", "b"]}}
    for n in (3, 1, 0, -1, INT_MAX):
        top = cell_document(array_of("double"), [], {"stat.sample.topN": ["input", "s", n, less]})
        native_everywhere(top, "stat.sample.topN")
        agree(top, xs(60))


def test_state_record_titus_refuses_is_refused_by_both():
    fields = {"count": "double", "variance": "double"}  # variance without mean: titus's genpy refuses it
    document = cell_document(state_type("S", **fields), {"count": 0.0, "variance": 0.0},
                             {"stat.sample.update": ["input", 1.0, "s"]})
    with pytest.raises(PFASemanticException):
        PFAEngine.fromJson(document)
    with pytest.raises(Unsupported):
        compile_document(document)


def test_every_name_is_native():
    from titus.lib.stat import sample

    for name in sample.provides:
        assert lookup(name) is not None, name
