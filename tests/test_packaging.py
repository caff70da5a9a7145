"""`chalice package` builds a deployable Lambda bundle for each stage, offline apart from the package index."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
MB = 1024 * 1024
MODEL_ROUTES = {("/predict", "post"), ("/predict/batch", "post"), ("/model", "get"), ("/models", "get"),
                ("/models/{name}", "get"), ("/models/{name}/predict", "post"), ("/models/{name}/predict/batch", "post")}


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    chalice = Path(sys.executable).parent / "chalice"
    result = subprocess.run([str(chalice), "package", "--stage", request.param, str(out)], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return request.param, out


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


def test_prod_requires_an_api_key_on_the_model_routes_and_dev_is_open(package):
    stage, out = package
    template = json.loads((out / "sam.json").read_text())
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    secured = {(path, method) for path, methods in api["paths"].items()
               for method, operation in methods.items() if operation.get("security")}
    assert secured == (MODEL_ROUTES if stage == "prod" else set())
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["Runtime"] == "python3.11"
    assert function["Environment"]["Variables"]["MODEL_BUCKET"] == f"pfa-models-{stage}"
