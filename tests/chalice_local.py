"""Running `chalice local` as a real HTTP server for end-to-end tests."""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

PROJECT = Path(__file__).parent.parent
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_project(copy: Path) -> Path:
    """The tracked files, as a fresh clone has them, in ``copy``, sharing this checkout's virtual environment."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        if (PROJECT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT / name, copy / name)
    (copy / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return copy


def fresh_user_env(state_home: Path) -> Dict[str, str]:
    """This environment as a new user's shell has it: no AWS settings; local state under ``state_home``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key != "MODEL_BUCKET"}
    env["XDG_STATE_HOME"] = str(state_home)
    return env


@contextlib.contextmanager
def chalice_local(env: Dict[str, str], log_path: Path, *, project: Path = PROJECT, autoreload: bool = False,
                  inherit: bool = True) -> Iterator[str]:
    """Serve the dev stage of ``project`` on a free loopback port with ``env`` added (to this process's
    environment unless ``inherit`` is false); yields the base URL."""
    port = free_port()
    with open(log_path, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "dev", "--host", "127.0.0.1",
             "--port", str(port), "--autoreload" if autoreload else "--no-autoreload"],
            cwd=project, env={**os.environ, **env} if inherit else env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _NO_PROXY.open(url + "/health", timeout=5).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chalice local did not start:\n" + log_path.read_text()[-2000:]) from None
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def call(url: str, data: Optional[bytes] = None, content_type: Optional[str] = "application/json",
         method: Optional[str] = None) -> Tuple[int, Dict[str, str], Any]:
    """One HTTP request; returns (status, headers, parsed JSON body) for success and error statuses alike."""
    request = urllib.request.Request(url, data=data, method=method)
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with _NO_PROXY.open(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())
