"""Where pfactl sends records and reads results: an SQS queue or a Kinesis stream, its boto3 client (built here
and nowhere else), and AWS's errors about it as one-line :class:`PfactlError` s.

- ``--queue URL_OR_NAME`` / ``--stream NAME``: boto3 as usual (its credentials chain, ``AWS_ENDPOINT_URL_SQS``
  / ``AWS_ENDPOINT_URL_KINESIS``, the region from the environment). This is how pfactl reaches AWS.
- ``--queue`` / ``--stream`` without a value (and, for `pfactl results`, no ``--queue`` at all): the records
  queue, the stream or the results queue of a running ``make run``, from the ``.local/streams.json`` it writes
  (found in the current folder or a parent, up to the project root), at that file's endpoint and region.
- Neither: a PfactlError saying what to pass.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, Mapping, Optional

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError

from .errors import PfactlError
from .s3_target import find_local_file, writer_is_running

LOCAL_STREAMS_FILE = Path(".local") / "streams.json"
FROM_LOCAL_FILE = ""  # what argparse stores for --queue / --stream given without a value
QUEUE, STREAM = "queue", "stream"
RECORDS, RESULTS = "records", "results"
# moto accepts any credentials, and the file holds none: never send real ones to a local server.
LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY = "local", "local"

_SERVICES = {QUEUE: ("sqs", "SQS", "AWS_ENDPOINT_URL_SQS"), STREAM: ("kinesis", "Kinesis", "AWS_ENDPOINT_URL_KINESIS")}
_NOT_FOUND = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "ResourceNotFoundException")
_DENIED = ("AccessDenied", "AccessDeniedException", "AuthorizationError", "KMSAccessDeniedException")
_BAD_CREDENTIALS = ("InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                    "ExpiredToken", "ExpiredTokenException", "IncompleteSignature", "InvalidSecurity")
_FIX = "restart `make run` or delete the file"


@dataclass(frozen=True)
class LocalStreamsFile:
    """What ``.local/streams.json`` holds while ``make run`` runs (see notes/streams_spec.md)."""

    path: Path
    endpoint_url: str
    region: str
    queues: Dict[str, str]  # "records" / "results" -> queue URL
    stream: Optional[str]
    pid: Optional[int] = None

    @classmethod
    def read(cls, path: Path) -> LocalStreamsFile:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PfactlError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}; {_FIX}") from None
        if not text.strip():
            raise PfactlError(f"{path} is empty; expected the local queues and stream `make run` writes; {_FIX}")
        try:
            data = json.loads(text)
        except ValueError as error:
            raise PfactlError(f"{path} is not valid JSON ({error}); {_FIX}") from None
        missing = [name for name in ("endpoint_url", "region") if not isinstance(data, dict) or not data.get(name)]
        if missing:
            raise PfactlError(f"{path} lacks {', '.join(missing)}; expected the local queues and stream `make run` "
                              f"writes; {_FIX}")
        queues = {role: str(_part(data, f"{role}_queue", "url")) for role in (RECORDS, RESULTS)
                  if _part(data, f"{role}_queue", "url")}
        stream = _part(data, "stream", "name")
        pid = data.get("pid")
        return cls(path, str(data["endpoint_url"]), str(data["region"]), queues,
                   str(stream) if stream else None, pid if isinstance(pid, int) else None)

    def owner_is_running(self) -> bool:
        """False when the file names a process that no longer exists (a `make run` that was killed)."""
        return writer_is_running(self.pid)


def _part(data: Dict[str, Any], section: str, key: str) -> Any:
    part = data.get(section)
    return part.get(key) if isinstance(part, dict) else None


@dataclass(frozen=True)
class Target:
    """One queue (a URL or a name) or stream (a name), and how to reach it."""

    kind: str  # QUEUE or STREAM
    address: str  # queue URL or name; stream name
    endpoint: str  # for messages: the endpoint URL, or "AWS"
    local: Optional[LocalStreamsFile] = None

    @property
    def name(self) -> str:
        """The queue's or stream's name (a queue URL ends with it)."""
        return self.address.rstrip("/").rsplit("/", 1)[-1]

    def describe(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def service(self) -> str:
        return _SERVICES[self.kind][1]

    def client(self) -> Any:
        """A boto3 client for the target's service: the environment's, or the local file's endpoint."""
        import boto3
        from botocore.config import Config

        # read_timeout above the longest long-poll (20 s); botocore retries throttling on its own.
        config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"})
        service = _SERVICES[self.kind][0]
        try:
            if self.local is None:
                return boto3.session.Session().client(service, config=config)
            return boto3.session.Session().client(
                service, endpoint_url=self.local.endpoint_url, region_name=self.local.region,
                aws_access_key_id=LOCAL_ACCESS_KEY, aws_secret_access_key=LOCAL_SECRET_KEY, config=config)
        except NoRegionError:
            raise PfactlError(f"no AWS region for {self.service}: set AWS_REGION (or AWS_DEFAULT_REGION)") from None
        except (BotoCoreError, ValueError) as error:
            raise PfactlError(f"cannot set up the {self.service} client for {self.describe()}: {error}") from None

    def queue_url(self, sqs: Any) -> str:
        """The queue's URL: the address itself, or looked up by name."""
        if self.address.startswith(("https://", "http://")):
            return self.address
        with aws_errors(self, "find"):
            return str(sqs.get_queue_url(QueueName=self.address)["QueueUrl"])


