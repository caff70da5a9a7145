"""`make run`: serve the example Sonar model at http://127.0.0.1:8000 against a local S3.

Contract: starts LocalS3 with its data under <project>/.local/s3, creates the dev stage's
MODEL_BUCKET (from .chalice/config.json), uploads models/sonar_naive_bayes.pfa at MODEL_KEY, runs
`chalice local --stage dev` pointed at that S3, prints a curl line that scores Sonar row 1, and
waits. While S3 runs, <project>/.local/s3.json names its endpoint, keys, region and bucket, so that
`pfactl` run in the project folder finds it; the file is removed on the way out. Ctrl-C or SIGTERM
stops everything it started. Exit code 1 with a one-line message if the port is taken or something
fails to start.
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
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO

from devtools.local_s3 import CONFLICTING_CLIENT_ENV, HOST, LocalS3, LocalS3Error, create_bucket, port_is_free
from pfactl.s3_target import LOCAL_S3_FILE, LocalS3File, remove_local_s3_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
MODEL_FILE = Path("models") / "sonar_naive_bayes.pfa"
SONAR_CSV = Path("tests") / "data" / "sonar.csv"
LOCAL_REFRESH_SECONDS = "2"


class _Stop(Exception):
    """Raised by the signal handler so that cleanup runs in the `finally` blocks."""


def dev_model_location(project_dir: Path = PROJECT_DIR) -> tuple[str, str]:
    """(MODEL_BUCKET of the dev stage, top-level MODEL_KEY) from .chalice/config.json."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    bucket = config["stages"]["dev"]["environment_variables"]["MODEL_BUCKET"]
    key = config["environment_variables"]["MODEL_KEY"]
    return bucket, key


def sonar_row(project_dir: Path = PROJECT_DIR, row: int = 1) -> dict[str, float]:
    """Sonar data row `row` (1-based) as {"V1": ..., "V60": ...}, without the Class column."""
    with open(project_dir / SONAR_CSV, newline="") as handle:
        for number, record in enumerate(csv.DictReader(handle), start=1):
            if number == row:
                return {name: float(value) for name, value in record.items() if name != "Class"}
    raise ValueError(f"{SONAR_CSV} has fewer than {row} rows")


def publish_local_s3(s3: LocalS3, bucket: str, path: Path) -> None:
    """Write the file through which pfactl finds this run's S3 (removed by withdraw_local_s3)."""
    LocalS3File(endpoint_url=s3.endpoint_url, access_key_id=s3.access_key, secret_access_key=s3.secret_key,
                region=s3.region, bucket=bucket, pid=os.getpid()).write(path)


def withdraw_local_s3(path: Path) -> None:
    """Remove the file written by publish_local_s3, unless a later run has replaced it."""
    remove_local_s3_file(path, os.getpid())


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
    return (f"curl -sS -X POST http://{HOST}:{port}/predict -H 'Content-Type: application/json' "
            f"-d {shlex.quote(body)}")


@contextlib.contextmanager
def local_service(port: int, s3_port: int | None = None, *, data_dir: Path | None = None, publish: bool = True,
                  output: IO[bytes] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start what `make run` serves and yield the running `chalice local` once it answers on `port`.

    S3 data lives in `data_dir` (default <project>/.local/s3); `publish` writes .local/s3.json for pfactl;
    chalice's output goes to `output` (default: this process's stdout and stderr). On exit everything
    started here is stopped.
    """
    if not port_is_free(port):
        raise RuntimeError(f"port {port} on {HOST} is already in use; stop whatever uses it or pass --port")
    bucket, key = dev_model_location()
    s3 = LocalS3(data_dir or PROJECT_DIR / ".local" / "s3", s3_port=s3_port)
    s3.start()
    local_s3_file = PROJECT_DIR / LOCAL_S3_FILE
    try:
        create_bucket(s3.client(), bucket, versioned=True)
        s3.client().upload_file(str(PROJECT_DIR / MODEL_FILE), bucket, key)
        if publish:
            publish_local_s3(s3, bucket, local_s3_file)
        print(f"local S3 at {s3.endpoint_url}: uploaded {MODEL_FILE} to s3://{bucket}/{key}"
              + (" (pfactl in this folder uses it)" if publish else ""), flush=True)
        env = {name: value for name, value in os.environ.items() if name not in CONFLICTING_CLIENT_ENV}
        env.update(s3.client_environment())
        # Locally, a newly uploaded version should take over within a couple of seconds.
        env.setdefault("MODEL_REFRESH_SECONDS", LOCAL_REFRESH_SECONDS)
        chalice = subprocess.Popen(chalice_command(port), cwd=PROJECT_DIR, env=env, stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT if output else None,
                                   start_new_session=True)
        try:
            wait_until_serving(chalice, port, timeout=60)
            yield chalice
        finally:
            stop_process_group(chalice)
    finally:
        if publish:
            withdraw_local_s3(local_s3_file)
        s3.stop()


def serve(port: int, s3_port: int | None) -> int:
    """Run everything until chalice exits (its exit code) or a stop signal arrives (0)."""
    with local_service(port, s3_port) as chalice:
        print(f"\nServing on http://{HOST}:{port} (Ctrl-C stops). Try:\n\n"
              f"{curl_line(port, sonar_row())}\n", flush=True)
        code = chalice.wait()
        print(f"run_local: chalice local exited with code {code}", file=sys.stderr)
        return code if code >= 0 else 128 - code


def main(argv: list[str] | None = None) -> int:
    """Parse options, serve, and turn SIGINT/SIGTERM and startup failures into a quiet exit."""
    parser = argparse.ArgumentParser(prog="python -m devtools.run_local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="HTTP port for chalice local (default 8000)")
    parser.add_argument("--s3-port", type=int, default=None, help="S3 port (default: a free one)")
    args = parser.parse_args(argv)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Once stopping, further Ctrl-Cs must not interrupt the cleanup.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Stop

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return serve(args.port, args.s3_port)
    except _Stop:
        print("stopped", file=sys.stderr)
        return 0
    except (RuntimeError, LocalS3Error, OSError) as error:
        print(f"run_local: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
