"""devtools/local_jobs.py on the real local servers (SeaweedFS from the `s3` fixture, moto from `aws`): a stage's jobs
bucket, table and chunk queue, created idempotently as deployed (devtools/jobs_template.py), a CORS rule a browser
page on the service's origin gets through, and `.local/jobs.json`."""

import json
import os
import uuid

import pytest
from browser_requests import form_post, get, preflight

from devtools import jobs_template
from devtools.chalice_stage import stage_environment
from devtools.local_jobs import (
    CORS_EXPOSED_HEADERS,
    JobsNames,
    LocalJobsError,
    create_stage_jobs,
    jobs_notification,
    local_origins,
    publish_local_jobs,
    withdraw_local_jobs,
)
from devtools.local_streams import MAX_RECEIVE_COUNT

PAGE = "http://127.0.0.1:8000"
JOB_ID = "0123456789abcdef0123456789abcdef"


def unique_names() -> JobsNames:
    tag = uuid.uuid4().hex[:12]
    return JobsNames(bucket=f"jobs-{tag}", table=f"jobs-{tag}", queue=f"chunks-{tag}")


def deployed_resources() -> dict:
    return jobs_template.merge_template("dev")["Resources"]


def test_the_names_are_the_stages():
    assert JobsNames.from_environment(stage_environment("dev")) == JobsNames(
        bucket="pfa-jobs-dev", table="pfa-serving-dev-jobs", queue="pfa-serving-dev-chunks")
    assert JobsNames.from_environment(stage_environment("prod")).dead_letter_queue == "pfa-serving-prod-chunks-dlq"
    with pytest.raises(LocalJobsError, match="JOBS_TABLE, JOBS_QUEUE"):
        JobsNames.from_environment({"JOBS_BUCKET": "b", "JOBS_TABLE": " "})


def test_the_origins_are_the_local_services():
    assert local_origins(8123) == ("http://127.0.0.1:8123", "http://localhost:8123")


