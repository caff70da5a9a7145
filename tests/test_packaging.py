"""`make package` (devtools/package.py, run here as the target runs it) builds a deployable Lambda bundle for each
stage, on a machine with no AWS region or credentials configured, offline apart from the package index."""

import json
import re
import zipfile

import pytest
from packaging_support import build_package, granted

MB = 1024 * 1024
MODEL_ROUTES = {("/predict", "post"), ("/predict/batch", "post"), ("/model", "get"), ("/models", "get"),
                ("/models/{name}", "get"), ("/models/{name}/predict", "post"), ("/models/{name}/predict/batch", "post")}
JOB_ROUTES = {("/jobs", "post"), ("/jobs/{job_id}", "get")}
# The Open Inference Protocol (KServe V2): metadata, model readiness and inference need the key on prod, as the
# model routes do; its health routes stay open, as /health does.
V2_ROUTES = {("/v2", "get"), ("/v2/models/{name}", "get"), ("/v2/models/{name}/versions/{version}", "get"),
             ("/v2/models/{name}/ready", "get"), ("/v2/models/{name}/versions/{version}/ready", "get"),
             ("/v2/models/{name}/infer", "post"), ("/v2/models/{name}/versions/{version}/infer", "post")}
OPEN_ROUTES = {("/", "get"), ("/health", "get"), ("/v2/health/live", "get"), ("/v2/health/ready", "get")}
KEYED_ROUTES = MODEL_ROUTES | JOB_ROUTES | V2_ROUTES
RUNTIME = "python3.12"
# Amazon Linux 2023, under Lambda's python3.12, has glibc 2.34: a manylinux wheel may need at most that.
RUNTIME_GLIBC = (2, 34)
ELF_MACHINE_X86_64 = 62


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    result = build_package(request.param, out)  # a fresh machine: no region, no profile, no credentials
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "no AWS region configured" in result.stdout
    return request.param, out


def template_function(out):
    return json.loads((out / "sam.json").read_text())["Resources"]["APIHandler"]["Properties"]


def test_the_bundle_holds_the_engine_and_the_app_within_lambda_limits(package):
    _, out = package
    bundle = out / "deployment.zip"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        unzipped = sum(info.file_size for info in archive.infolist())
    tops = {name.split("/")[0] for name in names}
    assert {"app.py", "chalicelib", "titus", "numpy", "avro", "yaml"} <= tops
    assert not tops & {"tests", "devtools", "models", "pfactl", "sklearn", "pandas", ".venv"}
    assert bundle.stat().st_size < 50 * MB
    assert unzipped < 250 * MB


def test_prod_requires_an_api_key_on_the_model_job_and_v2_routes_and_dev_is_open(package):
    stage, out = package
    template = json.loads((out / "sam.json").read_text())
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    routes = {(path, method): operation for path, methods in api["paths"].items()
              for method, operation in methods.items() if method != "options"}
    secured = {route for route, operation in routes.items() if operation.get("security")}
    assert secured == (KEYED_ROUTES if stage == "prod" else set())
    # The page, /health and the V2 health routes stay open on prod too.
    assert set(routes) == KEYED_ROUTES | OPEN_ROUTES
    assert not secured & OPEN_ROUTES
    if stage == "prod":
        assert all(routes[route]["security"] == [{"api_key": []}] for route in secured)
        assert api["securityDefinitions"]["api_key"] == {"type": "apiKey", "name": "x-api-key", "in": "header"}
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["Environment"]["Variables"]["MODEL_BUCKET"] == f"pfa-models-{stage}"


