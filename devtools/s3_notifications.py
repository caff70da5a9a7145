"""S3's bucket notifications to a Lambda function, emulated for the local S3 (SeaweedFS sends none): watch a bucket
for new objects and invoke a handler asynchronously with the event S3 would send. Local use only; nothing
deployed imports this.

Contract: `S3NotificationDelivery(handler, s3, S3Notification(bucket, function, prefix, suffix), function_info)`
watches the bucket between `start()` and `stop()` and calls `handler(event, context)`:

- Watching: every `poll_seconds` (0.5) it lists the objects under the prefix (ListObjectsV2). Each object whose key
  ends with the suffix and that the previous listing did not have, or had with another ETag or LastModified (an
  upload of the key again), is one event of one record, as S3 sends them. S3 notifies what is written once the
  configuration is set: `since` says when that was (what is there at `start()` and older is not notified; the
  listing's LastModified has whole seconds, so that second counts as after); without it, nothing that is there
  at `start()` is notified. An object deleted and written again is.
  An upload of the same content to the same key within the same second is not seen (the listing cannot tell it).
- The event is S3's (eventVersion 2.1, eventSource aws:s3, awsRegion, eventTime (when it was seen), userIdentity,
  requestParameters, responseElements, and s3: s3SchemaVersion, configurationId, bucket name/ownerIdentity/arn,
  object key/size/eTag/sequencer, and versionId when the bucket keeps versions). The key is URL-encoded as S3
  does (form encoding: a space is `+`, a `+` is `%2B`; the `/` between "folders" is left as it is). The
  listing does not say how the object was written; `eventName` is `ObjectCreated:CompleteMultipartUpload` for a
  multipart ETag (`...-N`), `ObjectCreated:Put` when the object keeps a checksum (what the SDKs and the AWS CLI
  send with a PUT), else `ObjectCreated:Post` (a browser's form upload, the service's way in; also a PUT
  without a checksum, e.g. curl with a presigned URL, or a copy).
- Invoking: as Lambda's asynchronous invocation, from a queue of its own, one event at a time (Lambda would run
  them concurrently). An invocation that raises, answers something that is not JSON, or takes longer than the
  function's timeout is retried `len(retry_delays)` more times (Lambda: 2), after `retry_delays` seconds (AWS
  waits about 1 min, then 2 min; here 1 s, then 2 s by default), with the same request id, as Lambda does; after
  the last it is logged as dropped (no on-failure destination here). The return value is otherwise ignored.

`notification_delivery_for(handler, notification, s3)` checks the bucket and takes the function's timeout and
memory from .chalice/config.json, as the deployed function has them. `counters` counts the events, invocations,
failed invocations, retries and dropped events; `wait_until_idle(timeout)` waits until everything written before
the call has been notified and settled (succeeded or dropped). Each event is logged in one line when it is sent
(INFO), and so is each failed attempt (ERROR); neither a handler's exception nor an error from S3 (logged, listed
again after a second) stops the delivery.
"""

from __future__ import annotations

import base64
import heapq
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote_plus

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from devtools.chalice_stage import PROJECT_DIR, function_settings
from devtools.event_delivery import EventDeliveryError, FunctionInfo, Handler, LambdaContext, run_until_stopped

LOG = logging.getLogger(__name__)

OBJECT_CREATED = "s3:ObjectCreated:*"
# Lambda's asynchronous invocation retries a failed event twice, after about 1 and 2 minutes: here in seconds.
AWS_RETRY_DELAYS_SECONDS = (60.0, 120.0)
LOCAL_RETRY_DELAYS_SECONDS = (1.0, 2.0)
DEFAULT_POLL_SECONDS = 0.5
SOURCE_IP = "127.0.0.1"
_NO_BUCKET = ("404", "NoSuchBucket", "NotFound")


