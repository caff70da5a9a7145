"""The jobs' settings: defaults, bounds that name the variable, and which variable keeps jobs off."""

import pytest

from chalicelib.jobs.settings import JobSettings, jobs_queue
from chalicelib.settings import SettingsError


def test_defaults_and_what_keeps_jobs_off():
    assert JobSettings.from_mapping({}).missing == "JOBS_BUCKET"
    assert JobSettings.from_mapping({"JOBS_BUCKET": "b"}).missing == "JOBS_TABLE"
    settings = JobSettings.from_mapping({"JOBS_BUCKET": "b", "JOBS_TABLE": "t"})
    assert settings.missing is None
    assert (settings.max_bytes, settings.upload_seconds, settings.link_seconds, settings.chunk_rows,
            settings.max_chunks, settings.chunk_seconds, settings.chunk_attempts, settings.retention_days) == \
        (200 * 1024 * 1024, 900, 3600, 50_000, 1000, 60, 3, 7)
    assert jobs_queue({}) == "pfa-serving-dev-chunks" and jobs_queue({"JOBS_QUEUE": " q "}) == "q"


@pytest.mark.parametrize(("name", "value"), [
    ("JOB_MAX_BYTES", str(5 * 1024 ** 3 + 1)), ("JOB_MAX_CHUNKS", "4001"), ("JOB_LINK_SECONDS", "604801"),
    ("JOB_CHUNK_ROWS", "0"), ("JOB_CHUNK_ATTEMPTS", "many"),
])
def test_a_value_out_of_bounds_names_the_variable_and_its_range(name, value):
    with pytest.raises(SettingsError, match=f"{name} must be an integer from"):
        JobSettings.from_mapping({name: value})
