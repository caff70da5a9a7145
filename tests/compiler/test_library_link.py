"""m.link.* (titus's lib/link.py): native versus titus."""

import importlib.util
import random
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("library_harness", Path(__file__).with_name("library_harness.py"))
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

from titus.datatype import AvroArray, AvroDouble, AvroInt, AvroMap  # noqa: E402
from titus.lib import link  # noqa: E402

from chalicelib.compiler.library import lookup  # noqa: E402

check = harness.check
rng = random.Random(11)
NAN, INF = harness.NAN, harness.INF
SCALARS = [0.0, -0.0, 1.0, -1.0, 0.5, 3.7, -3.7, 20.0, -20.0, 36.0, -36.0, 700.0, 709.0, -709.0, 710.0, -710.0,
           1e300, -1e300, NAN, INF, -INF, 5e-324]
NAMES = sorted(n for n in link.provides if n != "m.link.softmax")


def arrays(n=150):
    out = [[], [0.0], [1.0, 2.0, 3.0], [-1.0, -2.0], [NAN, 1.0], [INF, 1.0], [-INF, 0.0], [1000.0, -1000.0],
           [-1000.0, 999.0], [5.0, -5.0], [-5.0, 5.0], [710.0], [-0.0, 0.0]]
    for _ in range(n):
        out.append([rng.choice([rng.gauss(0, 3), rng.uniform(-50, 50), rng.choice(SCALARS)])
                    for _ in range(rng.randint(1, 8))])
    return out


def test_every_name_is_native():
    for name in link.provides:
        assert lookup(name) is not None, name


@pytest.mark.parametrize("name", NAMES)
def test_scalar(name):
    check(name, [AvroDouble()], [(x,) for x in SCALARS] + [(rng.gauss(0, 5),) for _ in range(200)])
    check(name, [AvroInt()], [(x,) for x in [0, 1, -1, 5, -800, 800]])


@pytest.mark.parametrize("name", NAMES + ["m.link.softmax"])
def test_containers(name):
    values = arrays()
    check(name, [AvroArray(AvroDouble())], [(v,) for v in values])
    maps = [({f"k{i}": x for i, x in enumerate(v)},) for v in values]
    maps.append(({"é": 1.0, "日本": 2.0, "": -1.0},))
    check(name, [AvroMap(AvroDouble())], maps)


def test_results_are_new_values():
    function, *_ = harness.emit("m.link.logit", [AvroArray(AvroDouble())])
    x = [1.0]
    assert function(x) is not x and x == [1.0]


# ---------------------------------------------------------------- whole documents, both engines

@pytest.mark.parametrize("name", NAMES + ["m.link.softmax"])
def test_documents_agree(name):
    values = arrays(40)
    array = {"type": "array", "items": "double"}
    harness.agree(name, [array], array, [(v,) for v in values])
    mapping = {"type": "map", "values": "double"}
    harness.agree(name, [mapping], mapping, [({f"k{i}": x for i, x in enumerate(v)},) for v in values])
    if name != "m.link.softmax":
        harness.agree(name, ["double"], "double", [(x,) for x in SCALARS])