def resolve_queue(option: Optional[str], role: str, env: Mapping[str, str], cwd: Path) -> Target:
    """The ``role`` (records or results) queue: ``option`` if it has a value, else the local file's."""
    if option:
        return Target(QUEUE, option, _environment_endpoint(QUEUE, env))
    local = _local_file(cwd, "--queue URL_OR_NAME", f"{role} queue")
    url = local.queues.get(role)
    if url is None:
        raise PfactlError(f"{local.path} names no {role} queue ({role}_queue.url): {_FIX}, or pass --queue "
                          f"URL_OR_NAME")
    return Target(QUEUE, url, local.endpoint_url, local)


def resolve_stream(option: Optional[str], env: Mapping[str, str], cwd: Path) -> Target:
    """The records stream: ``option`` if it has a value, else the local file's."""
    if option:
        return Target(STREAM, option, _environment_endpoint(STREAM, env))
    local = _local_file(cwd, "--stream NAME", "stream")
    if local.stream is None:
        raise PfactlError(f"{local.path} names no stream (stream.name): {_FIX}, or pass --stream NAME")
    return Target(STREAM, local.stream, local.endpoint_url, local)


def _environment_endpoint(kind: str, env: Mapping[str, str]) -> str:
    return env.get(_SERVICES[kind][2], "").strip() or env.get("AWS_ENDPOINT_URL", "").strip() or "AWS"


def _local_file(cwd: Path, option: str, what: str) -> LocalStreamsFile:
    found = find_local_file(cwd, LOCAL_STREAMS_FILE)
    if found is None:
        raise PfactlError(f"no {what} given and no {LOCAL_STREAMS_FILE} found (`make run` writes it): pass "
                          f"{option}, or run in the project folder while `make run` runs")
    local = LocalStreamsFile.read(found)
    if not local.owner_is_running():
        raise PfactlError(f"{found} was left by a `make run` that no longer runs: run `make run` again, or pass "
                          f"{option}")
    return local


@contextlib.contextmanager
def aws_errors(target: Target, action: str) -> Iterator[None]:
    """Turn boto3's errors while doing ``action`` ("send to", "receive from", ...) into one-line PfactlErrors."""
    where = f"{target.describe()} at {target.endpoint}"
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        if code in _NOT_FOUND:
            raise PfactlError(f"{where} does not exist") from None
        if code in _DENIED:
            raise PfactlError(f"access denied: cannot {action} {where} ({code}); check the AWS credentials and "
                              f"the IAM policy") from None
        if code in _BAD_CREDENTIALS:
            raise PfactlError(f"{target.service} at {target.endpoint} refused the credentials ({code})") from None
        message = details.get("Message") or "error"
        raise PfactlError(f"cannot {action} {where}: {code} {message}") from None
    except NoCredentialsError:
        raise PfactlError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or "
                          "AWS_PROFILE), or run `make run` for a local queue and stream") from None
    except EndpointConnectionError:
        hint = " (is `make run` still running?)" if target.local is not None else ""
        raise PfactlError(f"cannot reach {target.service} at {target.endpoint} to {action} "
                          f"{target.describe()}{hint}") from None
    except BotoCoreError as error:
        raise PfactlError(f"cannot {action} {where}: {type(error).__name__}: {error}") from None
