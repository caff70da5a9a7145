"""The README's walk-through, run as written, in a copy of the project, against `make run`'s service."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chalice_local import call, copy_project, free_port

PROJECT = Path(__file__).parent.parent
SECTION = "## From scikit-learn to a live endpoint"


def walkthrough_section() -> str:
    readme = (PROJECT / "README.md").read_text()
    section = readme[readme.index(SECTION):]
    return section[:section.index("\n## ", 1)]


def walkthrough() -> str:
    return re.search(r"```sh\n(.*?)```", walkthrough_section(), re.S).group(1)


@pytest.fixture
def project_copy(tmp_path):
    """The tracked files, as a fresh clone has them, sharing this checkout's virtual environment."""
    return copy_project(tmp_path / "project")


def healthy(port: int) -> bool:
    try:
        return call(f"http://127.0.0.1:{port}/health", content_type=None)[0] == 200
    except OSError:
        return False


@pytest.fixture
def make_run(project_copy):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_") and key != "MODEL_BUCKET"}
    env["XDG_STATE_HOME"] = str(project_copy.parent / "state")  # the local S3's data, not the user's
    process = subprocess.Popen([sys.executable, "-m", "devtools.run_local", "--port", str(port)], cwd=project_copy,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (project_copy / ".local" / "s3.json").exists() or not healthy(port):
        assert process.poll() is None and time.monotonic() < deadline, process.stdout.read().decode()[-2000:]
        time.sleep(0.2)
    yield port, env
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)


def test_the_walkthrough_works_as_written(project_copy, make_run):
    port, env = make_run
    script = walkthrough().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=project_copy, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"prediction"')]
    naive_bayes, forest, rolled_back = (answer["prediction"] for answer in answers)
    assert naive_bayes != forest, "the row shows which model answered"
    assert rolled_back == naive_bayes, "the rollback brings the naive Bayes back"
    first, second, rolled_back_version = (answer["model"]["version"] for answer in answers)
    assert len({first, second, rolled_back_version}) == 3, "each answer names the version that gave it"
    # The README names the row the example picked and the answers it gets.
    picked = re.search(r"\(Sonar row (\d+), labelled \w+: the naive Bayes says (\w+), the forest (\w+)\)",
                       result.stdout)
    assert picked and picked.groups()[1:] == (naive_bayes, forest), result.stdout[:2000]
    section = " ".join(walkthrough_section().split())
    assert f"disputed_row.json: Sonar row {picked.group(1)}," in section
    assert (f'the naive Bayes `{{"prediction": "{naive_bayes}", "model"' in section
            and f'then the forest `{{"prediction": "{forest}", ...}}`' in section
            and f'then the naive Bayes again, `{{"prediction": "{naive_bayes}", ...}}`' in section)
    scores = (project_copy / ".local" / "flow" / "scores.jsonl").read_text().splitlines()
    assert len(scores) == 208 and all("prediction" in json.loads(line) for line in scores)
    listing = json.loads(result.stdout.splitlines()[-1])
    assert {"sonar", "sonar_naive_bayes"} <= {model["name"] for model in listing["models"]}


JOBS_SECTION = "## Scoring files as jobs"
V2_SECTION = "## The Open Inference Protocol (KServe V2)"


def readme_block(section: str, language: str, port: int) -> str:
    """The first ``language`` code block of the README from ``section`` on, pointed at ``port``."""
    readme = (PROJECT / "README.md").read_text()
    text = readme[readme.index(section):]
    return re.search(rf"```{language}\n(.*?)```", text, re.S).group(1).replace("127.0.0.1:8000", f"127.0.0.1:{port}")


def run_block(command, project_copy, env, timeout):
    result = subprocess.run(command, cwd=project_copy, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_jobs_example_works_as_written(project_copy, make_run):
    """The README's job: a file uploaded with the presigned form, followed to the end, its results read."""
    port, env = make_run
    script = readme_block(JOBS_SECTION, "sh", port)
    lines = run_block(["bash", "-euo", "pipefail", "-c", script], project_copy, env, 300).splitlines()
    assert "upload: 204" in lines
    assert "succeeded {'total': 208, 'done': 208, 'scored': 208, 'failed': 0} " in lines, lines
    # R's predict() on Sonar rows 1 to 3 (models/sonar_naive_bayes.r_predictions.csv).
    assert lines[-3:] == ['{"row":1,"prediction":"R"}', '{"row":2,"prediction":"M"}', '{"row":3,"prediction":"M"}']


def test_the_open_inference_example_works_as_written(project_copy, make_run):
    """The README's tritonclient snippet, pasted into a shell against `make run`, prints what the README shows."""
    port, env = make_run
    script = readme_block(V2_SECTION, "sh", port)
    readme = (PROJECT / "README.md").read_text()
    shown = re.search(r"```sh\n.*?```\n\n```\n(.*?)```", readme[readme.index(V2_SECTION):], re.S).group(1)
    assert run_block(["bash", "-euo", "pipefail", "-c", script], project_copy, env, 120) == shown


def test_the_kserve_example_works_as_written(project_copy, make_run):
    """The README's KServe client example, run by .venv-kserve's Python (make test builds it), against `make run`."""
    port, env = make_run
    python = PROJECT / ".venv-kserve" / "bin" / "python"
    assert python.exists(), f"{python} is missing: `make test` builds it (make venv-kserve)"
    script = readme_block(V2_SECTION, "python", port)
    assert run_block([str(python), "-c", script], project_copy, env, 120) == "['setosa']\n"
