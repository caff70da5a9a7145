"""A stage's deployed Lambda settings, read from .chalice/config.json the way the Chalice deployer reads them.

Contract: `stage_environment(stage)` is the environment Chalice gives the stage's functions: the top-level
`environment_variables`, then the stage's over them, then (for a `function_name`) that function's entry in
the stage's `lambda_functions`. `function_settings(stage, name)` adds what Lambda tells a function about
itself: its deployed name (`<app_name>-<stage>-<name>`), timeout and memory size, looked up function, then
stage, then top level, with Chalice's defaults when none is set. The lookups are Chalice's own
(`chalice.config.Config`), so the precedence is the deployer's. A missing or malformed config file, or an
unknown stage, raises ChaliceStageError naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.config import Config
from chalice.constants import DEFAULT_LAMBDA_MEMORY_SIZE, DEFAULT_LAMBDA_TIMEOUT

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_FILE = Path(".chalice") / "config.json"
# Chalice's name for the function behind the REST API; any name without its own entry gets the stage's settings.
API_HANDLER = "api_handler"


class ChaliceStageError(RuntimeError):
    """The project's .chalice/config.json cannot be read, or has no such stage."""


@dataclass(frozen=True)
class FunctionSettings:
    """One deployed Lambda function of a stage, as its context reports it."""

    name: str  # the deployed function name, e.g. pfa-serving-dev-score_queue
    handler_name: str  # the function's name in the app, e.g. score_queue
    stage: str
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str]


def read_config(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The parsed .chalice/config.json of `project_dir`."""
    path = Path(project_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ChaliceStageError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise ChaliceStageError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ChaliceStageError(f"{path} holds no JSON object")
    return config


def _stage_config(stage: str, function_name: str, project_dir: Path) -> Config:
    config = read_config(project_dir)
    if stage not in (config.get("stages") or {}):
        raise ChaliceStageError(f"{Path(project_dir) / CONFIG_FILE} has no stage {stage!r} "
                                f"(stages: {', '.join(sorted(config.get('stages') or {})) or 'none'})")
    return Config(chalice_stage=stage, function_name=function_name, config_from_disk=config)


def stage_environment(stage: str, project_dir: Path = PROJECT_DIR, function_name: str = API_HANDLER) -> dict[str, str]:
    """The environment variables the stage's function `function_name` gets when deployed."""
    return {name: str(value) for name, value in
            _stage_config(stage, function_name, project_dir).environment_variables.items()}


def function_settings(stage: str, function_name: str, project_dir: Path = PROJECT_DIR) -> FunctionSettings:
    """The deployed name, timeout, memory size and environment of the stage's function `function_name`."""
    config = _stage_config(stage, function_name, project_dir)
    return FunctionSettings(
        name=f"{config.app_name}-{stage}-{function_name}", handler_name=function_name, stage=stage,
        timeout_seconds=int(config.lambda_timeout or DEFAULT_LAMBDA_TIMEOUT),
        memory_mb=int(config.lambda_memory_size or DEFAULT_LAMBDA_MEMORY_SIZE),
        environment={name: str(value) for name, value in config.environment_variables.items()})