@dataclass(frozen=True)
class S3Notification:
    """One entry of a bucket's notification configuration: objects created under `prefix` ending with `suffix`
    invoke `function` (its name in the app)."""

    bucket: str
    function: str
    prefix: str = ""
    suffix: str = ""
    events: tuple[str, ...] = (OBJECT_CREATED,)
    configuration_id: str = ""

    @property
    def id(self) -> str:
        """The configuration's id (S3 makes one up when none is given; here the function's name)."""
        return self.configuration_id or f"{self.function}-notification"

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class CreatedObject:
    """An object the listing shows as new: what the event says about it."""

    key: str
    size: int
    etag: str  # without the quotes, as the event has it
    event_name: str
    version_id: str | None = None
    writer: str = ""  # the owner the listing names


@dataclass
class NotificationCounters:
    """What a notification delivery has done so far."""

    events: int = 0  # objects notified, one event each
    invocations: int = 0  # attempts, retries included
    failures: int = 0  # attempts that raised, timed out or answered something that is not JSON
    retries: int = 0
    dropped: int = 0  # events that failed every attempt


def event_key(key: str) -> str:
    """An object key as S3 writes it in an event: form-encoded (space `+`, `+` `%2B`), the `/` left as it is."""
    return quote_plus(key, safe="/")


def created_event_name(etag: str, has_checksum: bool) -> str:
    """Which ObjectCreated event S3 would have sent for an object, from what it keeps of the upload."""
    if "-" in etag:
        return "ObjectCreated:CompleteMultipartUpload"
    return "ObjectCreated:Put" if has_checksum else "ObjectCreated:Post"


def event_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as S3 writes eventTime: 1970-01-01T00:00:00.000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def s3_record(created: CreatedObject, notification: S3Notification, *, region: str, owner: str, sequencer: str,
              moment: datetime) -> dict[str, Any]:
    """The record of S3's event for one created object."""
    obj: dict[str, Any] = {"key": event_key(created.key), "size": created.size, "eTag": created.etag}
    if created.version_id is not None:
        obj["versionId"] = created.version_id
    obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time(moment),
        "eventName": created.event_name,
        "userIdentity": {"principalId": f"AWS:{created.writer or owner}"},
        "requestParameters": {"sourceIPAddress": SOURCE_IP},
        "responseElements": {"x-amz-request-id": secrets.token_hex(8).upper(),
                             "x-amz-id-2": base64.b64encode(secrets.token_bytes(48)).decode("ascii")},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": notification.id,
            "bucket": {"name": notification.bucket, "ownerIdentity": {"principalId": owner},
                       "arn": f"arn:aws:s3:::{notification.bucket}"},
            "object": obj,
        },
    }


@dataclass(frozen=True)
class _Listed:
    """An object as the listing shows it: a new upload of its key changes its ETag or LastModified."""

    etag: str
    last_modified: datetime
    writer: str

    @property
    def version(self) -> tuple[str, datetime]:
        return self.etag, self.last_modified


@dataclass(order=True)
class _Pending:
    """An event in the asynchronous invocation queue, due at `due` (time.monotonic())."""

    due: float
    order: int
    event: dict[str, Any] = field(compare=False)
    request_id: str = field(compare=False)
    attempt: int = field(default=1, compare=False)

    @property
    def location(self) -> str:
        s3 = self.event["Records"][0]["s3"]
        return f"s3://{s3['bucket']['name']}/{s3['object']['key']}"


