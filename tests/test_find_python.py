"""devtools/find_python.sh, which the Makefile runs to pick the Python of the Lambda runtime before any venv exists."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "devtools" / "find_python.sh"
WANTED = f"{sys.version_info.major}.{sys.version_info.minor}"  # the venv's Python, which the Makefile chose
TOOLS = ("sh", "ls", "grep", "sort", "sed")


@pytest.fixture
def bare_path(tmp_path):
    """A PATH with the shell tools the script uses and no Python at all."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in TOOLS:
        (folder / tool).symlink_to(shutil.which(tool))
    return folder


def find(wanted, path, home, **env):
    return subprocess.run(["sh", str(SCRIPT), wanted], env={"PATH": str(path), "HOME": str(home), **env},
                          capture_output=True, text=True, timeout=30)


def test_without_the_interpreter_it_says_in_one_line_what_is_missing_and_how_to_get_it(bare_path, tmp_path):
    result = find("3.12", bare_path, tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "no Python 3.12 found" in lines[0] and "`pyenv install 3.12`" in lines[0]
    assert "PYTHON=/path/to/python3.12" in lines[0] and str(tmp_path / ".pyenv" / "versions") in lines[0]


def test_it_finds_the_newest_pyenv_version_when_pyenvs_shim_cannot_run_it(bare_path, tmp_path):
    root = tmp_path / "pyenv"
    for version in ("9.9.2", "9.9.10", "9.9.0rc1", "9.90.1"):
        (root / "versions" / version / "bin").mkdir(parents=True)
    # Stand-ins that report the wanted version, as pyenv's python9.9 would.
    for version in ("9.9.2", "9.9.10"):
        fake = root / "versions" / version / "bin" / "python9.9"
        fake.write_text("#!/bin/sh\necho 9.9\n")
        fake.chmod(0o755)
    # A shim on PATH that fails, as pyenv's does when the version is not the selected one.
    shim = bare_path / "python9.9"
    shim.write_text("#!/bin/sh\necho 'pyenv: python9.9: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    result = find("9.9", bare_path, tmp_path, PYENV_ROOT=str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(root / "versions" / "9.9.10" / "bin" / "python9.9")


def test_it_takes_the_interpreter_on_path_first(bare_path, tmp_path):
    (bare_path / f"python{WANTED}").symlink_to(sys.executable)
    result = find(WANTED, bare_path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(bare_path / f"python{WANTED}")


def test_a_given_python_of_another_version_is_refused_by_name(bare_path, tmp_path):
    result = find("9.9", bare_path, tmp_path, PYTHON=sys.executable)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"PYTHON={sys.executable} is not a working Python 9.9; "
                                     "unset it or point it at a python9.9")
