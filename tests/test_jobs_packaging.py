"""Jobs, as `make package` deploys them (devtools/jobs_template.py merged into Chalice's template): the bucket the
page uploads to, the notification that starts a job, the table and the chunk queue, and what each function's role
may touch."""

import json
import re
from pathlib import Path

import pytest
from cfnlint.api import lint_all
from packaging_support import as_list, build_package, granted, packaged_resources, policy_actions

from chalicelib.jobs.layout import INPUT_SUFFIX, PREFIX, input_key, new_job_id, part_key, results_key
from chalicelib.jobs.settings import JobSettings
from devtools import jobs_template
from devtools.chalice_stage import function_settings, stage_environment

PROJECT = Path(__file__).resolve().parent.parent
JOB_FUNCTIONS = {"StartJob": "start_job", "ScoreChunk": "score_chunk"}
ROLES = ("ApiHandlerRole", "StartJobRole", "ScoreChunkRole")


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"jobs-package-{request.param}")
    result = build_package(request.param, out)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return request.param, out


def test_the_jobs_bucket_is_encrypted_private_tls_only_and_open_to_the_page_only(package):
    stage, out = package
    template = packaged_resources(out)
    bucket = template["JobsBucket"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    properties = bucket["Properties"]
    assert properties["BucketName"] == f"pfa-jobs-{stage}" == stage_environment(stage)["JOBS_BUCKET"]
    assert properties["BucketEncryption"] == {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    # The page comes from the stage's REST API: only that origin may POST the upload and GET the results.
    assert properties["CorsConfiguration"] == {"CorsRules": [{
        "AllowedOrigins": [{"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}],
        "AllowedMethods": ["POST", "GET", "HEAD"], "AllowedHeaders": ["*"],
        "ExposedHeaders": ["ETag", "Content-Length", "Content-Range"], "MaxAge": 3000}]}
    assert template["RestAPI"]["Type"] == "AWS::Serverless::Api"
    (statement,) = template["JobsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert template["JobsBucketPolicy"]["Properties"]["Bucket"] == {"Ref": "JobsBucket"}
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bucket_deletes_a_jobs_files_after_the_retention_and_incomplete_uploads_after_a_day(package):
    stage, out = package
    template = packaged_resources(out)
    rules = {rule["Id"]: rule for rule in template["JobsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    retention = JobSettings.from_mapping(stage_environment(stage)).retention_days
    assert retention == 7
    assert rules["ExpireJobs"] == {"Id": "ExpireJobs", "Status": "Enabled", "Prefix": PREFIX,
                                   "ExpirationInDays": retention}
    assert rules["AbortIncompleteUploads"] == {"Id": "AbortIncompleteUploads", "Status": "Enabled",
                                               "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}
    assert set(rules) == {"ExpireJobs", "AbortIncompleteUploads"}


def test_an_upload_and_nothing_else_invokes_start_job_and_only_s3_for_this_bucket_may(package):
    stage, out = package
    template = packaged_resources(out)
    (notification,) = template["JobsBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Function"] == {"Fn::GetAtt": ["StartJob", "Arn"]}
    rules = {rule["Name"]: rule["Value"] for rule in notification["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": PREFIX, "suffix": INPUT_SUFFIX}

    def notified(key):
        return key.startswith(rules["prefix"]) and key.endswith(rules["suffix"])

    job = new_job_id()
    assert notified(input_key(job)) and not notified(results_key(job)) and not notified(part_key(job, 1))
    permission = template["JobsBucketInvokesStartJob"]
    assert permission["Type"] == "AWS::Lambda::Permission"
    assert permission["Properties"] == {
        "Action": "lambda:InvokeFunction", "FunctionName": {"Fn::GetAtt": ["StartJob", "Arn"]},
        "Principal": "s3.amazonaws.com", "SourceAccount": {"Ref": "AWS::AccountId"},
        # From the name, not a Ref to the bucket: the bucket waits for the permission (S3 checks it).
        "SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::pfa-jobs-{stage}"}}
    assert template["JobsBucket"]["DependsOn"] == ["JobsBucketInvokesStartJob"]
    invokes = template["StartJobAsyncInvokes"]
    assert invokes["Type"] == "AWS::Lambda::EventInvokeConfig"
    assert invokes["Properties"] == {"FunctionName": {"Ref": "StartJob"}, "Qualifier": "$LATEST",
                                     "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
    assert "Events" not in template["StartJob"]["Properties"]  # a plain function: S3 is its only caller


def test_the_jobs_table_is_keyed_by_job_id_on_demand_and_expires_jobs(package):
    stage, out = package
    template = packaged_resources(out)
    table = template["JobsTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"] == {
        "TableName": f"pfa-serving-{stage}-jobs", "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "job_id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "job_id", "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True}}


def test_score_chunk_reads_the_chunk_queue_which_has_a_dead_letter_queue(package):
    stage, out = package
    template = packaged_resources(out)
    for logical_id, function in JOB_FUNCTIONS.items():
        timeout = function_settings(stage, function).timeout_seconds
        assert timeout == 300
        assert template[logical_id]["Properties"]["Timeout"] == timeout
    queue = template["JobsQueue"]["Properties"]
    assert queue["QueueName"] == f"pfa-serving-{stage}-chunks"
    assert queue["VisibilityTimeout"] == 6 * template["ScoreChunk"]["Properties"]["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}
    assert template["JobsDeadLetterQueue"]["Properties"]["QueueName"] == f"pfa-serving-{stage}-chunks-dlq"
    mapping = template["ScoreChunk"]["Properties"]["Events"]["ScoreChunkSqsEventSource"]
    assert mapping["Type"] == "SQS"
    assert mapping["Properties"]["Queue"] == {
        "Fn::Sub": f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:pfa-serving-{stage}-chunks"}
    assert mapping["Properties"]["BatchSize"] == 1
    # One message an invocation: the handler raises to fail it, so there is no partial answer to report.
    assert "FunctionResponseTypes" not in mapping["Properties"]
    assert "BATCH_ITEM_FAILURES" not in template["ScoreChunk"]["Properties"]["Environment"]["Variables"]
    assert template["ScoreChunk"]["DependsOn"] == ["JobsQueue"]


def test_every_function_gets_the_stages_jobs_names(package):
    stage, out = package
    template = packaged_resources(out)
    for logical_id in ("APIHandler", *JOB_FUNCTIONS):
        variables = template[logical_id]["Properties"]["Environment"]["Variables"]
        assert {name: variables[name] for name in ("JOBS_BUCKET", "JOBS_TABLE", "JOBS_QUEUE")} == {
            "JOBS_BUCKET": f"pfa-jobs-{stage}", "JOBS_TABLE": f"pfa-serving-{stage}-jobs",
            "JOBS_QUEUE": f"pfa-serving-{stage}-chunks"}


def test_no_role_reaches_another_bucket_prefix_table_or_queue_or_all_of_them(package):
    stage, out = package
    template = packaged_resources(out)
    for role in ROLES:
        for action, resource in granted(template[role]):
            service = action.split(":")[0]
            assert resource != "*" and not resource.endswith(":*"), (role, action, resource)
            if service == "s3" and "pfa-jobs" in resource:
                assert resource == f"arn:aws:s3:::pfa-jobs-{stage}/jobs/*", (role, action)
            elif service == "dynamodb":
                assert resource == f"arn:aws:dynamodb:*:*:table/pfa-serving-{stage}-jobs", (role, action)
            elif service == "sqs":
                assert resource.startswith(f"arn:aws:sqs:*:*:pfa-serving-{stage}-"), (role, action)
            assert service in {"s3", "dynamodb", "sqs", "logs"}, (role, action)
    assert not {action for action, _ in granted(template["ApiHandlerRole"]) if action.startswith("sqs:")}


def test_the_packaged_template_passes_cfn_lint(package):
    """Schema, references and dependency cycles (the bucket, its permission and start_job), as CloudFormation
    checks them; informational notes aside."""
    _, out = package
    problems = [f"{match.rule.id} {match.message}" for match in lint_all((out / "sam.json").read_text())
                if not match.rule.id.startswith("I")]
    assert problems == []


# ----- without packaging: the fragment's own checks, and the policy files against the code ---------------------


def write_project(root, **env):
    config = {"app_name": "pfa-serving", "environment_variables": {},
              "stages": {"qa": {"environment_variables": {"JOBS_BUCKET": "b", "JOBS_TABLE": "t", "JOBS_QUEUE": "q",
                                                          **env},
                                "lambda_functions": {"score_chunk": {"lambda_timeout": 120}}}}}
    (root / ".chalice").mkdir()
    (root / ".chalice" / "config.json").write_text(json.dumps(config))
    return root


def test_the_retention_and_the_visibility_timeout_follow_the_stages_settings(tmp_path):
    resources = jobs_template.merge_template("qa", write_project(tmp_path, JOB_RETENTION_DAYS="30"))["Resources"]
    (expire, _) = resources["JobsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert expire["ExpirationInDays"] == 30
    assert resources["JobsQueue"]["Properties"]["VisibilityTimeout"] == 720
    assert resources["JobsDeadLetterQueue"]["Properties"]["QueueName"] == "q-dlq"


def test_a_stage_without_a_jobs_bucket_is_not_packaged(tmp_path):
    with pytest.raises(ValueError, match="stage qa has no JOBS_BUCKET"):
        jobs_template.merge_template("qa", write_project(tmp_path, JOBS_BUCKET=""))


def test_a_template_without_chalices_names_for_the_jobs_functions_is_refused():
    problems = jobs_template.check_merged({"Resources": {"ScoreChunk": {"Type": "AWS::Serverless::Function"}}})
    assert problems == ["the template has no function StartJob for start_job: Chalice names it otherwise",
                        "ScoreChunk has no event source ScoreChunkSqsEventSource: Chalice names it otherwise"]


# What each boto3 call of the jobs code needs (multipart copy: PutObject on the target, GetObject on the source;
# a presigned POST or GET link is signed by the function's role, so the role needs what the link does).
CALL_ACTIONS = {
    "generate_presigned_post": "s3:PutObject", "generate_presigned_url": "s3:GetObject",
    "get_object": "s3:GetObject", "head_object": "s3:GetObject", "put_object": "s3:PutObject",
    "upload_fileobj": "s3:PutObject", "delete_object": "s3:DeleteObject", "delete_objects": "s3:DeleteObject",
    "create_multipart_upload": "s3:PutObject", "upload_part": "s3:PutObject", "upload_part_copy": "s3:PutObject",
    "complete_multipart_upload": "s3:PutObject", "abort_multipart_upload": "s3:AbortMultipartUpload",
    "list_parts": "s3:ListMultipartUploadParts", "copy_object": "s3:PutObject",
    "put_item": "dynamodb:PutItem", "get_item": "dynamodb:GetItem", "update_item": "dynamodb:UpdateItem",
    "send_message": "sqs:SendMessage", "send_message_batch": "sqs:SendMessage", "get_queue_url": "sqs:GetQueueUrl",
    # e.g. score_chunk shortening its message's wait before a retry (the mapping does the rest under the role)
    "change_message_visibility": "sqs:ChangeMessageVisibility", "get_queue_attributes": "sqs:GetQueueAttributes",
}
# Calls the contract grants no function: using one needs the policies (and the contract) changed first.
UNGRANTED_CALLS = ("delete_item", "query", "scan", "batch_write_item", "batch_get_item", "transact_write_items",
                   "list_objects_v2", "list_objects", "list_multipart_uploads", "receive_message", "delete_message",
                   "create_table", "create_bucket", "create_queue")


def test_the_jobs_code_calls_only_what_the_jobs_policies_grant(project_dir):
    source = "\n".join(path.read_text() for path in (project_dir / "chalicelib" / "jobs").rglob("*.py"))
    calls = set(re.findall(r"\.([a-z_0-9]+)\(", source))
    assert not calls & set(UNGRANTED_CALLS), "the jobs policies grant none of these"
    granted_anywhere = set().union(*(policy_actions(project_dir / ".chalice" / f"policy-{stage}{suffix}.json")
                                     for stage in ("dev", "prod") for suffix in ("", "-start-job", "-chunk")))
    assert {CALL_ACTIONS[call] for call in calls & set(CALL_ACTIONS)} <= granted_anywhere


@pytest.mark.parametrize("suffix, expected", [
    ("", {"s3:PutObject", "s3:GetObject", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"}),
    ("-start-job", {"s3:GetObject", "dynamodb:GetItem", "dynamodb:UpdateItem", "sqs:SendMessage", "sqs:GetQueueUrl"}),
    ("-chunk", {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts", "dynamodb:GetItem", "dynamodb:UpdateItem", "sqs:ReceiveMessage",
                "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}),
])
def test_each_jobs_policy_file_adds_the_contracts_actions_on_the_jobs_resources_only(project_dir, suffix, expected):
    models = {"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions",
              "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    for stage in ("dev", "prod"):
        statements = json.loads((project_dir / ".chalice" / f"policy-{stage}{suffix}.json").read_text())["Statement"]
        jobs = {action for statement in statements for action in as_list(statement["Action"])
                for resource in as_list(statement["Resource"])
                if re.search(rf"pfa-jobs-{stage}/|pfa-serving-{stage}-(jobs|chunks)$", resource)}
        assert jobs == expected, (stage, suffix)
        assert policy_actions(project_dir / ".chalice" / f"policy-{stage}{suffix}.json") == models | expected
