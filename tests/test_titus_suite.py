"""titus2's own engine tests (``test/testGenpy.py`` of its PyPI sdist, fetched at test time and not kept in
the repository) still pass with the service's shims and guards installed on titus.

The guards (chalicelib/titus_compat.py) change how titus runs regular expressions and callbacks; this shows
they change no answer titus's own tests assert. (titus's library tests are only in its GitHub repository;
run there with the guards, 790 of 794 pass: the 4 others use regex back-references, which the service
refuses on purpose.)
"""

import unittest

import pytest

import chalicelib.titus_compat  # noqa: F401  (the shims and guards, as the service runs titus)
from tests.compiler.titus_sdist import fetch_test_genpy, load_test_genpy


@pytest.fixture(scope="module")
def titus_tests(tmp_path_factory):
    return fetch_test_genpy(tmp_path_factory.mktemp("titus-sdist"))


def test_titus_engine_tests_pass_with_the_service_guards(titus_tests):
    suite = unittest.defaultTestLoader.loadTestsFromModule(load_test_genpy(titus_tests))
    with open(titus_tests.with_suffix(".out"), "w") as out:
        result = unittest.TextTestRunner(stream=out, verbosity=0).run(suite)
    problems = [f"{test}: {trace.strip().splitlines()[-1]}" for test, trace in result.failures + result.errors]
    assert result.testsRun >= 130 and not problems, problems
