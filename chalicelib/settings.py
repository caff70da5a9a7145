"""Settings, read once from a mapping (``os.environ`` in production).

Every variable is documented in the README. A missing or malformed value fails
at once and names the variable.
"""

from dataclasses import dataclass
from typing import Mapping, Optional

MODEL_BUCKET = "MODEL_BUCKET"
MODEL_KEY = "MODEL_KEY"
MODELS_PREFIX = "MODELS_PREFIX"
MAX_LOADED_MODELS = "MAX_LOADED_MODELS"
MAX_LOADED_MODEL_BYTES = "MAX_LOADED_MODEL_BYTES"
MODEL_REFRESH_SECONDS = "MODEL_REFRESH_SECONDS"
MODEL_TIMEOUT_MS = "MODEL_TIMEOUT_MS"
MAX_MODEL_BYTES = "MAX_MODEL_BYTES"
MAX_BODY_BYTES = "MAX_BODY_BYTES"
MAX_BATCH_RECORDS = "MAX_BATCH_RECORDS"
MAX_BATCH_BODY_BYTES = "MAX_BATCH_BODY_BYTES"
LOAD_RETRY_MIN_SECONDS = "LOAD_RETRY_MIN_SECONDS"
LOAD_RETRY_MAX_SECONDS = "LOAD_RETRY_MAX_SECONDS"
MEMORY_LIMIT_MB = "MEMORY_LIMIT_MB"
PFA_ENGINE = "PFA_ENGINE"
API_KEY_REQUIRED = "API_KEY_REQUIRED"
RESULTS_QUEUE = "RESULTS_QUEUE"
BATCH_ITEM_FAILURES = "BATCH_ITEM_FAILURES"
BATCH_ITEM_FAILURES_REPORTED = "reported"
CLI_MODE = "AWS_CHALICE_CLI_MODE"
LAMBDA_FUNCTION_NAME = "AWS_LAMBDA_FUNCTION_NAME"
LAMBDA_MEMORY_SIZE = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"

# Which engine may serve a document: the compiled one where it agrees with titus, always it, or titus.
ENGINE_CHOICES = ("auto", "compiled", "titus")

# Lambda rejects invocation payloads over 6 MB, so bodies are bounded below it.
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


_DEFAULT_TIMEOUT_MS = 10_000
# A compiled document keeps 5 to 15 times its size in memory, and takes more while compiling (an 8 MB one
# peaked at +196 MB): 8 MB keeps a compile within a 512 MB function beside the models already loaded.
_DEFAULT_MAX_MODEL_BYTES = 8 * 1024 * 1024
_DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_DEFAULT_MAX_BATCH_RECORDS = 1000
_DEFAULT_MAX_BATCH_BODY_BYTES = 5 * 1024 * 1024
_DEFAULT_RETRY_MIN_SECONDS = 1.0
_DEFAULT_RETRY_MAX_SECONDS = 60.0
_DEFAULT_MODELS_PREFIX = "models/"
_DEFAULT_MAX_LOADED_MODELS = 32
_DEFAULT_MAX_LOADED_MODEL_BYTES = 128 * 1024 * 1024
_DEFAULT_REFRESH_SECONDS = 30.0
# On Lambda, the share of the function's memory the process may hold; the rest is for the runtime,
# the libraries' code and a model being compiled while the old version serves.
_LAMBDA_MEMORY_SHARE = 0.75


@dataclass(frozen=True)
class Settings:
    model_bucket: str
    model_key: str
    model_timeout_ms: int = _DEFAULT_TIMEOUT_MS
    max_model_bytes: int = _DEFAULT_MAX_MODEL_BYTES
    max_body_bytes: int = _DEFAULT_MAX_BODY_BYTES
    max_batch_records: int = _DEFAULT_MAX_BATCH_RECORDS
    max_batch_body_bytes: int = _DEFAULT_MAX_BATCH_BODY_BYTES
    load_retry_min_seconds: float = _DEFAULT_RETRY_MIN_SECONDS
    load_retry_max_seconds: float = _DEFAULT_RETRY_MAX_SECONDS
    models_prefix: str = _DEFAULT_MODELS_PREFIX
    max_loaded_models: int = _DEFAULT_MAX_LOADED_MODELS
    max_loaded_model_bytes: int = _DEFAULT_MAX_LOADED_MODEL_BYTES
    model_refresh_seconds: float = _DEFAULT_REFRESH_SECONDS
    memory_limit_mb: Optional[int] = None
    pfa_engine: str = ENGINE_CHOICES[0]
    # Where the queue and stream handlers send results: a queue name or URL (None: not configured).
    results_queue: Optional[str] = None
    # True when the event source mappings have ReportBatchItemFailures (the packaged template sets both).
    batch_item_failures_reported: bool = False

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> "Settings":
        settings = cls(
            model_bucket=_required(env, MODEL_BUCKET),
            model_key=_required(env, MODEL_KEY),
            model_timeout_ms=_positive_int(env, MODEL_TIMEOUT_MS, _DEFAULT_TIMEOUT_MS),
            max_model_bytes=_positive_int(env, MAX_MODEL_BYTES, _DEFAULT_MAX_MODEL_BYTES),
            max_body_bytes=_positive_int(env, MAX_BODY_BYTES, _DEFAULT_MAX_BODY_BYTES),
            max_batch_records=_positive_int(env, MAX_BATCH_RECORDS, _DEFAULT_MAX_BATCH_RECORDS),
            max_batch_body_bytes=_positive_int(env, MAX_BATCH_BODY_BYTES, _DEFAULT_MAX_BATCH_BODY_BYTES),
            load_retry_min_seconds=_positive_float(env, LOAD_RETRY_MIN_SECONDS, _DEFAULT_RETRY_MIN_SECONDS),
            load_retry_max_seconds=_positive_float(env, LOAD_RETRY_MAX_SECONDS, _DEFAULT_RETRY_MAX_SECONDS),
            models_prefix=models_prefix(env),
            max_loaded_models=_positive_int(env, MAX_LOADED_MODELS, _DEFAULT_MAX_LOADED_MODELS),
            max_loaded_model_bytes=_positive_int(env, MAX_LOADED_MODEL_BYTES, _DEFAULT_MAX_LOADED_MODEL_BYTES),
            model_refresh_seconds=_positive_float(env, MODEL_REFRESH_SECONDS, _DEFAULT_REFRESH_SECONDS,
                                                  zero_allowed=True),
            memory_limit_mb=_memory_limit_mb(env),
            pfa_engine=_engine(env),
            results_queue=env.get(RESULTS_QUEUE, "").strip() or None,
            batch_item_failures_reported=_batch_item_failures(env),
        )
        for name, value in ((MAX_BODY_BYTES, settings.max_body_bytes),
                            (MAX_BATCH_BODY_BYTES, settings.max_batch_body_bytes)):
            if value > LAMBDA_PAYLOAD_LIMIT:
                raise SettingsError(
                    f"{name} must be at most {LAMBDA_PAYLOAD_LIMIT} (Lambda's payload limit), got {value}")
        if settings.memory_limit_mb is not None and \
                settings.max_loaded_model_bytes >= settings.memory_limit_mb * 1024 * 1024:
            raise SettingsError(
                f"{MAX_LOADED_MODEL_BYTES} ({settings.max_loaded_model_bytes}) must be below "
                f"{MEMORY_LIMIT_MB} ({settings.memory_limit_mb} MB): loaded models live within that budget")
        if settings.load_retry_max_seconds < settings.load_retry_min_seconds:
            raise SettingsError(
                f"{LOAD_RETRY_MAX_SECONDS} ({settings.load_retry_max_seconds}) must not be below "
                f"{LOAD_RETRY_MIN_SECONDS} ({settings.load_retry_min_seconds})")
        return settings


