"""Where pfactl talks to S3: the bucket, the models prefix, and the boto3 client (built here and nowhere else);
and which key holds the default model (:func:`default_model_key`).

Resolution, from the most explicit to the least:

1. ``AWS_ENDPOINT_URL_S3`` or ``MODEL_BUCKET`` is set: boto3 as usual (its own credentials chain and
   endpoint settings), bucket from ``--bucket`` or ``MODEL_BUCKET``. This is how pfactl reaches AWS.
2. Otherwise, a ``.local/s3.json`` in the current folder (or a parent, up to the project root) that a
   running ``make run`` wrote: its endpoint, keys and region; bucket from ``--bucket``, else the file's,
   else the dev stage's ``MODEL_BUCKET`` in ``.chalice/config.json``.
3. ``--bucket`` alone: boto3 as usual against AWS.
4. Nothing: a :class:`PfactlError` saying what to do.

The prefix is ``MODELS_PREFIX`` (default ``models/``), read and checked by the service's own rule.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from chalicelib import settings

from .errors import PfactlError

MODEL_BUCKET_ENV = settings.MODEL_BUCKET
ENDPOINT_ENV = "AWS_ENDPOINT_URL_S3"
LOCAL_S3_FILE = Path(".local") / "s3.json"
CHALICE_CONFIG = Path(".chalice") / "config.json"

NOT_CONFIGURED = ("no S3 to talk to: run `make run` in the project folder (pfactl then uses its local S3), "
                  f"or set {MODEL_BUCKET_ENV} (or pass --bucket) and AWS credentials")


@dataclass(frozen=True)
class LocalS3File:
    """What ``.local/s3.json`` holds while ``make run`` runs (written by devtools/run_local.py)."""

    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str
    bucket: Optional[str] = None
    pid: Optional[int] = None

    def write(self, path: Path) -> None:
        """Write atomically, readable by the owner only (it holds a secret, if only a local one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(self), handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)

    @classmethod
    def read(cls, path: Path) -> LocalS3File:
        fix = "restart `make run` or delete the file"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PfactlError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}; {fix}") from None
        if not text.strip():
            raise PfactlError(f"{path} is empty; expected the local S3 settings `make run` writes; {fix}")
        try:
            data = json.loads(text)
        except ValueError as error:
            raise PfactlError(f"{path} is not valid JSON ({error}); {fix}") from None
        fields = ("endpoint_url", "access_key_id", "secret_access_key", "region")
        missing = [name for name in fields if not isinstance(data, dict) or name not in data]
        if missing:
            raise PfactlError(f"{path} lacks {', '.join(missing)}; expected the local S3 settings `make run` "
                              f"writes; {fix}")
        return cls(endpoint_url=str(data["endpoint_url"]), access_key_id=str(data["access_key_id"]),
                   secret_access_key=str(data["secret_access_key"]), region=str(data["region"]),
                   bucket=data.get("bucket") or None, pid=data.get("pid") if isinstance(data.get("pid"), int) else None)

    def owner_is_running(self) -> bool:
        """False when the file names a process that no longer exists (a `make run` that was killed)."""
        return writer_is_running(self.pid)


def writer_is_running(pid: Optional[int]) -> bool:
    """False when a `.local/` file names the process that wrote it and that process no longer exists."""
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_local_s3_file(path: Path, pid: int) -> None:
    """Remove ``path`` if process ``pid`` wrote it (a later `make run` may have replaced it)."""
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


@dataclass(frozen=True)
class S3Target:
    """A bucket and prefix, and how to reach them."""

    bucket: str
    prefix: str
    source: str  # for messages: "environment", "the local S3 of `make run` (<file>)", "AWS"
    endpoint: str  # for messages: the endpoint URL, or "AWS"
    local: Optional[LocalS3File] = None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix} via {self.source}"

    def client(self) -> Any:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError

        config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
        try:
            if self.local is None:
                return boto3.session.Session().client("s3", config=config)
            return boto3.session.Session().client(
                "s3", endpoint_url=self.local.endpoint_url, aws_access_key_id=self.local.access_key_id,
                aws_secret_access_key=self.local.secret_access_key, region_name=self.local.region, config=config)
        except (BotoCoreError, ValueError) as error:
            raise PfactlError(f"cannot set up an S3 client for {self.source}: {error}") from None


