"""devtools/chalice_stage.py: a stage's environment and function settings as the Chalice deployer reads them."""

import json

import pytest

from devtools.chalice_stage import ChaliceStageError, function_settings, stage_environment


def write_config(project, config):
    (project / ".chalice").mkdir(parents=True)
    (project / ".chalice" / "config.json").write_text(json.dumps(config))
    return project


def test_the_stages_environment_is_the_top_level_one_with_the_stages_over_it(project_dir):
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    env = stage_environment("dev", project_dir)
    assert env == {**config["environment_variables"], **config["stages"]["dev"]["environment_variables"]}
    assert env["RECORDS_QUEUE"] == "pfa-serving-dev-records" and env["MODEL_KEY"] == config["environment_variables"][
        "MODEL_KEY"]


def test_a_functions_own_settings_come_first(tmp_path):
    project = write_config(tmp_path, {
        "app_name": "app", "lambda_timeout": 30, "lambda_memory_size": 512,
        "environment_variables": {"A": "top", "B": "top"},
        "stages": {"dev": {"lambda_timeout": 20, "environment_variables": {"B": "stage", "C": "stage"},
                           "lambda_functions": {"score_queue": {"lambda_memory_size": 1024,
                                                                "environment_variables": {"C": "function"}}}}}})
    queue = function_settings("dev", "score_queue", project)
    assert (queue.name, queue.timeout_seconds, queue.memory_mb) == ("app-dev-score_queue", 20, 1024)
    assert queue.environment == {"A": "top", "B": "stage", "C": "function"}
    other = function_settings("dev", "score_stream", project)
    assert (other.timeout_seconds, other.memory_mb, other.environment["C"]) == (20, 512, "stage")


def test_an_unknown_stage_or_a_broken_file_is_named(tmp_path):
    project = write_config(tmp_path / "one", {"app_name": "app", "stages": {"dev": {}}})
    with pytest.raises(ChaliceStageError, match="no stage 'qa' \\(stages: dev\\)"):
        stage_environment("qa", project)
    broken = tmp_path / "two"
    (broken / ".chalice").mkdir(parents=True)
    (broken / ".chalice" / "config.json").write_text("{")
    with pytest.raises(ChaliceStageError, match="not valid JSON"):
        stage_environment("dev", broken)
    with pytest.raises(ChaliceStageError, match="cannot read"):
        stage_environment("dev", tmp_path / "none")
