"""Running `chalice local` as a real HTTP server for end-to-end tests."""

import contextlib
import json
import os
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


@contextlib.contextmanager
def chalice_local(env: Dict[str, str], log_path: Path) -> Iterator[str]:
    """Serve the dev stage on a free loopback port with ``env`` added; yields the base URL."""
    port = free_port()
    with open(log_path, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "dev", "--host", "127.0.0.1",
             "--port", str(port), "--no-autoreload"],
            cwd=PROJECT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
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