def resolve_target(bucket_option: Optional[str], env: Mapping[str, str], cwd: Path) -> S3Target:
    """Decide where to talk (see the module docstring); raises PfactlError when nothing is configured."""
    try:
        prefix = settings.models_prefix(env)  # the service's rule: the same default, the same checks
    except settings.SettingsError as error:
        raise PfactlError(str(error)) from None
    env_bucket = env.get(MODEL_BUCKET_ENV, "").strip()
    env_endpoint = env.get(ENDPOINT_ENV, "").strip()
    if env_endpoint or env_bucket:
        bucket = bucket_option or env_bucket
        if not bucket:
            raise PfactlError(f"{ENDPOINT_ENV} is set but no bucket is: set {MODEL_BUCKET_ENV} or pass --bucket")
        return S3Target(bucket=bucket, prefix=prefix, source="the environment", endpoint=env_endpoint or "AWS")
    found = find_local_s3_file(cwd)
    stale = None
    if found is not None:
        local = LocalS3File.read(found)
        if local.owner_is_running():
            local_bucket = bucket_option or local.bucket or dev_stage_bucket(found.parent.parent)
            if not local_bucket:
                raise PfactlError(f"{found} names no bucket and .chalice/config.json has no dev MODEL_BUCKET: "
                                  f"pass --bucket")
            return S3Target(bucket=local_bucket, prefix=prefix, source=f"the local S3 of `make run` ({found})",
                            endpoint=local.endpoint_url, local=local)
        stale = found
    if bucket_option:
        return S3Target(bucket=bucket_option, prefix=prefix, source="AWS", endpoint="AWS")
    if stale is not None:
        raise PfactlError(f"{stale} was left by a `make run` that no longer runs; " + NOT_CONFIGURED)
    raise PfactlError(NOT_CONFIGURED)


def find_local_s3_file(cwd: Path) -> Optional[Path]:
    """``.local/s3.json`` in ``cwd`` or a parent; the search stops at the project root (or a git root)."""
    return find_local_file(cwd, LOCAL_S3_FILE)


def find_local_file(cwd: Path, relative: Path) -> Optional[Path]:
    """``relative`` (a file `make run` writes under ``.local/``) in ``cwd`` or a parent, up to the project root
    (or a git root)."""
    for folder in (cwd, *cwd.parents):
        candidate = folder / relative
        if candidate.is_file():
            return candidate
        if (folder / CHALICE_CONFIG).is_file() or (folder / ".git").exists():
            return None
    return None


def default_model_key(env: Mapping[str, str], cwd: Path) -> Optional[str]:
    """The default model's key: ``MODEL_KEY``, else the top-level MODEL_KEY in the .chalice/config.json of
    the project ``cwd`` is in; None when neither names one."""
    key = env.get(settings.MODEL_KEY, "").strip()
    if key:
        return key
    project = next((folder for folder in (cwd, *cwd.parents) if (folder / CHALICE_CONFIG).is_file()), None)
    if project is None:
        return None
    try:
        key = json.loads((project / CHALICE_CONFIG).read_text())["environment_variables"][settings.MODEL_KEY]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return key if isinstance(key, str) and key else None


def dev_stage_bucket(project_dir: Path) -> Optional[str]:
    """The dev stage's MODEL_BUCKET from ``.chalice/config.json``, if there is one."""
    try:
        config = json.loads((project_dir / CHALICE_CONFIG).read_text())
        bucket = config["stages"]["dev"]["environment_variables"][MODEL_BUCKET_ENV]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return bucket if isinstance(bucket, str) and bucket else None