def is_cli_mode(env: Mapping[str, str]) -> bool:
    """True while the Chalice CLI imports ``app.py`` (deploy, package, ...)."""
    return env.get(CLI_MODE, "").lower() == "true"


def is_lambda(env: Mapping[str, str]) -> bool:
    return bool(env.get(LAMBDA_FUNCTION_NAME))


def api_key_required(env: Mapping[str, str]) -> bool:
    """Deploy-time switch: the stage's routes require an API Gateway key."""
    value = env.get(API_KEY_REQUIRED, "false").strip().lower()
    if value not in ("true", "false"):
        raise SettingsError(f"{API_KEY_REQUIRED} must be 'true' or 'false', got {value!r}")
    return value == "true"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be a positive integer, got {raw!r}")
    return value


def bounded_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """The integer variable ``name``, from ``low`` to ``high``; ``default`` when unset or blank."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise SettingsError(f"{name} must be an integer from {low} to {high}, got {text!r}")
    return value


def _positive_float(env: Mapping[str, str], name: str, default: float, zero_allowed: bool = False) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    kind = "a number >= 0" if zero_allowed else "a positive number"
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {kind}, got {raw!r}") from None
    if not (value >= 0 if zero_allowed else value > 0) or value == float("inf"):
        raise SettingsError(f"{name} must be {kind}, got {raw!r}")
    return value


def _memory_limit_mb(env: Mapping[str, str]) -> Optional[int]:
    """MEMORY_LIMIT_MB, 0 for none; by default a share of the Lambda function's memory, none elsewhere."""
    raw = env.get(MEMORY_LIMIT_MB, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{MEMORY_LIMIT_MB} must be a whole number of MB (0: no limit), got {raw!r}") from None
        if value < 0 or 0 < value < 64:
            raise SettingsError(f"{MEMORY_LIMIT_MB} must be 0 (no limit) or at least 64, got {raw!r}")
        return value or None
    function_memory = env.get(LAMBDA_MEMORY_SIZE, "").strip()
    if function_memory.isdigit():
        return int(int(function_memory) * _LAMBDA_MEMORY_SHARE)
    return None


def _engine(env: Mapping[str, str]) -> str:
    value = env.get(PFA_ENGINE, "").strip().lower() or ENGINE_CHOICES[0]
    if value not in ENGINE_CHOICES:
        raise SettingsError(f"{PFA_ENGINE} must be one of {', '.join(ENGINE_CHOICES)}, got {env.get(PFA_ENGINE)!r}")
    return value


def _batch_item_failures(env: Mapping[str, str]) -> bool:
    value = env.get(BATCH_ITEM_FAILURES, "").strip().lower()
    if value not in ("", "off", BATCH_ITEM_FAILURES_REPORTED):
        raise SettingsError(f"{BATCH_ITEM_FAILURES} must be {BATCH_ITEM_FAILURES_REPORTED!r} (the event source "
                            f"mappings report batch item failures) or 'off', got {env.get(BATCH_ITEM_FAILURES)!r}")
    return value == BATCH_ITEM_FAILURES_REPORTED


def models_prefix(env: Mapping[str, str]) -> str:
    """MODELS_PREFIX, checked: a folder such as "models/" (shared with pfactl)."""
    prefix = env.get(MODELS_PREFIX, _DEFAULT_MODELS_PREFIX).strip()
    if prefix.startswith("/") or ".." in prefix or (prefix and not prefix.endswith("/")):
        raise SettingsError(f"{MODELS_PREFIX} must be a folder like 'models/' (ending in '/'), got {prefix!r}")
    return prefix