def test_the_v2_infer_routes_take_binary_tensor_data_through_api_gateway(package):
    _, out = package
    api = json.loads((out / "sam.json").read_text())["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    # API Gateway hands an application/octet-stream body (the binary tensor data extension) to the function
    # intact, base64-encoded, only when the type is one of the API's binary media types.
    assert "application/octet-stream" in api["x-amazon-apigateway-binary-media-types"]
    for path in ("/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"):
        assert set(api["paths"][path]["post"]["consumes"]) == {"application/json", "application/octet-stream"}


def test_the_function_runs_python_3_12_whatever_region_packaged_it(package):
    _, out = package
    assert template_function(out)["Runtime"] == RUNTIME
    assert "us-east-1" not in (out / "sam.json").read_text(), "the region filled in for chalice leaks into the template"


def test_every_wheel_in_the_bundle_is_for_the_declared_runtime(package):
    _, out = package
    runtime = template_function(out)["Runtime"]
    python_tag = "cp" + runtime.removeprefix("python").replace(".", "")
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        wheels = {name: archive.read(name).decode() for name in archive.namelist() if name.endswith(".dist-info/WHEEL")}
    compiled = set()
    for name, text in wheels.items():
        tags = re.findall(r"^Tag: (\S+)$", text, re.M)
        assert tags, name
        if "Root-Is-Purelib: true" in text:
            assert all(tag.endswith("-none-any") and tag.startswith(("py3-", "py2-")) for tag in tags), (name, tags)
            continue
        compiled.add(name.split("-")[0])
        for tag in tags:
            match = re.fullmatch(rf"{python_tag}-{python_tag}-manylinux(?:_(\d+)_(\d+)|2014)_x86_64", tag)
            assert match, f"{name}: {tag} is not {python_tag} manylinux x86_64"
            glibc = (int(match[1]), int(match[2])) if match[1] else (2, 17)
            assert glibc <= RUNTIME_GLIBC, f"{name}: {tag} needs a newer glibc than {runtime}'s"
    assert {"numpy", "pyyaml"} <= compiled


def test_every_compiled_file_in_the_bundle_is_x86_64_for_the_declared_runtime(package):
    _, out = package
    abi = "cpython-" + template_function(out)["Runtime"].removeprefix("python").replace(".", "") + "-x86_64-linux-gnu"
    extensions = []
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        for name in archive.namelist():
            if not re.search(r"\.so(\.|$)", name):
                continue
            header = archive.open(name).read(20)
            assert header[:4] == b"\x7fELF" and header[4] == 2, f"{name} is not a 64-bit ELF file"
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_X86_64, f"{name} is not for x86_64"
            if re.search(r"\.cpython-\d+", name):
                assert f".{abi}.so" in name, f"{name} is an extension module for another Python than {abi}"
                extensions.append(name)
    assert any(name.startswith("numpy/core/_multiarray_umath.") for name in extensions)
    assert any(name.startswith("yaml/_yaml.") for name in extensions)


# ----- the queue and stream handlers: what --merge-template adds, and what each function may touch ---------------


def resources(out):
    return json.loads((out / "sam.json").read_text())["Resources"]


@pytest.mark.parametrize("function, event, kind, arn", [
    ("ScoreQueue", "ScoreQueueSqsEventSource", "SQS",
     "sqs:${AWS::Region}:${AWS::AccountId}:pfa-serving-{stage}-records"),
    ("ScoreStream", "ScoreStreamKinesisEventSource", "Kinesis",
     "kinesis:${AWS::Region}:${AWS::AccountId}:stream/pfa-serving-{stage}-records"),
])
def test_the_event_sources_report_batch_item_failures_from_the_stages_queue_and_stream(package, function, event, kind,
                                                                                       arn):
    stage, out = package
    template = resources(out)
    source = template[function]["Properties"]["Events"][event]
    assert source["Type"] == kind
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert list(source["Properties"][{"SQS": "Queue", "Kinesis": "Stream"}[kind]].values()) == [
        "arn:${AWS::Partition}:" + arn.replace("{stage}", stage)]
    # The handler answers with the failed items only because the mapping reads them.
    assert template[function]["Properties"]["Environment"]["Variables"]["BATCH_ITEM_FAILURES"] == "reported"
    assert template["APIHandler"]["Properties"]["Environment"]["Variables"].get("BATCH_ITEM_FAILURES") is None
    # The queue or stream it reads is created by the same template, before the function and so its mapping.
    (created,) = template[function]["DependsOn"]
    assert template[created]["Type"] == {"SQS": "AWS::SQS::Queue", "Kinesis": "AWS::Kinesis::Stream"}[kind]
    assert template[created]["Properties"].get("QueueName", template[created]["Properties"].get("Name")) == \
        f"pfa-serving-{stage}-records"


def test_the_records_queue_has_a_dead_letter_queue_and_a_visibility_timeout_of_six_function_timeouts(package):
    stage, out = package
    template = resources(out)
    queue = template["RecordsQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * template["ScoreQueue"]["Properties"]["Timeout"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["RecordsDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}
    assert template["RecordsDeadLetterQueue"]["Properties"]["QueueName"] == f"pfa-serving-{stage}-records-dlq"
    assert template["ResultsQueue"]["Properties"]["QueueName"] == f"pfa-serving-{stage}-results"
    # What the stream mapping gives up on (records that expire while failing) is noted there too.
    stream = template["ScoreStream"]["Properties"]["Events"]["ScoreStreamKinesisEventSource"]["Properties"]
    assert stream["DestinationConfig"] == {"OnFailure": {"Type": "SQS", "Destination": {
        "Fn::GetAtt": ["RecordsDeadLetterQueue", "Arn"]}}}
    for function in ("ScoreQueue", "ScoreStream"):
        variables = template[function]["Properties"]["Environment"]["Variables"]
        assert variables["RESULTS_QUEUE"] == f"pfa-serving-{stage}-results"
        assert variables["MODEL_BUCKET"] == f"pfa-models-{stage}"


def test_each_function_may_touch_only_its_own_stages_bucket_queues_and_stream(package):
    stage, out = package
    template = resources(out)
    bucket = f"arn:aws:s3:::pfa-models-{stage}"
    common = {("s3:GetObject", f"{bucket}/models/*"), ("s3:GetObjectVersion", f"{bucket}/models/*"),
              ("s3:ListBucket", bucket), ("s3:ListBucketVersions", bucket)}
    common |= {(action, f"arn:aws:logs:*:*:log-group:/aws/lambda/pfa-serving-{stage}*")
               for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")}
    records, results = f"arn:aws:sqs:*:*:pfa-serving-{stage}-records", f"arn:aws:sqs:*:*:pfa-serving-{stage}-results"
    stream = f"arn:aws:kinesis:*:*:stream/pfa-serving-{stage}-records"
    send = {("sqs:SendMessage", results), ("sqs:GetQueueUrl", results)}
    # Jobs (the contract in README "Jobs"): only objects under jobs/ of the stage's jobs bucket, its table and
    # its chunk queue.
    files, table = f"arn:aws:s3:::pfa-jobs-{stage}/jobs/*", f"arn:aws:dynamodb:*:*:table/pfa-serving-{stage}-jobs"
    chunks = f"arn:aws:sqs:*:*:pfa-serving-{stage}-chunks"
    track = {("dynamodb:GetItem", table), ("dynamodb:UpdateItem", table)}
    expected = {
        "ApiHandlerRole": common | track | {("dynamodb:PutItem", table), ("s3:PutObject", files),
                                            ("s3:GetObject", files)},
        "StartJobRole": common | track | {("s3:GetObject", files), ("sqs:SendMessage", chunks),
                                          ("sqs:GetQueueUrl", chunks)},
        "ScoreChunkRole": common | track | {(action, files) for action in (
            "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts")} | {(action, chunks) for action in (
            "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")},
        "ScoreQueueRole": common | send | {(action, records) for action in (
            "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")},
        "ScoreStreamRole": common | send | {(action, stream) for action in (
            "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary", "kinesis:ListShards")} | {("sqs:SendMessage", f"{records}-dlq")},
    }
    roles = {name for name, resource in template.items() if resource["Type"] == "AWS::IAM::Role"}
    assert roles == set(expected)
    for role, allowed in expected.items():
        assert granted(template[role]) == allowed, role
    other = "prod" if stage == "dev" else "dev"
    assert f"pfa-serving-{other}" not in (out / "sam.json").read_text()
