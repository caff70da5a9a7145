"""A job's objects in the jobs bucket: the presigned upload, reading the input by byte range, writing the
chunks' parts, joining them (S3 multipart upload, copying what is large enough), and expiring links.

The upload is a presigned POST, not a PUT: its policy names the one key and bounds the size
(``content-length-range``), so an upload over ``JOB_MAX_BYTES`` is refused by S3 itself.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import ServiceError

NDJSON = "application/x-ndjson"
# S3's rule: every part of a multipart upload but the last is at least 5 MiB (and at most 5 GiB).
MIN_PART = 5 * 1024 * 1024
MAX_COPY_PART = 5 * 1024 * 1024 * 1024
READ_BLOCK = 1024 * 1024
FILE_FIELD = "file"
_CHANGED = ("PreconditionFailed", "412")
_MISSING = ("NoSuchKey", "404", "NotFound")
# Without s3:ListBucket (the functions have none on the jobs bucket), S3 answers a missing key with 403.
_DENIED = ("AccessDenied", "403")


class FilesUnavailable(ServiceError):
    """The jobs bucket cannot be reached now; the same call may succeed later."""

    status = 503
    code = "jobs_unavailable"
    transient = True


class InputGone(ValueError):
    """The uploaded file is not there any more, or not the one the job started with (it was replaced)."""


@dataclass(frozen=True)
class Segment:
    """Bytes of one object to put into the joined output: ``key``'s first ``size`` bytes."""

    key: str
    size: int


