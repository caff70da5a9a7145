"""Routes only: each reads the request, calls chalicelib, and returns the response."""

import os

from chalice import Chalice

from chalicelib import web
from chalicelib.jobs import handlers as jobs
from chalicelib.jobs import http as jobs_http
from chalicelib.jobs.settings import jobs_queue
from chalicelib.openinference import http as v2
from chalicelib.page import page as web_page
from chalicelib.settings import api_key_required, is_cli_mode, is_lambda
from chalicelib.streams import handlers as streams
from chalicelib.streams.event_sources import EventSources
from chalicelib.telemetry import RequestLog, ServiceMetrics
from chalicelib.wiring import LazyRuntime, build_runtime

# The service's own logger (chalicelib.telemetry) writes the log lines; Chalice must not reconfigure it.
app = Chalice(app_name="pfa-serving", configure_logs=False)
log = RequestLog()
metrics = ServiceMetrics()
runtime = LazyRuntime(lambda: build_runtime(os.environ, metrics=metrics))
# Read at deploy time: the Chalice CLI imports this file with the stage's environment.
KEY_REQUIRED = api_key_required(os.environ)
SOURCES = EventSources.from_mapping(os.environ)
JOBS_QUEUE = jobs_queue(os.environ)

if is_lambda(os.environ) and not is_cli_mode(os.environ):
    # Load during Lambda's init phase: a provisioned-concurrency or SnapStart container is then ready
    # before its first request, and an on-demand one does the same work it would do on first use.
    runtime.warm()


@app.middleware("http")
def around_request(request, get_response):
    return web.around_request(request, get_response, log, metrics)


@app.route("/predict", methods=["POST"], api_key_required=KEY_REQUIRED)
def predict():
    return web.predict(app.current_request, runtime.get())


@app.route("/predict/batch", methods=["POST"], api_key_required=KEY_REQUIRED)
def predict_batch():
    return web.predict_batch(app.current_request, runtime.get())


# GET routes take no body, so any Content-Type a monitoring tool sends is fine.
@app.route("/model", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def describe_model():
    return web.describe_model(runtime.get())


@app.route("/models", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def list_models():
    return web.list_models(runtime.get())


@app.route("/models/{name}", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def describe_named_model(name):
    return web.describe_model(runtime.get(), name)


@app.route("/models/{name}/predict", methods=["POST"], api_key_required=KEY_REQUIRED)
def predict_named(name):
    return web.predict(app.current_request, runtime.get(), name)


@app.route("/models/{name}/predict/batch", methods=["POST"], api_key_required=KEY_REQUIRED)
def predict_batch_named(name):
    return web.predict_batch(app.current_request, runtime.get(), name)


# Files of records as jobs: create one, upload straight to S3, read its state and results.
@app.route("/jobs", methods=["POST"], api_key_required=KEY_REQUIRED)
def create_job():
    return jobs_http.create_job(app.current_request, runtime.get())


@app.route("/jobs/{job_id}", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def job_status(job_id):
    return jobs_http.job_status(app.current_request, runtime.get(), job_id)


# The web page: open, like /health; its own calls to the API send the key when the stage requires one.
@app.route("/", methods=["GET"], content_types=["*/*"])
def page():
    return web_page()


@app.route("/health", methods=["GET"], content_types=["*/*"])
def health():
    return web.health(runtime.get)


# The Open Inference Protocol (KServe V2): the same models and answers, as tensors. Health stays open.
INFER_TYPES = ["application/json", "application/octet-stream"]


@app.route("/v2", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def v2_server_metadata():
    return v2.server_metadata()


@app.route("/v2/health/live", methods=["GET"], content_types=["*/*"])
def v2_server_live():
    return v2.server_live()


@app.route("/v2/health/ready", methods=["GET"], content_types=["*/*"])
def v2_server_ready():
    return v2.server_ready(runtime.get)


@app.route("/v2/models/{name}", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def v2_model_metadata(name):
    return v2.model_metadata(runtime.get(), name)


@app.route("/v2/models/{name}/versions/{version}", methods=["GET"], content_types=["*/*"],
           api_key_required=KEY_REQUIRED)
def v2_model_version_metadata(name, version):
    return v2.model_metadata(runtime.get(), name, version)


@app.route("/v2/models/{name}/ready", methods=["GET"], content_types=["*/*"], api_key_required=KEY_REQUIRED)
def v2_model_ready(name):
    return v2.model_ready(runtime.get(), name)


@app.route("/v2/models/{name}/versions/{version}/ready", methods=["GET"], content_types=["*/*"],
           api_key_required=KEY_REQUIRED)
def v2_model_version_ready(name, version):
    return v2.model_ready(runtime.get(), name, version)


@app.route("/v2/models/{name}/infer", methods=["POST"], content_types=INFER_TYPES, api_key_required=KEY_REQUIRED)
def v2_infer(name):
    return v2.infer(app.current_request, runtime.get(), name)


@app.route("/v2/models/{name}/versions/{version}/infer", methods=["POST"], content_types=INFER_TYPES,
           api_key_required=KEY_REQUIRED)
def v2_infer_version(name, version):
    return v2.infer(app.current_request, runtime.get(), name, version)


# Pipelines: the same models and answers, from a queue and a stream; results go to RESULTS_QUEUE.
@app.on_sqs_message(queue=SOURCES.queue, batch_size=SOURCES.queue_batch_size,
                    maximum_batching_window_in_seconds=SOURCES.queue_window_seconds)
def score_queue(event):
    return streams.handle_queue_event(event.to_dict(), event.context, runtime.get, log, metrics)


@app.on_kinesis_record(stream=SOURCES.stream, batch_size=SOURCES.stream_batch_size, starting_position="TRIM_HORIZON",
                       maximum_batching_window_in_seconds=SOURCES.stream_window_seconds)
def score_stream(event):
    return streams.handle_stream_event(event.to_dict(), event.context, runtime.get, log, metrics)


# Jobs: the upload's S3 notification starts a job; its chunks come back through JOBS_QUEUE, one per invocation.
@app.lambda_function(name="start_job")
def start_job(event, context):
    return jobs.handle_upload_event(event, context, runtime.get, log, metrics)


@app.on_sqs_message(queue=JOBS_QUEUE, batch_size=1)
def score_chunk(event):
    return jobs.handle_chunk_event(event.to_dict(), event.context, runtime.get, log, metrics)
