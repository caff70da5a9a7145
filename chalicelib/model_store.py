"""Reading model documents from S3. The store is handed its boto3 client."""

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from .errors import ModelLoadError

_NOT_MODIFIED = ("304", "NotModified")
_MISSING = ("NoSuchKey", "404", "NotFound", "NoSuchVersion")
_NO_BUCKET = ("NoSuchBucket",)
_DENIED = ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch")
LIST_LIMIT = 1000


class DocumentMissing(ModelLoadError):
    """There is no document at that key (never uploaded, or deleted)."""


class VersionFailed(ModelLoadError):
    """One stored version cannot serve (too large, not a document, does not compile). It is named,
    so that it is recorded against that version and not fetched again until the object changes."""

    def __init__(self, message: str, etag: str, version: str) -> None:
        super().__init__(message)
        self.etag = etag
        self.version = version


@dataclass(frozen=True)
class StoredDocument:
    bucket: str
    key: str
    data: bytes
    etag: str
    version_id: Optional[str]

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def version(self) -> str:
        """The S3 version id when the bucket is versioned, else the ETag."""
        return self.version_id if self.version_id and self.version_id != "null" else self.etag


class ModelStore:
    """Reads model documents from one bucket; failures become :class:`ModelLoadError`."""

    def __init__(self, s3_client: Any, bucket: str, max_bytes: int, list_limit: int = LIST_LIMIT) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self._max_bytes = max_bytes
        self._list_limit = list_limit

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def fetch(self, key: str, unless_etag: Optional[str] = None,
              version_id: Optional[str] = None) -> Optional[StoredDocument]:
        """The document at ``key`` (its latest version, or ``version_id``); None if its ETag is still
        ``unless_etag`` (a conditional GET)."""
        where = self.location(key)
        request: Dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if unless_etag:
            request["IfNoneMatch"] = f'"{unless_etag}"'
        if version_id:
            request["VersionId"] = version_id
        try:
            response = self._s3.get_object(**request)
            size = response.get("ContentLength") or 0
            etag, version_id = str(response.get("ETag", "")).strip('"'), response.get("VersionId")
            if size > self._max_bytes:
                response["Body"].close()
                version = StoredDocument(self.bucket, key, b"", etag, version_id).version
                raise VersionFailed(f"the model document {where} is {size} bytes, over MAX_MODEL_BYTES "
                                    f"({self._max_bytes})", etag=etag, version=version)
            data = response["Body"].read()
        except ClientError as error:
            code = _code(error)
            if code in _NOT_MODIFIED:
                return None
            raise self._failure(code, where) from None
        except BotoCoreError as error:
            raise ModelLoadError(f"cannot read {where}: {s3_trouble(error)}") from None
        return StoredDocument(bucket=self.bucket, key=key, data=data, etag=etag, version_id=version_id)

    def list(self, prefix: str) -> Tuple[List[Dict[str, Any]], bool]:
        """Objects under ``prefix`` (key, etag, size, last_modified), at most ``list_limit`` of them in key
        order, and whether there were more."""
        where = self.location(prefix)
        try:
            response = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=self._list_limit)
        except ClientError as error:
            raise self._failure(_code(error), where) from None
        except BotoCoreError as error:
            raise ModelLoadError(f"cannot list {where}: {s3_trouble(error)}") from None
        items = [{"key": item["Key"], "etag": str(item.get("ETag", "")).strip('"'), "size_bytes": item.get("Size"),
                  "last_modified": item["LastModified"].isoformat().replace("+00:00", "Z")}
                 for item in response.get("Contents", [])]
        return items, bool(response.get("IsTruncated"))

    def earlier_versions(self, key: str, limit: int) -> List[str]:
        """The version ids of ``key`` before its latest, newest first, at most ``limit`` (none when the
        bucket is not versioned)."""
        where = self.location(key)
        try:
            response = self._s3.list_object_versions(Bucket=self.bucket, Prefix=key, MaxKeys=limit + 5)
        except ClientError as error:
            raise self._failure(_code(error), where) from None
        except BotoCoreError as error:
            raise ModelLoadError(f"cannot list the versions of {where}: {s3_trouble(error)}") from None
        versions = sorted((item for item in response.get("Versions", [])
                           if item["Key"] == key and not item.get("IsLatest") and item.get("VersionId") != "null"),
                          key=lambda item: item["LastModified"], reverse=True)
        return [item["VersionId"] for item in versions[:limit]]

    def _failure(self, code: str, where: str) -> ModelLoadError:
        if code in _MISSING:
            return DocumentMissing(f"the model document {where} does not exist")
        if code in _NO_BUCKET:
            return ModelLoadError(f"the model bucket {self.bucket!r} does not exist")
        if code in _DENIED:
            return ModelLoadError(f"access to {where} was denied ({code})")
        return ModelLoadError(f"S3 refused {where}: {code or 'error'}")


def s3_trouble(error: BotoCoreError) -> str:
    """What went wrong on the way to S3, in an operator's terms."""
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return ("no AWS credentials were found (on Lambda the function's role gives them; elsewhere set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a profile)")
    if isinstance(error, NoRegionError):
        return "no AWS region is configured (set AWS_DEFAULT_REGION)"
    if isinstance(error, ReadTimeoutError):
        return "S3 did not answer in time"
    if isinstance(error, ConnectionError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url")
        return "S3 is unreachable" + (f" (could not connect to {endpoint})" if endpoint else "")
    return "the request to S3 failed"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