class JobFiles:
    """The jobs bucket; handed its boto3 S3 client."""

    def __init__(self, s3_client: Any, bucket: str, max_bytes: int, upload_seconds: int, link_seconds: int) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.max_bytes = max_bytes
        self.upload_seconds = upload_seconds
        self.link_seconds = link_seconds

    def upload_form(self, key: str, now: datetime) -> Dict[str, Any]:
        """What a browser or ``curl -F`` needs to POST the file to S3: every field, then the file as ``file``."""
        try:
            post = self._s3.generate_presigned_post(
                self.bucket, key, Conditions=[["content-length-range", 1, self.max_bytes]],
                ExpiresIn=self.upload_seconds)
        except (BotoCoreError, ClientError) as error:
            raise FilesUnavailable(f"cannot sign the upload now ({_code(error)}); try again shortly") from None
        return {"method": "POST", "url": post["url"], "fields": post["fields"], "file_field": FILE_FIELD,
                "max_bytes": self.max_bytes, "expires_at": iso(now + timedelta(seconds=self.upload_seconds))}

    def link(self, key: str) -> str:
        """An expiring GET link (the object's own Content-Type and Content-Disposition come with it)."""
        try:
            return str(self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key},
                                                       ExpiresIn=self.link_seconds))
        except (BotoCoreError, ClientError) as error:
            raise FilesUnavailable(f"cannot sign the results link now ({_code(error)})") from None

    def head(self, key: str, etag: str) -> int:
        """The size of the input, if it is still the upload with that ETag; InputGone if not."""
        try:
            return int(self._s3.head_object(Bucket=self.bucket, Key=key, IfMatch=_quoted(etag))["ContentLength"])
        except ClientError as error:
            _raise_gone(error, key)
            raise FilesUnavailable(f"cannot read the upload now ({_code(error)})") from None
        except BotoCoreError as error:
            raise FilesUnavailable(f"cannot read the upload now ({_code(error)})") from None

    def exists(self, key: str) -> bool:
        """Whether an object is at ``key`` (a missing key may answer 403 where the role cannot list the bucket);
        when S3 cannot say, True: nothing is failed on a guess."""
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as error:
            return _code(error) not in _MISSING + _DENIED
        except BotoCoreError:
            return True

    def blocks(self, key: str, etag: str, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]:
        """The input's bytes ``[start, end)`` in blocks, only while it is the upload with that ETag."""
        if end is not None and end <= start:
            return
        request: Dict[str, Any] = {"Bucket": self.bucket, "Key": key, "IfMatch": _quoted(etag)}
        if start or end is not None:
            request["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = self._s3.get_object(**request)["Body"]
            try:
                yield from body.iter_chunks(READ_BLOCK)
            finally:
                body.close()
        except ClientError as error:
            if _code(error) == "InvalidRange":  # starts at (or after) the end of the file: no bytes
                return
            _raise_gone(error, key)
            raise FilesUnavailable(f"cannot read the upload now ({_code(error)})") from None
        except BotoCoreError as error:
            raise FilesUnavailable(f"cannot read the upload now ({_code(error)})") from None

    def put(self, key: str, body: IO[bytes], filename: Optional[str] = None) -> None:
        extra: Dict[str, Any] = {"ContentType": NDJSON}
        if filename:
            extra["ContentDisposition"] = f'attachment; filename="{filename}"'
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, **extra)
        except (BotoCoreError, ClientError) as error:
            raise FilesUnavailable(f"cannot write {key} now ({_code(error)})") from None

    def join(self, key: str, segments: Sequence[Segment], filename: str) -> int:
        """Write ``key`` as the segments one after the other; its size.

        S3 copies a segment of at least 5 MiB server-side (UploadPartCopy); smaller ones are read and sent
        together until they make a part, so at most 5 MiB is in memory.
        """
        total = sum(segment.size for segment in segments)
        try:
            if total < MIN_PART:
                self._s3.put_object(Bucket=self.bucket, Key=key, Body=b"".join(self._read(segment)
                                                                               for segment in segments),
                                    ContentType=NDJSON, ContentDisposition=f'attachment; filename="{filename}"')
                return total
            upload = self._s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=NDJSON,
                                                      ContentDisposition=f'attachment; filename="{filename}"')
            upload_id = upload["UploadId"]
            try:
                parts = self._parts(key, upload_id, segments)
                self._s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                   MultipartUpload={"Parts": parts})
            except BaseException:
                self._abort(key, upload_id)
                raise
        except (BotoCoreError, ClientError) as error:
            raise FilesUnavailable(f"cannot write {key} now ({_code(error)})") from None
        return total

    def delete(self, keys: List[str]) -> None:
        """Best effort: what is not deleted now goes with the bucket's lifecycle rule."""
        for first in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[first:first + 1000]]
            try:
                self._s3.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except (BotoCoreError, ClientError):
                return

    def _parts(self, key: str, upload_id: str, segments: Sequence[Segment]) -> List[Dict[str, Any]]:
        parts: List[Dict[str, Any]] = []
        pending = bytearray()

        def send(body: bytes) -> None:
            number = len(parts) + 1
            answer = self._s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                          Body=body)
            parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        for segment in segments:
            position = 0
            while position < segment.size:
                left = segment.size - position
                if not pending and left >= MIN_PART:
                    size = min(left, MAX_COPY_PART)
                    number = len(parts) + 1
                    answer = self._s3.upload_part_copy(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                        CopySource={"Bucket": self.bucket, "Key": segment.key},
                        CopySourceRange=f"bytes={position}-{position + size - 1}")
                    parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
                    position += size
                    continue
                take = min(left, MIN_PART - len(pending))
                pending += self._read(segment, position, position + take)
                position += take
                if len(pending) >= MIN_PART:
                    send(bytes(pending))
                    pending.clear()
        if pending or not parts:
            send(bytes(pending))
        return parts

    def _read(self, segment: Segment, start: int = 0, end: Optional[int] = None) -> bytes:
        end = segment.size if end is None else end
        if end <= start:
            return b""
        answer = self._s3.get_object(Bucket=self.bucket, Key=segment.key, Range=f"bytes={start}-{end - 1}")
        data = bytes(answer["Body"].read())
        if len(data) != end - start:
            raise FilesUnavailable(f"{segment.key} is {len(data)} bytes from {start}, expected {end - start}")
        return data

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except (BotoCoreError, ClientError):
            pass  # the lifecycle rule aborts incomplete uploads after a day


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _raise_gone(error: ClientError, key: str) -> None:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in _CHANGED:
        raise InputGone("the uploaded file was replaced after the job started: a job scores the file it was "
                        "started with; create a new job for the new file") from None
    if code in _MISSING:
        raise InputGone("the uploaded file is no longer in the bucket") from None
    if code in _DENIED:
        raise InputGone("the uploaded file cannot be read: it was deleted, or this function may not read it") \
            from None


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "error"))
    return "unreachable"

