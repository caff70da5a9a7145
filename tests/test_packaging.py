"""`make package` (devtools/package.py, run here as the target runs it) builds a deployable Lambda bundle for each
stage, on a machine with no AWS region or credentials configured, offline apart from the package index."""

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent.parent
MB = 1024 * 1024
MODEL_ROUTES = {("/predict", "post"), ("/predict/batch", "post"), ("/model", "get"), ("/models", "get"),
                ("/models/{name}", "get"), ("/models/{name}/predict", "post"), ("/models/{name}/predict/batch", "post")}
RUNTIME = "python3.12"
# Amazon Linux 2023, under Lambda's python3.12, has glibc 2.34: a manylinux wheel may need at most that.
RUNTIME_GLIBC = (2, 34)
ELF_MACHINE_X86_64 = 62


@pytest.fixture(scope="module", params=["dev", "prod"])
def package(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"package-{request.param}")
    # A fresh machine: no region, no profile, no credentials.
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    result = subprocess.run([sys.executable, "-m", "devtools.package", "--stage", request.param, "--out", str(out)],
                            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
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


def test_prod_requires_an_api_key_on_the_model_routes_and_dev_is_open(package):
    stage, out = package
    template = json.loads((out / "sam.json").read_text())
    api = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    secured = {(path, method) for path, methods in api["paths"].items()
               for method, operation in methods.items() if operation.get("security")}
    assert secured == (MODEL_ROUTES if stage == "prod" else set())
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["Environment"]["Variables"]["MODEL_BUCKET"] == f"pfa-models-{stage}"


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
