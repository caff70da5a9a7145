"""Where the local runs keep their S3 data and logs: outside the project folder.

`chalice local`, unless started with --no-autoreload, polls every file under the project folder once a second
(chalice/cli/filewatch/stat.py; watchdog, if installed, sees the same tree) and restarts its server when one is
added, changed or removed. S3 data written by every `pfactl upload` would restart it mid-request, so the data
lives in a folder of its own per project: $XDG_STATE_HOME/pfa-serving/<project folder name>-<hash of its
path>/, with XDG_STATE_HOME defaulting to ~/.local/state as the XDG base directory specification says. Only the
`.local/*.json` files naming a running `make run` (s3.json, which pfactl looks for, streams.json, jobs.json) stay
inside; they are written before chalice starts. Each names its writer (`pid`): `publish_state_file` writes one,
`withdraw_state_file` removes it unless a later run has replaced it.
"""

from __future__ import annotations

import hashlib
import json
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


def publish_state_file(path: Path, data: Mapping[str, object]) -> None:
    """Write `data` as JSON to `path` (a `.local/*.json` a running `make run` names itself in) atomically, with this
    process's `pid`, so that withdraw_state_file removes only what this process wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({**data, "pid": os.getpid()}, indent=2) + "\n")
    os.replace(temporary, path)


def withdraw_state_file(path: Path) -> None:
    """Remove `path` if this process wrote it (a later run may have replaced it)."""
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
