"""Real SQS, Kinesis and DynamoDB servers (moto's server mode) on 127.0.0.1, for the tests and for `make run`.

Contract: `LocalAws().start()` runs `python -m moto.server` in its own process group, bound to 127.0.0.1 only, on
a free port (or the one given), and returns once it answers. moto answers the real AWS wire protocol, so boto3
and the AWS CLI talk to it unchanged through `client_environment()` (`AWS_ENDPOINT_URL_SQS`, `..._KINESIS`,
`..._DYNAMODB`). It accepts any credentials. Its data lives in memory: `kill()` loses the queues and streams
(an outage that also loses data: create them again after `restart()`). `stop()` is idempotent and also runs at
interpreter exit. S3 stays on the local SeaweedFS server (devtools/local_s3.py): moto's S3 is not used.
"""

from __future__ import annotations

import atexit
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.client import BaseClient

from devtools.local_s3 import kill_group

HOST = "127.0.0.1"
SERVICES = ("sqs", "kinesis", "dynamodb")
DEFAULT_REGION = "us-east-1"


class LocalAwsError(RuntimeError):
    """The local AWS server could not be started; the message includes the tail of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class LocalAws:
    """One moto server for SQS, Kinesis and DynamoDB; see the module's contract."""

    def __init__(self, port: int | None = None, log_path: Path | None = None, region: str = DEFAULT_REGION,
                 access_key: str = "local", secret_key: str = "localsecret") -> None:
        self.port = port
        self.log_path = log_path
        self.region = region
        self.access_key = access_key
        self.secret_key = secret_key
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise LocalAwsError("LocalAws has not been started")
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def client_environment(self) -> dict[str, str]:
        """Environment variables that point boto3 (in this or a child process) at this server for its services.

        The credentials and region are the same names LocalS3's environment sets; moto accepts any.
        """
        env = {f"AWS_ENDPOINT_URL_{service.upper()}": self.endpoint_url for service in SERVICES}
        env.update({
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        })
        return env

    def client(self, service: str, **overrides: Any) -> BaseClient:
        """A boto3 client of `service` for this server that does not depend on os.environ; kwargs override."""
        settings: dict[str, Any] = {"endpoint_url": self.endpoint_url, "aws_access_key_id": self.access_key,
                                    "aws_secret_access_key": self.secret_key, "region_name": self.region}
        settings.update(overrides)
        return boto3.session.Session().client(service, **settings)  # type: ignore[call-overload,no-any-return]

    def start(self, timeout: float = 20) -> None:
        """Start on the given port (else a free one) and wait until it answers."""
        if self.running:
            raise LocalAwsError(f"LocalAws is already running at {self.endpoint_url}")
        if self.port is None:
            self.port = free_port()
        self._launch(timeout)

    def restart(self, timeout: float = 20) -> None:
        """Start again on the same port (empty: moto keeps nothing between runs)."""
        self.kill()
        self._launch(timeout)

    def kill(self) -> None:
        """SIGKILL the server now, as a crash would."""
        process, self._process = self._process, None
        if process is not None:
            kill_group(process)
        if self._output is not None:
            self._output.close()
            self._output = None

    def stop(self) -> None:
        """Stop the server; safe to call repeatedly."""
        self.kill()
        atexit.unregister(self.stop)

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _launch(self, timeout: float) -> None:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._output = open(self.log_path, "ab")
        command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                         stdout=self._output if self._output else subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self.kill()
                raise LocalAwsError(f"moto server exited with code {code} on port {self.port}{self._log_tail()}")
            try:
                opener.open(f"{self.endpoint_url}/moto-api/", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise LocalAwsError(f"moto server did not answer on port {self.port} within {timeout}s"
                                    f"{self._log_tail()}")
            time.sleep(0.1)

    def _log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n" + "\n".join(tail) if tail else ""
