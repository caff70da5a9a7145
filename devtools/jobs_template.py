"""What `make package` merges into Chalice's SAM template for jobs: the bucket, the table and the chunk queue.

Contract: `merge_template(stage)` is a template fragment for `chalice package --merge-template` (merged with the
streams fragment by devtools/package.py). For the stage's JOBS_BUCKET, JOBS_TABLE and JOBS_QUEUE it creates:

- the jobs bucket: SSE-S3, every public access blocked, TLS only, CORS letting the web page (served by the
  stage's REST API, on its execute-api origin) POST the upload and GET the results, a lifecycle deleting
  everything under `jobs/` JOB_RETENTION_DAYS after it was written (and any multipart upload left incomplete
  after a day), and a notification invoking `start_job` for each upload (`jobs/<id>/input`);
- the permission that lets S3 invoke `start_job` for that bucket only, which the bucket waits for (S3 checks it
  when the notification is set). Its SourceArn is built from the bucket's name: a Ref to the bucket would make a
  cycle (bucket -> permission -> bucket);
- `start_job`'s asynchronous invocation settings (Lambda's two retries, events dropped after MAX_EVENT_AGE_SECONDS);
- the jobs table (hash key `job_id`, on demand, TTL on `expires_at`);
- the chunk queue (a visibility timeout of six times `score_chunk`'s timeout, a dead-letter queue after
  MAX_RECEIVES deliveries), which `score_chunk` depends on, so that it exists before the function's mapping
  (Chalice names it by ARN, built from the same name; the deep merge cannot replace that ARN).

`START_LOGICAL_ID`, `CHUNK_LOGICAL_ID` and `CHUNK_EVENT` are the logical ids Chalice 1.34 gives the two functions
and the chunk mapping; `check_merged` fails a packaging run whose template no longer has them, rather than deploy a
notification or a queue nothing reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chalicelib.jobs.layout import INPUT_SUFFIX, PREFIX
from chalicelib.jobs.settings import JobSettings
from devtools.chalice_stage import PROJECT_DIR, function_settings, stage_environment
from devtools.stream_template import MAX_RECEIVES, RETENTION_SECONDS, VISIBILITY_FACTOR

START_FUNCTION, CHUNK_FUNCTION = "start_job", "score_chunk"
START_LOGICAL_ID, CHUNK_LOGICAL_ID, CHUNK_EVENT = "StartJob", "ScoreChunk", "ScoreChunkSqsEventSource"
BUCKET, PERMISSION, TABLE = "JobsBucket", "JobsBucketInvokesStartJob", "JobsTable"
QUEUE, DEAD_LETTERS = "JobsQueue", "JobsDeadLetterQueue"
# The page is served by the stage's REST API: its origin is the execute-api host (no path, no stage).
API_ORIGIN = "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
# Lambda keeps an event it could not run yet (throttled, or between retries) up to six hours by default; an
# upload nobody has started within the hour is better dropped than started so late that no one is waiting for it.
MAX_EVENT_AGE_SECONDS = 3600
ASYNC_RETRIES = 2
INCOMPLETE_UPLOAD_DAYS = 1
CORS_MAX_AGE_SECONDS = 3000


def merge_template(stage: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    jobs = JobSettings.from_mapping(stage_environment(stage, project_dir))
    if jobs.missing:
        raise ValueError(f"stage {stage} has no {jobs.missing} in .chalice/config.json: jobs cannot be packaged")
    bucket = str(jobs.bucket)
    chunk_timeout = function_settings(stage, CHUNK_FUNCTION, project_dir).timeout_seconds
    start_arn = {"Fn::GetAtt": [START_LOGICAL_ID, "Arn"]}
    resources: dict[str, Any] = {
        PERMISSION: {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": start_arn, "Principal": "s3.amazonaws.com",
            "SourceAccount": {"Ref": "AWS::AccountId"},
            "SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{bucket}"}}},
        BUCKET: {"Type": "AWS::S3::Bucket", "DependsOn": [PERMISSION], "Properties": {
            "BucketName": bucket, **_bucket_properties(jobs.retention_days, start_arn)}},
        "JobsBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": BUCKET}, "PolicyDocument": _tls_only(bucket)}},
        "StartJobAsyncInvokes": {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {
            "FunctionName": {"Ref": START_LOGICAL_ID}, "Qualifier": "$LATEST",
            "MaximumRetryAttempts": ASYNC_RETRIES, "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS}},
        TABLE: {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": jobs.table, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "job_id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "job_id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}},
        DEAD_LETTERS: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": f"{jobs.queue}-dlq", "MessageRetentionPeriod": RETENTION_SECONDS}},
        QUEUE: {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": jobs.queue, "VisibilityTimeout": VISIBILITY_FACTOR * chunk_timeout,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [DEAD_LETTERS, "Arn"]},
                              "maxReceiveCount": MAX_RECEIVES}}},
        # No ReportBatchItemFailures here: with one message per invocation, raising fails exactly that message,
        # which is all a partial-failure answer could say (and the handler raises rather than answers).
        CHUNK_LOGICAL_ID: {"DependsOn": [QUEUE]},
    }
    return {"Resources": resources}


def _bucket_properties(retention_days: int, start_arn: dict[str, Any]) -> dict[str, Any]:
    return {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "CorsConfiguration": {"CorsRules": [{
            "AllowedOrigins": [{"Fn::Sub": API_ORIGIN}], "AllowedMethods": ["POST", "GET", "HEAD"],
            "AllowedHeaders": ["*"], "ExposedHeaders": ["ETag", "Content-Length", "Content-Range"],
            "MaxAge": CORS_MAX_AGE_SECONDS}]},
        "LifecycleConfiguration": {"Rules": [
            {"Id": "ExpireJobs", "Status": "Enabled", "Prefix": PREFIX, "ExpirationInDays": retention_days},
            {"Id": "AbortIncompleteUploads", "Status": "Enabled",
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS}}]},
        "NotificationConfiguration": {"LambdaConfigurations": [{
            "Event": "s3:ObjectCreated:*", "Function": start_arn,
            "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": PREFIX},
                                           {"Name": "suffix", "Value": INPUT_SUFFIX}]}}}]},
    }


def _tls_only(bucket: str) -> dict[str, Any]:
    arn = f"arn:${{AWS::Partition}}:s3:::{bucket}"
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [{"Fn::Sub": arn}, {"Fn::Sub": f"{arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


def check_merged(template: dict[str, Any]) -> list[str]:
    """What is wrong with a packaged template that had the fragment merged in (nothing: an empty list)."""
    problems = []
    resources = template.get("Resources", {})
    for function, logical_id in ((START_FUNCTION, START_LOGICAL_ID), (CHUNK_FUNCTION, CHUNK_LOGICAL_ID)):
        if resources.get(logical_id, {}).get("Type") != "AWS::Serverless::Function":
            problems.append(f"the template has no function {logical_id} for {function}: Chalice names it otherwise")
    events = resources.get(CHUNK_LOGICAL_ID, {}).get("Properties", {}).get("Events", {})
    if CHUNK_LOGICAL_ID in resources and events.get(CHUNK_EVENT, {}).get("Type") != "SQS":
        problems.append(f"{CHUNK_LOGICAL_ID} has no event source {CHUNK_EVENT}: Chalice names it otherwise")
    return problems
