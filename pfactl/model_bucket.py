"""Named models in a versioned S3 bucket: upload, read, list, versions, rollback, delete.

A model ``NAME`` lives at ``<prefix><NAME>.pfa`` (:func:`chalicelib.model_names.model_key`), stored as JSON.
History is S3's: every upload is a new version, a rollback copies an older version on top (server side,
so the history only grows), a delete adds a delete marker. S3 errors become one-line :class:`PfactlError`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from chalicelib.model_names import model_key, name_from_key

from .errors import PfactlError

_DENIED = ("AccessDenied", "403", "AllAccessDisabled")
_BAD_CREDENTIALS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken")


@dataclass(frozen=True)
class Version:
    version_id: str
    last_modified: datetime
    size: Optional[int]  # None for a delete marker
    is_latest: bool

    @property
    def is_delete_marker(self) -> bool:
        return self.size is None


@dataclass(frozen=True)
class StoredModel:
    name: str
    version_id: str
    last_modified: datetime
    size: int


@dataclass(frozen=True)
class Rollback:
    previous: Version  # the latest before the rollback (may be a delete marker)
    restored: Version  # the version whose content is now the latest
    new_version_id: Optional[str]  # None: ``restored`` already was the latest, nothing changed


class ModelBucket:
    """The models under ``prefix`` in ``bucket``; ``endpoint`` only names the server in messages."""

    def __init__(self, client: Any, bucket: str, prefix: str, endpoint: str = "AWS") -> None:
        self._s3 = client
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint

    def key(self, name: str) -> str:
        return model_key(self.prefix, name)

    def location(self, name: str) -> str:
        return f"s3://{self.bucket}/{self.key(name)}"

    def ensure_versioning(self) -> bool:
        """Turn bucket versioning on if it is not; True if this call turned it on."""
        with self._errors("read the versioning of"):
            if self._s3.get_bucket_versioning(Bucket=self.bucket).get("Status") == "Enabled":
                return False
        with self._errors("turn on versioning of"):
            self._s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
            status = self._s3.get_bucket_versioning(Bucket=self.bucket).get("Status")
        if status != "Enabled":
            raise PfactlError(f"bucket {self.bucket!r} still has versioning {status or 'off'} after turning it on; "
                              f"refusing to upload without versions to roll back to")
        return True

    def upload(self, name: str, document: bytes) -> str:
        """Store ``document`` (JSON) as the latest version of ``name``; returns the new version id."""
        with self._errors("upload to"):
            response = self._s3.put_object(Bucket=self.bucket, Key=self.key(name), Body=document,
                                           ContentType="application/json")
        version_id = response.get("VersionId")
        if not version_id or version_id == "null":
            raise PfactlError(f"S3 gave no version id for {self.location(name)}: is versioning on for the bucket?")
        return str(version_id)

    def list_models(self) -> List[StoredModel]:
        """Every model whose latest version is not a delete marker, by name."""
        models = []
        for page in self._version_pages(self.prefix):
            for entry in page.get("Versions", []):
                name = name_from_key(self.prefix, entry["Key"])
                if name is not None and entry.get("IsLatest"):
                    models.append(StoredModel(name, str(entry.get("VersionId")), entry["LastModified"],
                                              int(entry.get("Size", 0))))
        return sorted(models, key=lambda model: model.name)

    def versions(self, name: str) -> List[Version]:
        """All versions and delete markers of ``name``, newest first; PfactlError if it never existed."""
        key = self.key(name)
        versions: List[Version] = []
        markers: List[Version] = []
        for page in self._version_pages(key):
            for entry in page.get("Versions", []):
                if entry["Key"] == key:
                    versions.append(Version(str(entry.get("VersionId")), entry["LastModified"],
                                            int(entry.get("Size", 0)), bool(entry.get("IsLatest"))))
            for entry in page.get("DeleteMarkers", []):
                if entry["Key"] == key:
                    markers.append(Version(str(entry.get("VersionId")), entry["LastModified"], None,
                                           bool(entry.get("IsLatest"))))
        if not versions and not markers:
            raise PfactlError(f"no model named {name!r} in s3://{self.bucket}/{self.prefix}")
        return newest_first([*versions, *markers])

    def read_latest(self, key: str) -> bytes:
        """The latest version of the document at ``key`` (a named model's :meth:`key`, or the default model's)."""
        with self._errors(f"read {key} from"):
            try:
                response = self._s3.get_object(Bucket=self.bucket, Key=key)
            except ClientError as error:
                if str(error.response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404"):
                    raise PfactlError(f"no model document at s3://{self.bucket}/{key} ({self.endpoint})") from None
                raise
            return bytes(response["Body"].read())

    def fetch(self, name: str, version_id: str) -> bytes:
        with self._errors(f"read version {version_id} of {name} from"):
            response = self._s3.get_object(Bucket=self.bucket, Key=self.key(name), VersionId=version_id)
            return bytes(response["Body"].read())

    def rollback(self, name: str, to: Optional[str] = None,
                 check: Optional[Callable[[str, bytes], None]] = None) -> Rollback:
        """Make version ``to`` (default: the version before the latest) the latest, by a server-side copy.

        ``check`` is given the version id and its document first, and may raise to refuse it.
        """
        history = self.versions(name)
        latest = history[0]
        documents = [version for version in history if not version.is_delete_marker]
        if to is None:
            older = [version for version in documents if version is not latest]
            if not older:
                raise PfactlError(f"model {name!r} has no earlier version to roll back to")
            target = older[0]
        else:
            matches = [version for version in history if version.version_id == to]
            if not matches:
                raise PfactlError(f"model {name!r} has no version {to!r}; see `pfactl versions {name}`")
            target = matches[0]
            if target.is_delete_marker:
                raise PfactlError(f"version {to!r} of {name!r} is a delete marker, not a document")
            if target is latest:
                return Rollback(previous=latest, restored=target, new_version_id=None)
        if check is not None:
            check(target.version_id, self.fetch(name, target.version_id))
        key = self.key(name)
        with self._errors("copy within"):
            response = self._s3.copy_object(
                Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key,
                                                         "VersionId": target.version_id})
        return Rollback(previous=latest, restored=target, new_version_id=str(response.get("VersionId")))

    def delete(self, name: str) -> Tuple[Optional[str], int]:
        """Delete ``name``: (the delete marker's version id or None if unversioned, versions kept)."""
        history = self.versions(name)
        if history[0].is_delete_marker:
            raise PfactlError(f"model {name!r} is already deleted; `pfactl rollback {name}` restores it")
        with self._errors("delete from"):
            response = self._s3.delete_object(Bucket=self.bucket, Key=self.key(name))
        if response.get("DeleteMarker"):
            return str(response.get("VersionId")), len([v for v in history if not v.is_delete_marker])
        return None, 0

    def _version_pages(self, prefix: str) -> Iterator[Any]:
        with self._errors("list"):
            yield from self._s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        where = f"bucket {self.bucket!r} at {self.endpoint}"
        try:
            yield
        except ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code", ""))
            if code == "NoSuchBucket":
                raise PfactlError(f"{where} does not exist") from None
            if code in _DENIED:
                raise PfactlError(f"access denied: cannot {action} {where} ({code}); check the AWS credentials "
                                  f"and the bucket policy") from None
            if code in _BAD_CREDENTIALS:
                raise PfactlError(f"S3 at {self.endpoint} refused the credentials ({code})") from None
            message = details.get("Message") or "error"
            raise PfactlError(f"cannot {action} {where}: {code} {message}") from None
        except NoCredentialsError:
            raise PfactlError("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                              "(or AWS_PROFILE), or run `make run` for a local S3") from None
        except EndpointConnectionError:
            raise PfactlError(f"cannot reach S3 at {self.endpoint} to {action} bucket {self.bucket!r}"
                              + (" (is `make run` still running?)" if self.endpoint.startswith("http://127.")
                                 else "")) from None
        except BotoCoreError as error:
            raise PfactlError(f"cannot {action} {where}: {type(error).__name__}: {error}") from None


def newest_first(history: Iterable[Version]) -> List[Version]:
    """``history`` by LastModified, newest first, whatever order the server listed it in.

    Version ids say nothing about age (SeaweedFS's decrease over time, AWS's are random). Times can tie
    (SeaweedFS lists whole seconds): then the latest comes first, and the others keep the server's order
    (S3 lists a key's versions newest first).
    """
    return sorted(history, key=lambda version: (version.last_modified, version.is_latest), reverse=True)
