"""Where and on what the bench ran: date, machine, Python, package versions, git commit, load average."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks.examples import PROJECT_DIR


def _git(*args: str) -> Optional[str]:
    try:
        done = subprocess.run(["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30,
                              check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def tracked_changes() -> List[str]:
    """Tracked files that differ from the commit (``git status`` lines), untracked files left out."""
    status = _git("status", "--porcelain", "--untracked-files=no")
    return status.splitlines() if status else []


def environment() -> Dict[str, Any]:
    status = _git("status", "--porcelain")
    return {
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {name: _version(name) for name in ("titus2", "numpy", "chalice", "boto3")},
        "git_commit": _git("rev-parse", "--short", "HEAD"),
        "git_commit_full": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "git_changed_files": len(status.splitlines()) if status else 0,
        "load_average_start": list(os.getloadavg()),
    }