def test_the_resources_are_created_as_deployed_and_again_without_harm(s3, aws):
    names = unique_names()
    created = create_stage_jobs(s3, aws, names, origins=local_origins(8000), visibility_timeout=3)
    s3_client, dynamodb, sqs = s3.client(), aws.client("dynamodb"), aws.client("sqs")
    deployed = deployed_resources()

    assert created.bucket.name == names.bucket and created.bucket.arn == f"arn:aws:s3:::{names.bucket}"
    assert "Status" not in s3_client.get_bucket_versioning(Bucket=names.bucket)  # as deployed: no versions
    [rule] = s3_client.get_bucket_cors(Bucket=names.bucket)["CORSRules"]
    [deployed_rule] = deployed["JobsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule == {"AllowedOrigins": ["http://127.0.0.1:8000", "http://localhost:8000"],
                    "AllowedMethods": deployed_rule["AllowedMethods"],
                    "AllowedHeaders": deployed_rule["AllowedHeaders"],
                    "ExposeHeaders": deployed_rule["ExposedHeaders"], "MaxAgeSeconds": deployed_rule["MaxAge"]}

    table = dynamodb.describe_table(TableName=names.table)["Table"]
    deployed_table = deployed["JobsTable"]["Properties"]
    assert table["KeySchema"] == deployed_table["KeySchema"]
    assert table["AttributeDefinitions"] == deployed_table["AttributeDefinitions"]
    assert table["BillingModeSummary"]["BillingMode"] == deployed_table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TableArn"] == created.table.arn
    ttl = dynamodb.describe_time_to_live(TableName=names.table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED",
                   "AttributeName": deployed_table["TimeToLiveSpecification"]["AttributeName"]}

    attributes = sqs.get_queue_attributes(QueueUrl=created.queue.url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "3"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": created.dead_letter_queue.arn,
                                                       "maxReceiveCount": MAX_RECEIVE_COUNT}
    assert MAX_RECEIVE_COUNT == deployed["JobsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert created.dead_letter_queue.name == names.queue + "-dlq"
    for queue in (created.queue, created.dead_letter_queue):
        assert sqs.get_queue_url(QueueName=queue.name)["QueueUrl"] == queue.url
        assert queue.arn == f"arn:aws:sqs:{aws.region}:123456789012:{queue.name}"
    assert created.environment() == {"JOBS_BUCKET": names.bucket, "JOBS_TABLE": names.table,
                                     "JOBS_QUEUE": names.queue}

    # Again: the same resources. Another port and visibility timeout replace the old ones.
    assert create_stage_jobs(s3, aws, names, origins=local_origins(8000), visibility_timeout=3) == created
    again = create_stage_jobs(s3, aws, names, origins=local_origins(8001), visibility_timeout=7)
    assert (again.table, again.queue, again.dead_letter_queue) == (created.table, created.queue,
                                                                   created.dead_letter_queue)
    assert s3_client.get_bucket_cors(Bucket=names.bucket)["CORSRules"][0]["AllowedOrigins"] == [
        "http://127.0.0.1:8001", "http://localhost:8001"]
    assert sqs.get_queue_attributes(QueueUrl=created.queue.url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"]["VisibilityTimeout"] == "7"


def test_a_table_with_ttl_on_another_attribute_gets_the_jobs_one(s3, aws):
    names = unique_names()
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(TableName=names.table, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "job_id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}])
    dynamodb.update_time_to_live(TableName=names.table,
                                 TimeToLiveSpecification={"AttributeName": "gone_at", "Enabled": True})
    create_stage_jobs(s3, aws, names, origins=local_origins(8000))
    assert dynamodb.describe_time_to_live(TableName=names.table)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


def test_a_table_with_another_key_is_refused(s3, aws):
    names = unique_names()
    aws.client("dynamodb").create_table(TableName=names.table, BillingMode="PAY_PER_REQUEST",
                                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    with pytest.raises(LocalJobsError, match=f"table {names.table} exists with the key"):
        create_stage_jobs(s3, aws, names, origins=local_origins(8000))


def test_a_page_on_the_services_origin_may_upload_and_read_the_results_and_another_may_not(jobs_resources, s3):
    client = s3.client()
    bucket = jobs_resources.bucket.name
    key = f"jobs/{JOB_ID}/input"
    post = client.generate_presigned_post(bucket, key, Conditions=[["content-length-range", 1, 1000]])
    # A fetch() of the form is a simple request, but a page that adds a header is preflighted: both must pass.
    for origin in local_origins(8000):
        for url, method in [(post["url"] + "/", "POST"), (f"{post['url']}/{key}", "GET"),
                            (f"{post['url']}/{key}", "HEAD")]:
            status, headers, _ = preflight(url, origin, method, headers="content-type,x-requested-with")
            assert status == 200, (url, method)
            assert headers["access-control-allow-origin"] == origin
            assert method in headers["access-control-allow-methods"]
    status, headers, _ = preflight(f"{post['url']}/{key}", "http://127.0.0.1:9999", "GET")
    assert status == 403 and "access-control-allow-origin" not in headers

    status, headers, _ = form_post(post["url"], post["fields"], b"V1,V2\n0.1,0.2\n", origin=PAGE)
    assert status == 204
    assert headers["access-control-allow-origin"] == PAGE
    assert set(headers["access-control-expose-headers"].replace(" ", "").split(",")) == set(CORS_EXPOSED_HEADERS)
    assert headers["etag"].strip('"') == client.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')

    results = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    status, headers, body = get(results, origin=PAGE)
    assert (status, body) == (200, b"V1,V2\n0.1,0.2\n")
    assert headers["access-control-allow-origin"] == PAGE
    # The browser refuses another page the answer: S3 gives it no Access-Control-Allow-Origin.
    status, headers, _ = get(results, origin="http://127.0.0.1:9999")
    assert "access-control-allow-origin" not in headers


def test_the_notification_is_the_deployed_one():
    notification = jobs_notification("pfa-jobs-dev")
    [deployed] = deployed_resources()["JobsBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    rules = {rule["Name"]: rule["Value"] for rule in deployed["Filter"]["S3Key"]["Rules"]}
    assert (notification.prefix, notification.suffix) == (rules["prefix"], rules["suffix"]) == ("jobs/", "/input")
    assert notification.events == (deployed["Event"],)
    assert notification.function == jobs_template.START_FUNCTION
    assert notification.matches(f"jobs/{JOB_ID}/input")
    assert not notification.matches(f"jobs/{JOB_ID}/results.jsonl")


def test_jobs_json_is_written_and_withdrawn_only_by_its_writer(jobs_resources, tmp_path):
    path = tmp_path / ".local" / "jobs.json"
    publish_local_jobs(jobs_resources, path)
    written = json.loads(path.read_text())
    assert written == {**jobs_resources.to_json(), "pid": os.getpid()}
    assert set(written) == {"region", "s3_endpoint_url", "endpoint_url", "bucket", "table", "queue",
                            "dead_letter_queue", "pid"}
    assert written["bucket"]["notification"] == {"function": "start_job", "events": ["s3:ObjectCreated:*"],
                                                 "prefix": "jobs/", "suffix": "/input"}
    assert written["table"] == {"name": jobs_resources.table.name, "arn": jobs_resources.table.arn,
                                "hash_key": "job_id", "ttl_attribute": "expires_at"}
    assert written["queue"]["visibility_timeout"] == 2 and set(written["dead_letter_queue"]) == {"name", "url", "arn"}
    withdraw_local_jobs(path)
    assert not path.exists()
    path.write_text(json.dumps({**jobs_resources.to_json(), "pid": os.getpid() + 1}))
    withdraw_local_jobs(path)
    assert path.exists()
