"""m.kernel.* (titus's lib/kernel.py): both engines must agree, doubles bit for bit."""

import random

from chalicelib.compiler.library import lookup
from tests.compiler.test_library_array import DOUBLE_POOL, agree, array_of, doc, native_everywhere, record

rng = random.Random(23000)


def vectors(n=80):
    out = [([], []), ([1.0], []), ([1e300], [-1e300]), ([1e200, 1.0], [-1e200, 2.0])]
    for _ in range(n):
        size = rng.randint(0, 4)
        pick = (lambda: rng.choice(DOUBLE_POOL)) if rng.random() < 0.2 else (lambda: round(rng.uniform(-3, 3), 2))
        out.append(([pick() for _ in range(size)], [pick() for _ in range(size + (rng.random() < 0.1))]))
    return out


def test_kernels():
    fields = {"x": array_of("double"), "y": array_of("double"), "g": "double", "c": "double", "d": "double"}
    calls = {"m.kernel.linear": ["input.x", "input.y"], "m.kernel.rbf": ["input.x", "input.y", "input.g"],
             "m.kernel.poly": ["input.x", "input.y", "input.g", "input.c", "input.d"],
             "m.kernel.sigmoid": ["input.x", "input.y", "input.g", "input.c"]}
    data = [{"x": x, "y": y, "g": rng.choice([0.5, 1.0, -1.0, 0.0, 2.0]), "c": rng.choice([0.0, 1.0, -0.5]),
             "d": rng.choice([2.0, 3.0, 0.5, 0.0, -1.0])} for x, y in vectors()]
    for name, args in calls.items():
        document = doc(record(**fields), "double", [{name: args}])
        native_everywhere(document, name)
        agree(document, data)


def test_every_name_is_native():
    from titus.lib import kernel

    for name in kernel.provides:
        assert lookup(name) is not None, name
