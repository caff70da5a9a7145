"""What `make package` merges into Chalice's SAM template for the queue and stream handlers.

Contract: `merge_template(stage)` is a template fragment for `chalice package --merge-template`. Chalice's
template deep-merges it (dict by dict; anything else in the fragment wins). It:

- creates the stage's records queue (a visibility timeout of six times the queue function's timeout, as AWS
  advises, and a dead-letter queue after MAX_RECEIVES deliveries), its results queue (unless RESULTS_QUEUE is a
  URL: a queue that already exists elsewhere) and its Kinesis stream (on-demand);
- gives the two event source mappings `FunctionResponseTypes: [ReportBatchItemFailures]`, which Chalice cannot
  set, and makes each function depend on its queue or stream, so that it exists before its mapping (Chalice's
  mappings name them by ARN, built from the same names; the merge cannot replace that ARN, since it merges
  dict into dict);
- sends what the stream mapping drops (records that expire before they could be scored: the handler answers
  every record it can, so only a transient failure that outlasts the stream's retention gets there) to the
  dead-letter queue, as a note of the shard and the sequence numbers;
- sets `BATCH_ITEM_FAILURES=reported` on the two functions, so the handlers answer with the failed items
  only when the mapping reads that answer (without it they fail the whole batch: see chalicelib/streams).

`CHALICE_NAMES` are the logical ids Chalice 1.34 gives those resources; `check_merged` fails a packaging run
whose template no longer has them, rather than deploy a half-merged resource.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalicelib.settings import BATCH_ITEM_FAILURES, BATCH_ITEM_FAILURES_REPORTED, RESULTS_QUEUE
from chalicelib.streams.event_sources import EventSources
from devtools.chalice_stage import PROJECT_DIR, function_settings, stage_environment

QUEUE_FUNCTION, STREAM_FUNCTION = "score_queue", "score_stream"
# Logical ids in Chalice's SAM template: the function's CamelCase name, and its event source under it.
CHALICE_NAMES = {QUEUE_FUNCTION: ("ScoreQueue", "ScoreQueueSqsEventSource"),
                 STREAM_FUNCTION: ("ScoreStream", "ScoreStreamKinesisEventSource")}
MAX_RECEIVES = 5
VISIBILITY_FACTOR = 6
RETENTION_SECONDS = 14 * 24 * 3600  # the longest SQS keeps a message: time to look at the dead letters
REPORT = ["ReportBatchItemFailures"]


def merge_template(stage: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    env = stage_environment(stage, project_dir, QUEUE_FUNCTION)
    sources = EventSources.from_mapping(env)
    queue_timeout = function_settings(stage, QUEUE_FUNCTION, project_dir).timeout_seconds
    results = env.get(RESULTS_QUEUE, "")
    queue_fn, queue_event = CHALICE_NAMES[QUEUE_FUNCTION]
    stream_fn, stream_event = CHALICE_NAMES[STREAM_FUNCTION]
    reported = {"Environment": {"Variables": {BATCH_ITEM_FAILURES: BATCH_ITEM_FAILURES_REPORTED}}}
    resources: dict[str, Any] = {
        "RecordsDeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": f"{sources.queue}-dlq", "MessageRetentionPeriod": RETENTION_SECONDS}},
        "RecordsQueue": {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": sources.queue, "VisibilityTimeout": VISIBILITY_FACTOR * queue_timeout,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["RecordsDeadLetterQueue", "Arn"]},
                              "maxReceiveCount": MAX_RECEIVES}}},
        "RecordsStream": {"Type": "AWS::Kinesis::Stream", "Properties": {
            "Name": sources.stream, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}},
        queue_fn: {"DependsOn": ["RecordsQueue"], "Properties": {**reported, "Events": {queue_event: {
            "Properties": {"FunctionResponseTypes": REPORT}}}}},
        stream_fn: {"DependsOn": ["RecordsStream"], "Properties": {**reported, "Events": {stream_event: {
            "Properties": {"FunctionResponseTypes": REPORT, "DestinationConfig": {"OnFailure": {
                "Type": "SQS", "Destination": {"Fn::GetAtt": ["RecordsDeadLetterQueue", "Arn"]}}}}}}}},
    }
    if results and not results.startswith(("https://", "http://")):
        resources["ResultsQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": results}}
    return {"Resources": resources}


def check_merged(template: dict[str, Any]) -> list[str]:
    """What is wrong with a packaged template that had the fragment merged in (nothing: an empty list)."""
    problems = []
    resources = template.get("Resources", {})
    for function, (logical_id, event) in CHALICE_NAMES.items():
        resource = resources.get(logical_id, {})
        if resource.get("Type") != "AWS::Serverless::Function":
            problems.append(f"the template has no function {logical_id} for {function}: Chalice names it otherwise")
        elif "Type" not in resource.get("Properties", {}).get("Events", {}).get(event, {}):
            problems.append(f"{logical_id} has no event source {event}: Chalice names it otherwise")
    return problems
