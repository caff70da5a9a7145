"""`python -m devtools.deliver_events --stage dev`: a stage's SQS and Kinesis event source mappings, run locally.

Contract: puts the stage's Lambda environment from .chalice/config.json in os.environ (over what it inherited,
as `chalice local` does), and BATCH_ITEM_FAILURES=reported (the packaged template's mappings report batch item
failures); the endpoints and credentials (AWS_ENDPOINT_URL_SQS, ..._KINESIS, ..._S3, AWS_ACCESS_KEY_ID, ...)
are the ones its own environment gives it. Then it imports `app` and delivers, through
devtools/event_delivery.py, to `app.score_queue` and `app.score_stream` (or the handlers named) from the queue
and stream their decorators name, with their batch settings, until SIGTERM or SIGINT. It prints one startup
line saying what it delivers from; the handlers write their own log lines. Exit code 1 with a one-line message
when the app cannot be imported, a handler has no event source, or its queue or stream does not exist.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
from pathlib import Path

import boto3
from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from devtools.chalice_stage import PROJECT_DIR, ChaliceStageError, stage_environment
from devtools.dev_s3 import raise_on_stop_signals
from devtools.event_delivery import EventDeliveryError, KinesisDelivery, SqsDelivery, delivery_for

HANDLERS = ("score_queue", "score_stream")
BATCH_ITEM_FAILURES = ("BATCH_ITEM_FAILURES", "reported")


class _Stop(Exception):
    """Raised by the signal handler so that the deliveries stop in the `finally` block."""


def describe(name: str, delivery: SqsDelivery | KinesisDelivery) -> str:
    """What one delivery delivers from, with its batch settings, for the startup line."""
    timeout = f"function timeout {delivery.function.timeout_seconds:g} s"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.deliver_events", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="the Chalice stage whose environment applies (default dev)")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="the project (default: this one)")
    parser.add_argument("handlers", nargs="*", default=list(HANDLERS),
                        help=f"handlers in app.py to deliver to (default: {' '.join(HANDLERS)})")
    args = parser.parse_args(argv)
    _configure_logging()
    raise_on_stop_signals(_Stop)
    deliveries: list[SqsDelivery | KinesisDelivery] = []
    try:
        os.environ.update(stage_environment(args.stage, args.project_dir))
        os.environ[BATCH_ITEM_FAILURES[0]] = BATCH_ITEM_FAILURES[1]
        if str(args.project_dir) not in sys.path:
            sys.path.insert(0, str(args.project_dir))
        app_module = importlib.import_module("app")
        for name in args.handlers:
            delivery = delivery_for(app_module.app, getattr(app_module, name), _client, stage=args.stage,
                                    project_dir=args.project_dir)
            deliveries.append(delivery)
            print(f"deliver_events: delivering to {describe(name, delivery)}", flush=True)
        for delivery in deliveries:
            delivery.start()
        signal.pause()
    except _Stop:
        return 0
    except (ChaliceStageError, EventDeliveryError, ClientError, BotoCoreError, ImportError, AttributeError) as error:
        print(f"deliver_events: {error}", file=sys.stderr)
        return 1
    finally:
        for delivery in deliveries:
            delivery.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