class S3NotificationDelivery:
    """One bucket notification to one function; see the module's contract."""

    def __init__(self, handler: Handler, s3: BaseClient, notification: S3Notification, function: FunctionInfo, *,
                 poll_seconds: float = DEFAULT_POLL_SECONDS,
                 retry_delays: tuple[float, ...] = LOCAL_RETRY_DELAYS_SECONDS, since: datetime | None = None) -> None:
        if notification.events != (OBJECT_CREATED,):
            raise EventDeliveryError(f"only {OBJECT_CREATED} notifications are emulated, not {notification.events}")
        self.handler = handler
        self.s3 = s3
        self.notification = notification
        self.function = function
        self.poll_seconds = poll_seconds
        self.retry_delays = retry_delays
        self.since = since.astimezone(UTC).replace(microsecond=0) if since is not None else None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._counters = NotificationCounters()
        self._queue: list[_Pending] = []
        self._order = 0
        self._invoking = False
        self._seen: dict[str, _Listed] = {}
        self._owner = ""
        self._last_sequencer = 0
        self._listed_since = float("-inf")  # when the last complete listing began

    @property
    def counters(self) -> NotificationCounters:
        """A snapshot of the counters."""
        with self._lock:
            return replace(self._counters)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def start(self) -> None:
        """Check the bucket, take what it holds now (written before `since`, if given) as known, and start
        watching and invoking."""
        if self.running:
            raise EventDeliveryError("this delivery is already running")
        check_bucket(self.s3, self.notification)
        try:
            self._owner = str(self.s3.get_bucket_acl(Bucket=self.notification.bucket)["Owner"]["ID"])
        except (ClientError, KeyError):
            self._owner = self.function.account_id
        self._seen = {key: item for key, item in self._list().items()
                      if self.since is None or item.last_modified < self.since}
        self._stopping.clear()
        name = f"{self.notification.bucket}:{self.notification.function}"
        self._threads = [threading.Thread(target=self._run, args=(self._poll_once,), name=f"s3-notifications:{name}",
                                          daemon=True),
                         threading.Thread(target=self._run, args=(self._invoke_next,), name=f"lambda-async:{name}",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop watching; an invocation in progress finishes first (up to `timeout`). Idempotent. Events not yet
        invoked are lost, as they would be if Lambda's queue went away."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
            left = len(self._queue)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if left:
            LOG.warning("%s: stopped with %d event(s) not yet delivered", self.function.name, left)

    def wait_until_idle(self, timeout: float = 30) -> bool:
        """True once everything written before this call has been notified and settled, False after `timeout`."""
        if not self.running:
            raise EventDeliveryError("wait_until_idle() needs a started delivery")
        since = time.monotonic()
        deadline = since + timeout
        while True:
            with self._lock:
                if self._listed_since >= since and not self._queue and not self._invoking:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    # --- watching -------------------------------------------------------------------------------------------

    def _run(self, target: Callable[[], None]) -> None:
        run_until_stopped(self._stopping, target)

    def _list(self) -> dict[str, _Listed]:
        """The objects the notification covers, by key."""
        found: dict[str, _Listed] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.notification.bucket,
                                                                  Prefix=self.notification.prefix, FetchOwner=True)
        for page in pages:
            for item in page.get("Contents", []):
                if self.notification.matches(item["Key"]):
                    found[item["Key"]] = _Listed(etag=item["ETag"].strip('"'), last_modified=item["LastModified"],
                                                 writer=str(item.get("Owner", {}).get("ID", "")))
        return found

    def _poll_once(self) -> None:
        started = time.monotonic()
        listed = self._list()
        new = sorted((key for key, item in listed.items()
                      if key not in self._seen or self._seen[key].version != item.version),
                     key=lambda key: (listed[key].last_modified, key))
        for key in new:
            created = self._describe(key, listed[key])
            if created is not None:
                self._enqueue(created)
        self._seen = listed
        with self._lock:
            self._listed_since = started
        self._stopping.wait(self.poll_seconds)

    def _describe(self, key: str, listed: _Listed) -> CreatedObject | None:
        """What the event says of a new object (None if it is gone already)."""
        try:
            head = self.s3.head_object(Bucket=self.notification.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        etag = str(head.get("ETag", listed.etag)).strip('"')
        version = head.get("VersionId")
        has_checksum = any(name.startswith("Checksum") and name != "ChecksumType" for name in head)
        return CreatedObject(key=key, size=int(head.get("ContentLength", 0)), etag=etag,
                             event_name=created_event_name(etag, has_checksum),
                             version_id=str(version) if version and version != "null" else None,
                             writer=listed.writer)

    def _sequencer(self) -> str:
        # S3's sequencer: hexadecimal, increasing for the events of a key; compared after padding to one length.
        self._last_sequencer = max(self._last_sequencer + 1, time.time_ns())
        return f"{self._last_sequencer:018X}"

    def _enqueue(self, created: CreatedObject) -> None:
        record = s3_record(created, self.notification, region=self.function.region, owner=self._owner,
                           sequencer=self._sequencer(), moment=datetime.now(UTC))
        LOG.info("%s: %s s3://%s/%s (%d bytes)", self.function.name, record["eventName"], self.notification.bucket,
                 created.key, created.size)
        with self._wake:
            self._order += 1
            heapq.heappush(self._queue, _Pending(due=time.monotonic(), order=self._order,
                                                 event={"Records": [record]}, request_id=str(uuid.uuid4())))
            self._counters.events += 1
            self._wake.notify_all()

    # --- invoking -------------------------------------------------------------------------------------------

    def _invoke_next(self) -> None:
        with self._wake:
            while True:
                if self._stopping.is_set():
                    return
                now = time.monotonic()
                if self._queue and self._queue[0].due <= now:
                    pending = heapq.heappop(self._queue)
                    self._invoking = True
                    break
                self._wake.wait(min(self._queue[0].due - now, 1.0) if self._queue else 1.0)
        failure: str | None = "did not finish"
        try:
            failure = self._invoke(pending)
        finally:
            with self._wake:
                self._invoking = False
                self._settle(pending, failure)

    def _settle(self, pending: _Pending, failure: str | None) -> None:
        """Count an attempt; queue the event again after its delay, or drop it after the last attempt."""
        self._counters.invocations += 1
        self._counters.retries += int(pending.attempt > 1)
        if failure is None:
            return
        self._counters.failures += 1
        attempts = len(self.retry_delays) + 1
        if pending.attempt >= attempts:
            self._counters.dropped += 1
            LOG.error("%s (request %s) %s; the event for %s failed %d attempts: dropped", self.function.name,
                      pending.request_id, failure, pending.location, attempts)
            return
        delay = self.retry_delays[pending.attempt - 1]
        aws_delay = AWS_RETRY_DELAYS_SECONDS[min(pending.attempt, len(AWS_RETRY_DELAYS_SECONDS)) - 1]
        LOG.error("%s (request %s) %s; attempt %d of %d for %s, again in %g s (AWS: %g s)", self.function.name,
                  pending.request_id, failure, pending.attempt, attempts, pending.location, delay, aws_delay)
        self._order += 1
        heapq.heappush(self._queue, replace(pending, due=time.monotonic() + delay, order=self._order,
                                            attempt=pending.attempt + 1))
        self._wake.notify_all()

    def _invoke(self, pending: _Pending) -> str | None:
        """Call the handler once; None if it succeeded, else what went wrong, for the log line."""
        context = LambdaContext(self.function, request_id=pending.request_id)
        started = time.monotonic()
        try:
            # The runtime serialises the response even when nobody reads it: one that is not JSON is an error.
            json.dumps(self.handler(pending.event, context))
        except Exception as error:  # any exception fails the invocation, as on Lambda
            message = str(error).splitlines()[0] if str(error) else ""
            return f"raised {type(error).__name__}: {message}"
        elapsed = time.monotonic() - started
        if elapsed > self.function.timeout_seconds:
            return f"timed out: {elapsed:.1f} s, its timeout is {self.function.timeout_seconds:g} s"
        return None


def check_bucket(s3: BaseClient, notification: S3Notification) -> None:
    """Raise EventDeliveryError, naming the function and the endpoint, when the notification's bucket is not there."""
    try:
        s3.head_bucket(Bucket=notification.bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in _NO_BUCKET:
            raise
        raise EventDeliveryError(f"{notification.function}: there is no bucket {notification.bucket} "
                                 f"at {s3.meta.endpoint_url}") from None


def notification_delivery_for(handler: Handler, notification: S3Notification, s3: BaseClient, *, stage: str = "dev",
                              project_dir: Path = PROJECT_DIR, **options: Any) -> S3NotificationDelivery:
    """The delivery of `notification` to `handler`, with the deployed function's timeout and memory (from
    .chalice/config.json); the bucket must exist. `options` go to the delivery (poll_seconds, retry_delays,
    since)."""
    check_bucket(s3, notification)
    function = FunctionInfo.from_settings(function_settings(stage, notification.function, project_dir),
                                          s3.meta.region_name)
    return S3NotificationDelivery(handler, s3, notification, function, **options)
