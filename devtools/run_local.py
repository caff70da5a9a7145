"""`make run`: serve the example Sonar model at http://127.0.0.1:8000 against a local S3.

Contract: starts the dev S3 of devtools/dev_s3.py (data in the project's state folder outside the project,
the dev stage's bucket, the Sonar model at MODEL_KEY unless the same content is already there, and
<project>/.local/s3.json for pfactl while it runs), runs `chalice local --stage dev --no-autoreload` pointed at
it, prints a curl line that scores Sonar row 1, and waits. chalice's output goes to the terminal and to
<state folder>/run/service.log (its path is printed). Ctrl-C or SIGTERM stops everything it started. Exit
code 1 with a one-line message if the port is taken or something fails to start.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from botocore.exceptions import ClientError

from devtools.dev_s3 import dev_model_location as dev_model_location  # tests and tools import it from here
from devtools.dev_s3 import dev_s3, raise_on_stop_signals
from devtools.dev_s3 import publish_local_s3 as publish_local_s3
from devtools.dev_s3 import withdraw_local_s3 as withdraw_local_s3
from devtools.local_s3 import CONFLICTING_CLIENT_ENV, HOST, LocalS3Error, port_is_free
from devtools.local_state import state_dir

PROJECT_DIR = Path(__file__).resolve().parent.parent
SONAR_CSV = Path("tests") / "data" / "sonar.csv"


class _Stop(Exception):
    """Raised by the signal handler so that cleanup runs in the `finally` blocks."""


def sonar_row(project_dir: Path = PROJECT_DIR, row: int = 1) -> dict[str, float]:
    """Sonar data row `row` (1-based) as {"V1": ..., "V60": ...}, without the Class column."""
    with open(project_dir / SONAR_CSV, newline="") as handle:
        for number, record in enumerate(csv.DictReader(handle), start=1):
            if number == row:
                return {name: float(value) for name, value in record.items() if name != "Class"}
    raise ValueError(f"{SONAR_CSV} has fewer than {row} rows")


def chalice_command(port: int) -> list[str]:
    """`chalice local` from this venv; chalice 1.34 has no `python -m chalice` entry point."""
    script = Path(sys.executable).parent / "chalice"
    return [str(script), "local", "--stage", "dev", "--host", HOST, "--port", str(port), "--no-autoreload"]


def wait_until_serving(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Return once anything answers HTTP on the port; raise if chalice exits or times out."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"chalice local exited with code {process.returncode} (see its output above)")
        try:
            opener.open(f"http://{HOST}:{port}/health", timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP status means the server is up
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"chalice local did not answer on port {port} within {timeout}s")
        time.sleep(0.2)


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 5) -> None:
    """SIGTERM the process group, SIGKILL it if still alive after `grace` seconds, and reap it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def curl_line(port: int, record: dict[str, float]) -> str:
    """A copy-pasteable curl command that POSTs `record` to /predict."""
    body = json.dumps(record, separators=(",", ":"))
    # -w '\n': the answer is one JSON line without a newline, which would run into the shell's prompt.
    return (f"curl -sS -w '\\n' http://{HOST}:{port}/predict -H 'Content-Type: application/json' "
            f"-d {shlex.quote(body)}")


def default_log_path(project_dir: Path = PROJECT_DIR) -> Path:
    """Where `make run` writes the service's log: <state folder>/run/service.log, outside the project."""
    return state_dir(project_dir) / "run" / "service.log"


class LogTee:
    """Copies a process's output, line by line, to a log file and to this process's stdout, from a thread."""

    def __init__(self, source: IO[bytes], log: IO[bytes]) -> None:
        self._source = source
        self._log = log
        self._thread = threading.Thread(target=self._copy, name="log-tee", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        for line in iter(self._source.readline, b""):
            self._log.write(line)
            self._log.flush()
            sys.stdout.buffer.write(line)
            sys.stdout.flush()

    def join(self, timeout: float = 5) -> None:
        """Wait until the process's output has ended (it has exited) and everything is written."""
        self._thread.join(timeout)


@contextlib.contextmanager
def local_service(port: int, s3_port: int | None = None, *, data_dir: Path | None = None, publish: bool = True,
                  output: IO[bytes] | None = None, log_path: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start what `make run` serves and yield the running `chalice local` once it answers on `port`.

    S3 data lives in `data_dir` (default: the dev S3's, outside the project); `publish` writes .local/s3.json
    for pfactl. chalice's output goes to `output`, or to `log_path` and this process's stdout, or by default
    to this process's stdout and stderr. On exit everything started here is stopped.
    """
    if not port_is_free(port):
        raise RuntimeError(f"port {port} on {HOST} is already in use; stop whatever uses it or pass --port")
    with dev_s3(s3_port, data_dir=data_dir, publish=publish, project_dir=PROJECT_DIR) as s3, \
            contextlib.ExitStack() as cleanup:
        print(f"local S3 at {s3.server.endpoint_url}, data in {s3.server.data_dir}"
              + (" (pfactl in this folder uses it)" if publish else "") + f"\n{s3.model_note}", flush=True)
        env = {name: value for name, value in os.environ.items() if name not in CONFLICTING_CLIENT_ENV}
        env.update(s3.server.client_environment())
        for name in ("MODEL_REFRESH_SECONDS", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"):
            env.setdefault(name, s3.client_environment()[name])
        stdout: IO[bytes] | int | None = output
        if log_path is not None and output is None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            log = cleanup.enter_context(open(log_path, "ab"))
            stdout = subprocess.PIPE
            env["PYTHONUNBUFFERED"] = "1"  # each log line reaches the file and the terminal when written
        chalice = subprocess.Popen(chalice_command(port), cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL,
                                   stdout=stdout, stderr=subprocess.STDOUT if stdout is not None else None,
                                   start_new_session=True)
        tee = LogTee(chalice.stdout, log) if chalice.stdout is not None else None
        try:
            wait_until_serving(chalice, port, timeout=60)
            yield chalice
        finally:
            stop_process_group(chalice)
            if tee is not None:
                tee.join()


def serve(port: int, s3_port: int | None) -> int:
    """Run everything until chalice exits (its exit code) or a stop signal arrives (0)."""
    log_path = default_log_path()
    print(f"the service's log: {log_path}", flush=True)
    with local_service(port, s3_port, log_path=log_path) as chalice:
        # chalice local has printed "Serving on ..." itself.
        print(f"\nReady (Ctrl-C stops). Try:\n\n{curl_line(port, sonar_row())}\n", flush=True)
        code = chalice.wait()
        print(f"run_local: chalice local exited with code {code}", file=sys.stderr)
        return code if code >= 0 else 128 - code


def main(argv: list[str] | None = None) -> int:
    """Parse options, serve, and turn SIGINT/SIGTERM and startup failures into a quiet exit."""
    parser = argparse.ArgumentParser(prog="python -m devtools.run_local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="HTTP port for chalice local (default 8000)")
    parser.add_argument("--s3-port", type=int, default=None, help="S3 port (default: a free one)")
    args = parser.parse_args(argv)

    raise_on_stop_signals(_Stop)
    try:
        return serve(args.port, args.s3_port)
    except _Stop:
        print("stopped", file=sys.stderr)
        return 0
    except (RuntimeError, LocalS3Error, OSError, ClientError) as error:
        print(f"run_local: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
