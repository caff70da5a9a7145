"""`python -m devtools.deliver_events --stage dev`: a stage's event sources (SQS and Kinesis mappings, S3
notifications), run locally: what Lambda does to invoke the functions that are not behind the API.

Contract: puts the stage's Lambda environment from .chalice/config.json in os.environ (over what it inherited,
as `chalice local` does), and BATCH_ITEM_FAILURES=reported (the packaged template's records queue and stream
mappings report batch item failures); the endpoints and credentials (AWS_ENDPOINT_URL_SQS, ..._KINESIS, ..._S3,
..._DYNAMODB, AWS_ACCESS_KEY_ID, ...) are the ones its own environment gives it. Then it imports `app` and
delivers, until SIGTERM or SIGINT, to `app.score_queue`, `app.score_stream` and `app.score_chunk` (through
devtools/event_delivery.py, from the queue or stream their decorators name, with their batch settings, reporting
batch item failures where the packaged mapping does: not for the chunk queue) and to `app.start_job` (through
devtools/s3_notifications.py: each upload of a job's input to the stage's JOBS_BUCKET, as the deployed bucket's
notification invokes it; `--notify-since` (ISO 8601) says when that notification was set: uploads from then on
are notified, even those before this process started watching), or only to the handlers named (`python -m
devtools.deliver_events score_chunk`: one more chunk worker beside a running delivery). `--timings FILE` appends one
JSON line per invocation to FILE: its wall-clock and CPU time and the AWS requests the handler sent
(devtools/invocation_timings.py). It prints one startup line per handler saying what it delivers from; the
handlers write their own log lines. Exit code 1 with a one-line message when the app cannot be imported, a
handler has no event source, or its queue, stream or bucket does not exist.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

import boto3
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from devtools.chalice_stage import PROJECT_DIR, ChaliceStageError, stage_environment
from devtools.dev_s3 import raise_on_stop_signals
from devtools.event_delivery import EventDeliveryError, KinesisDelivery, SqsDelivery, delivery_for
from devtools.invocation_timings import InvocationTimings
from devtools.local_jobs import START_FUNCTION, JobsNames, LocalJobsError, jobs_notification
from devtools.s3_notifications import AWS_RETRY_DELAYS_SECONDS, S3NotificationDelivery, notification_delivery_for

HANDLERS = ("score_queue", "score_stream", "score_chunk", START_FUNCTION)
BATCH_ITEM_FAILURES = ("BATCH_ITEM_FAILURES", "reported")
# As the packaged mappings have it (devtools/stream_template.py, devtools/jobs_template.py): the records queue and
# stream report batch item failures; the chunk queue, one message per invocation, does not.
REPORTS_BATCH_ITEM_FAILURES = {"score_queue": True, "score_stream": True, "score_chunk": False}
Delivery = SqsDelivery | KinesisDelivery | S3NotificationDelivery


class _Stop(Exception):
    """Raised by the signal handler so that the deliveries stop in the `finally` block."""


def describe(name: str, delivery: Delivery) -> str:
    """What one delivery delivers from, with its batch settings, for the startup line."""
    timeout = f"function timeout {delivery.function.timeout_seconds:g} s"
    if isinstance(delivery, S3NotificationDelivery):
        notification = delivery.notification
        delays = " and ".join(f"{delay:g} s" for delay in delivery.retry_delays)
        aws = " and ".join(f"{delay / 60:g} min" for delay in AWS_RETRY_DELAYS_SECONDS)
        return (f"{name} from the notifications of S3 bucket {notification.bucket} ({', '.join(notification.events)} "
                f"under {notification.prefix} ending in {notification.suffix}, listed every "
                f"{delivery.poll_seconds:g} s; invoked asynchronously, {len(delivery.retry_delays)} retries after "
                f"{delays} (AWS: {aws}), {timeout})")
    if isinstance(delivery, SqsDelivery):
        sqs = delivery.mapping
        # AWS refuses a mapping whose queue hides a message for less than the function's timeout (make run uses
        # exactly that, the deployed queue six times it). Said here: a batch slower than it is delivered twice.
        visibility = delivery.sqs.get_queue_attributes(QueueUrl=sqs.queue_url, AttributeNames=["VisibilityTimeout"])
        source = f"SQS queue {sqs.queue_url}"
        batching = f"batch size {sqs.batch_size}, window {sqs.maximum_batching_window_in_seconds:g} s"
        reports = sqs.report_batch_item_failures
        timeout += f", visibility timeout {visibility['Attributes']['VisibilityTimeout']} s"
    else:
        kinesis = delivery.mapping
        source = f"Kinesis stream {kinesis.stream_name} from {kinesis.starting_position}"
        batching = f"batch size {kinesis.batch_size}, window {kinesis.maximum_batching_window_in_seconds:g} s"
        reports = kinesis.report_batch_item_failures
    reporting = "reporting" if reports else "not reporting"
    return f"{name} from {source} ({batching}, {reporting} batch item failures, {timeout})"


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("deliver_events: %(message)s"))
    logger = logging.getLogger("devtools")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _client(service: str) -> BaseClient:
    return boto3.session.Session().client(service)  # type: ignore[call-overload,no-any-return]


def _delivery(app_module: ModuleType, name: str, stage: str, project_dir: Path,
              notify_since: datetime | None) -> Delivery:
    """The delivery of the handler `name` in app.py: from its bucket's notification (start_job), else from the
    queue or stream its decorator names."""
    handler = getattr(app_module, name)
    if name == START_FUNCTION:
        notification = jobs_notification(JobsNames.from_environment(os.environ).bucket)
        return notification_delivery_for(handler, notification, _client("s3"), stage=stage, project_dir=project_dir,
                                         since=notify_since)
    return delivery_for(app_module.app, handler, _client, stage=stage, project_dir=project_dir,
                        report_batch_item_failures=REPORTS_BATCH_ITEM_FAILURES.get(name, True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.deliver_events", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="the Chalice stage whose environment applies (default dev)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the project (default: this one)")
    parser.add_argument("--notify-since", type=datetime.fromisoformat, default=None, metavar="ISO_TIME",
                        help="when the bucket notifications were set (default: when this starts watching)")
    parser.add_argument("--timings", type=Path, default=None, metavar="FILE",
                        help="append one JSON line per invocation to FILE: wall-clock and CPU time, AWS requests")
    parser.add_argument("handlers", nargs="*", default=list(HANDLERS),
                        help=f"handlers in app.py to deliver to (default: {' '.join(HANDLERS)})")
    args = parser.parse_args(argv)
    _configure_logging()
    raise_on_stop_signals(_Stop)
    deliveries: list[Delivery] = []
    try:
        os.environ.update(stage_environment(args.stage, args.project_dir))
        os.environ[BATCH_ITEM_FAILURES[0]] = BATCH_ITEM_FAILURES[1]
        if str(args.project_dir) not in sys.path:
            sys.path.insert(0, str(args.project_dir))
        timings = InvocationTimings(args.timings) if args.timings is not None else None
        if timings is not None:
            timings.watch_default_session()  # before the app builds its clients
        app_module = importlib.import_module("app")
        for name in args.handlers:
            delivery = _delivery(app_module, name, args.stage, args.project_dir, args.notify_since)
            if timings is not None:
                delivery.handler = timings.wrap(name, delivery.handler)
            deliveries.append(delivery)
            print(f"deliver_events: delivering to {describe(name, delivery)}", flush=True)
        for delivery in deliveries:
            delivery.start()
        signal.pause()
    except _Stop:
        return 0
    except (ChaliceStageError, EventDeliveryError, LocalJobsError, ClientError, BotoCoreError, ImportError,
            AttributeError) as error:
        print(f"deliver_events: {error}", file=sys.stderr)
        return 1
    finally:
        for delivery in deliveries:
            delivery.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
