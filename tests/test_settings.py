import json

import pytest

from chalicelib.settings import Settings, SettingsError, api_key_required, is_cli_mode

BASE = {"MODEL_BUCKET": "models", "MODEL_KEY": "m/sonar.pfa"}


def test_defaults_from_the_two_required_settings():
    settings = Settings.from_mapping(BASE)
    assert (settings.model_bucket, settings.model_key, settings.models_prefix) == ("models", "m/sonar.pfa", "models/")
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_batch_records == 1000
    assert settings.load_retry_min_seconds == 1.0


def test_every_setting_is_read():
    settings = Settings.from_mapping({
        **BASE, "MODEL_TIMEOUT_MS": "250", "MAX_MODEL_BYTES": "1000",
        "MAX_BODY_BYTES": "2048", "MAX_BATCH_RECORDS": "10", "MAX_BATCH_BODY_BYTES": "4096",
        "LOAD_RETRY_MIN_SECONDS": "0.5", "LOAD_RETRY_MAX_SECONDS": "5"})
    assert settings == Settings("models", "m/sonar.pfa", 250, 1000, 2048, 10, 4096, 0.5, 5.0)


@pytest.mark.parametrize("missing", ["MODEL_BUCKET", "MODEL_KEY"])
def test_a_missing_setting_is_named(missing):
    env = {key: value for key, value in BASE.items() if key != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_mapping(env)


@pytest.mark.parametrize("name, value", [
    ("MAX_BODY_BYTES", "lots"), ("MAX_BATCH_RECORDS", "0"), ("MODEL_TIMEOUT_MS", "-1"),
    ("LOAD_RETRY_MIN_SECONDS", "nan"), ("MAX_BATCH_BODY_BYTES", str(7 * 1024 * 1024)),
])
def test_a_malformed_setting_is_named_with_its_value(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_mapping({**BASE, name: value})


def test_retry_bounds_must_be_ordered():
    with pytest.raises(SettingsError, match="LOAD_RETRY_MAX_SECONDS"):
        Settings.from_mapping({**BASE, "LOAD_RETRY_MIN_SECONDS": "10", "LOAD_RETRY_MAX_SECONDS": "1"})


def test_deploy_time_switches():
    assert api_key_required({"API_KEY_REQUIRED": "true"}) is True
    assert api_key_required({}) is False
    with pytest.raises(SettingsError, match="API_KEY_REQUIRED"):
        api_key_required({"API_KEY_REQUIRED": "yes"})
    assert is_cli_mode({"AWS_CHALICE_CLI_MODE": "true"}) and not is_cli_mode({})


def test_the_memory_budget_defaults_to_a_share_of_the_lambda_function_and_to_none_elsewhere():
    assert Settings.from_mapping(BASE).memory_limit_mb is None
    assert Settings.from_mapping({**BASE, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}).memory_limit_mb == 384
    assert Settings.from_mapping({**BASE, "MEMORY_LIMIT_MB": "300"}).memory_limit_mb == 300
    assert Settings.from_mapping({**BASE, "MEMORY_LIMIT_MB": "0",
                                  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}).memory_limit_mb is None
    for bad in ("lots", "-1", "10"):
        with pytest.raises(SettingsError, match="MEMORY_LIMIT_MB"):
            Settings.from_mapping({**BASE, "MEMORY_LIMIT_MB": bad})
    with pytest.raises(SettingsError, match="MAX_LOADED_MODEL_BYTES"):
        Settings.from_mapping({**BASE, "MEMORY_LIMIT_MB": "100"})  # the default 128 MB of models cannot fit


def test_the_stages_fit_their_function(project_dir):
    """A call's time budget fits in the function's timeout and API Gateway's 29 s, with room to answer; the
    loaded models fit in the memory budget the function's size gives."""
    config = json.loads((project_dir / ".chalice" / "config.json").read_text())
    for stage in config["stages"].values():
        memory_size = stage.get("lambda_memory_size", config["lambda_memory_size"])
        environ = {**BASE, **config["environment_variables"], **stage["environment_variables"],
                   "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size)}
        settings = Settings.from_mapping(environ)
        timeout_s = stage.get("lambda_timeout", config["lambda_timeout"])
        assert settings.model_timeout_ms + 2000 <= min(timeout_s, 29) * 1000
        assert settings.memory_limit_mb is not None
        # An 8 MB document peaked at 196 MB while compiling: 25 times its size.
        assert settings.max_loaded_model_bytes + 25 * settings.max_model_bytes < settings.memory_limit_mb * 2 ** 20
