"""titus2's own engine tests, fetched at test time from its PyPI sdist (as tests/test_titus_suite.py does).

Nothing of testGenpy is kept in the repository: :func:`fetch_test_genpy` downloads the sdist of the
titus2 version requirements.txt pins into a folder the caller gives (a pytest tmp dir) and extracts
``test/testGenpy.py`` only; :func:`load_test_genpy` imports it from there.
"""

import importlib
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent.parent
TITUS = next(line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.startswith("titus2=="))


def fetch_test_genpy(folder: Path) -> Path:
    """The path of ``testGenpy.py`` extracted under ``folder`` from titus2's sdist."""
    fetched = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                              "--no-binary", ":all:", "--no-deps", TITUS, "-d", str(folder)],
                             capture_output=True, text=True, timeout=300)
    assert fetched.returncode == 0, f"could not download the sdist of {TITUS} from PyPI: {fetched.stderr[-500:]}"
    (archive,) = folder.glob("*.tar.gz")
    with tarfile.open(archive) as tar:
        member = next(name for name in tar.getnames() if name.endswith("/test/testGenpy.py"))
        tar.extract(member, folder, filter="data")
    return folder / member


def load_test_genpy(path: Path) -> ModuleType:
    sys.path.insert(0, str(path.parent))
    try:
        return importlib.import_module(path.stem)
    finally:
        sys.path.remove(str(path.parent))
