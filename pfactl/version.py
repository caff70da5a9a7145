"""pfactl's version: the installed package's, from its metadata.

Run from a checkout that was never installed (``PYTHONPATH=. python -m pfactl``) there is no metadata; the
version is then the one the checkout's pyproject.toml declares, and failing that, "unknown".
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path
from typing import Callable

DISTRIBUTION = "pfa-serving"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
UNKNOWN = "unknown"


def package_version(distribution: str = DISTRIBUTION, pyproject: Path = PYPROJECT,
                    lookup: Callable[[str], str] = metadata.version) -> str:
    try:
        return lookup(distribution)
    except metadata.PackageNotFoundError:
        return _declared_version(distribution, pyproject)


def _declared_version(distribution: str, pyproject: Path) -> str:
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return UNKNOWN
    if project.get("name") != distribution or not isinstance(project.get("version"), str):
        return UNKNOWN
    return str(project["version"])
