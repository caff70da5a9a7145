"""Fetching model documents from S3. The store is handed its boto3 client."""

from dataclasses import dataclass
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from .errors import ModelLoadError

_MISSING = ("NoSuchKey", "404", "NotFound", "NoSuchVersion")
_NO_BUCKET = ("NoSuchBucket",)
_DENIED = ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch")


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
    """Reads model documents from one bucket; errors become :class:`ModelLoadError`."""

    def __init__(self, s3_client: Any, bucket: str, max_bytes: int) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self._max_bytes = max_bytes

    def fetch(self, key: str) -> StoredDocument:
        where = f"s3://{self.bucket}/{key}"
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=key)
            size = response.get("ContentLength") or 0
            if size > self._max_bytes:
                response["Body"].close()
                raise ModelLoadError(f"the model document {where} is {size} bytes, over MAX_MODEL_BYTES "
                                     f"({self._max_bytes})")
            data = response["Body"].read()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ModelLoadError(f"the model document {where} does not exist") from None
            if code in _NO_BUCKET:
                raise ModelLoadError(f"the model bucket {self.bucket!r} does not exist") from None
            if code in _DENIED:
                raise ModelLoadError(f"access to {where} was denied ({code})") from None
            raise ModelLoadError(f"S3 refused to read {where}: {code or 'error'}") from None
        except BotoCoreError as error:
            raise ModelLoadError(f"S3 is unreachable while reading {where}: {type(error).__name__}") from None
        return StoredDocument(
            bucket=self.bucket,
            key=key,
            data=data,
            etag=str(response.get("ETag", "")).strip('"'),
            version_id=response.get("VersionId"),
        )
