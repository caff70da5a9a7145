"""Where the local runs keep their S3 data and logs: outside the project folder.

`chalice local`, unless started with --no-autoreload, polls every file under the project folder once a second
(chalice/cli/filewatch/stat.py; watchdog, if installed, sees the same tree) and restarts its server when one is
added, changed or removed. S3 data written by every `pfactl upload` would restart it mid-request, so the data
lives in a folder of its own per project: $XDG_STATE_HOME/pfa-serving/<project folder name>-<hash of its
path>/, with XDG_STATE_HOME defaulting to ~/.local/state as the XDG base directory specification says. Only
`.local/s3.json`, which pfactl looks for in the project, stays inside; it is written before chalice starts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

APP_FOLDER = "pfa-serving"


def state_dir(project_dir: Path, env: Mapping[str, str] = os.environ) -> Path:
    """This project's folder of local state (not created here); never inside `project_dir`."""
    project = Path(project_dir).resolve()
    base = Path(env.get("XDG_STATE_HOME", ""))
    if not base.is_absolute():  # the specification says to ignore a relative XDG_STATE_HOME
        base = Path(env.get("HOME") or Path.home()) / ".local" / "state"
    digest = hashlib.sha256(str(project).encode()).hexdigest()[:12]
    folder = base.resolve() / APP_FOLDER / f"{project.name}-{digest}"
    if folder.is_relative_to(project):  # e.g. a project at $HOME itself
        folder = Path(tempfile.gettempdir()) / f"{APP_FOLDER}-{os.getuid()}" / f"{project.name}-{digest}"
    return folder
