"""titus2's own engine tests (``test/testGenpy.py`` of its PyPI sdist, fetched at test time and not kept in
the repository) still pass with the service's shims and guards installed on titus.

The guards (chalicelib/titus_compat.py) change how titus runs regular expressions and callbacks; this shows
they change no answer titus's own tests assert. (titus's library tests are only in its GitHub repository;
run there with the guards, 790 of 794 pass: the 4 others use regex back-references, which the service
refuses on purpose.)
"""

import subprocess
import sys
import tarfile
import unittest
from pathlib import Path

import pytest

import chalicelib.titus_compat  # noqa: F401  (the shims and guards, as the service runs titus)

ROOT = Path(__file__).parent.parent
TITUS = next(line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.startswith("titus2=="))


@pytest.fixture(scope="module")
def titus_tests(tmp_path_factory):
    folder = tmp_path_factory.mktemp("titus-sdist")
    fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                              "--no-binary", ":all:", "--no-deps", TITUS, "-d", str(folder)],
                             capture_output=True, text=True, timeout=300)
    assert fetched.returncode == 0, f"could not download the sdist of {TITUS} from PyPI: {fetched.stderr[-500:]}"
    (archive,) = folder.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        member = next(name for name in tar.getnames() if name.endswith("/test/testGenpy.py"))
        tar.extract(member, folder, filter="data")
    return folder / member


def test_titus_engine_tests_pass_with_the_service_guards(titus_tests):
    sys.path.insert(0, str(titus_tests.parent))
    try:
        import testGenpy  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(titus_tests.parent))
    suite = unittest.defaultTestLoader.loadTestsFromModule(testGenpy)
    with open(titus_tests.with_suffix(".out"), "w") as out:
        result = unittest.TextTestRunner(stream=out, verbosity=0).run(suite)
    problems = [f"{test}: {trace.strip().splitlines()[-1]}" for test, trace in result.failures + result.errors]
    assert result.testsRun >= 130 and not problems, problems
