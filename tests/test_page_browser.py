"""The web page at ``GET /`` in a real browser: headless Chromium driven by Selenium (tests/browser_support.py)
against ``chalice local`` over HTTP with the local S3 behind it; the file upload against the whole local run
(S3, DynamoDB, the queues and the jobs' handlers).

Without Debian's chromium and chromium-driver these tests are skipped, saying so (they fail instead when
PAGE_TESTS_REQUIRED=1, as in CI).
"""

from __future__ import annotations

import csv
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import Browser, chromium, require_browser, skip_reason, stage_proxy
from chalice_local import call, chalice_local, free_port
from test_api import ROW1, r_labels

if (_reason := skip_reason()) is not None:
    pytest.skip(_reason, allow_module_level=True)

SONAR_CSV = Path(__file__).parent / "data" / "sonar.csv"
# Data rows (numbered from 1 after the header) that the upload test spoils: the column, and the bad cell.
BAD_ROWS = {50: ("V3", "not-a-number"), 201: ("V11", "x")}
MAX_BYTES = 200_000  # the upload test's jobs take files of 300 Sonar rows (125 KB), not of 600


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    require_browser()
    with chromium(tmp_path_factory.mktemp("chromium")) as page:
        yield page


@pytest.fixture(scope="module")
def service(browser, s3, model_bucket, tmp_path_factory) -> Iterator[str]:
    """`chalice local` serving the dev stage (the Sonar model, from the local S3); its base URL."""
    with chalice_local(s3.client_environment(), tmp_path_factory.mktemp("page-chalice") / "chalice.log") as url:
        yield url


def sonar_version(service: str) -> str:
    return call(service + "/models/sonar_naive_bayes", content_type=None)[2]["version"]


def test_the_page_lists_the_models_and_shows_the_default_models_fields_and_example(browser, service):
    browser.open(service + "/", ready="model-details")
    # Other tests share the bucket and may have put models there: the page lists what the service lists.
    listed = [model["name"] for model in call(service + "/models", content_type=None)[2]["models"]]
    options = browser.options("model")
    assert [value for value, _, _ in options] == listed
    assert [option for option in options if option[2] or "(default)" in option[1]] == \
        [("sonar_naive_bayes", "sonar_naive_bayes (default)", True)]
    assert sonar_version(service) in browser.text("model-summary")
    fields = [item.text for item in browser.by_id("fields").find_elements("tag name", "li")]
    assert browser.text("fields-summary") == "Input fields (60)"
    assert fields[0] == "V1 null | double" and fields[-1] == "V60 null | double" and len(fields) == 60
    assert json.loads(browser.by_id("record").get_attribute("value")) == ROW1
    assert browser.problems() == []


def test_a_record_scored_from_the_keyboard_shows_the_prediction_and_the_models_version(browser, service):
    browser.open(service + "/", ready="model-details")
    browser.by_id("record").click()
    browser.press("TAB")
    assert browser.focused() == "score"
    browser.press("ENTER")
    browser.wait(lambda: browser.by_id("score-result").is_displayed())
    assert json.loads(browser.text("prediction")) == "R"
    assert browser.text("scored-by") == f"Scored by sonar_naive_bayes, version {sonar_version(service)}."
    assert browser.text("score-error") == ""


def test_an_invalid_record_shows_the_services_error_naming_the_field(browser, service):
    browser.open(service + "/", ready="model-details")
    record = browser.by_id("record")
    record.clear()
    record.send_keys(json.dumps({**ROW1, "V7": "0.15"}))
    browser.by_id("score").click()
    alert = browser.wait(lambda: browser.text("score-error") and browser.by_id("score-error"))
    assert alert.get_attribute("role") == "alert"
    assert 'expected one of null | double, got string "0.15"' in alert.text
    assert alert.find_element("css selector", ".error-field").text == "V7"
    assert alert.find_element("css selector", ".error-code").text == "invalid_input"
    assert not browser.by_id("score-result").is_displayed()
    # Scoring a good record clears the error.
    browser.by_id("reset-example").click()
    browser.by_id("score").click()
    browser.wait(lambda: browser.by_id("score-result").is_displayed())
    assert browser.text("score-error") == ""


def test_every_control_has_a_label_and_errors_go_to_alert_regions(browser, service):
    browser.open(service + "/", ready="model-details")
    assert browser.script("""
        return Array.from(document.querySelectorAll("input, select, textarea, progress"))
            .filter(function (control) { return control.labels.length === 0; })
            .map(function (control) { return control.id || control.outerHTML; });""") == []
    assert browser.script("""
        return Array.from(document.querySelectorAll("button"))
            .filter(function (button) { return !button.textContent.trim(); })
            .map(function (button) { return button.id; });""") == []
    alerts = browser.script("""
        return Array.from(document.querySelectorAll('[role="alert"]')).map(function (region) { return region.id; });""")
    assert set(alerts) >= {"model-error", "score-error", "file-error", "job-error"}
    assert browser.by_id("api-key").get_attribute("type") == "password"


def test_under_a_stage_path_the_page_calls_the_api_below_it(browser, service):
    # API Gateway serves a stage at https://host/dev, with or without the trailing slash.
    with stage_proxy(service, "/dev") as stage:
        for url in (stage, stage + "/"):
            browser.open(url, ready="model-details")
            browser.by_id("score").click()
            browser.wait(lambda: browser.by_id("score-result").is_displayed())
            assert json.loads(browser.text("prediction")) == "R"
    assert browser.script("return [pfaPage.apiBase('/dev'), pfaPage.apiBase('/dev/'), pfaPage.apiBase('/')]") \
        == ["/dev/", "/dev/", "/"]


# ----- a file, as a job: needs the whole local run (devtools/run_local.py) with the jobs' stand-ins -----


def sonar_file(path: Path, rows: int = 300) -> Path:
    """``rows`` Sonar rows (the 208 over again) as CSV with the Class column, the BAD_ROWS spoilt."""
    with open(SONAR_CSV, newline="") as handle:
        header, *data = list(csv.reader(handle))
    lines = [list(data[number % len(data)]) for number in range(rows)]
    for row, (column, cell) in BAD_ROWS.items():
        lines[row - 1][header.index(column)] = cell
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([header, *lines])
    return path


@pytest.fixture(scope="module")
def jobs_service(browser, tmp_path_factory) -> Iterator[str]:
    """What `make run` serves, jobs included, with its data and logs in a temporary folder; its base URL.

    Chunks of 100 rows: the upload test's 300 rows are scored as three chunks and assembled. Files of at most
    MAX_BYTES: 300 rows fit, 600 do not.
    """
    from devtools.run_local import local_run

    folder = tmp_path_factory.mktemp("page-run")
    port = free_port()
    with pytest.MonkeyPatch.context() as patch, open(folder / "run.log", "wb") as output:
        patch.setenv("JOB_CHUNK_ROWS", "100")
        patch.setenv("JOB_MAX_BYTES", str(MAX_BYTES))
        with local_run(port, data_dir=folder / "s3", publish=False, output=output, streams=True,
                       aws_log_path=folder / "aws.log"):
            yield f"http://127.0.0.1:{port}"


def watch_job(browser: Browser, timeout: float = 180) -> list[tuple[str, str, str]]:
    """Until the job's state says it finished or failed: each change of (state, rows bar, upload bar) shown."""
    seen: list[tuple[str, str, str]] = []
    deadline = time.monotonic() + timeout
    while True:
        shown = (browser.text("job-state"), str(browser.by_id("rows-progress").get_attribute("value")),
                 str(browser.by_id("upload-progress").get_attribute("value")))
        if not seen or seen[-1] != shown:
            seen.append(shown)
        problem = browser.text("file-error") + browser.text("job-error")
        if "Finished" in shown[0] or "Failed" in shown[0] or problem:
            assert not problem, f"{problem}; seen: {seen}"
            return seen
        assert time.monotonic() < deadline, f"the job did not end within {timeout} s; seen: {seen}"
        time.sleep(0.1)


def test_a_csv_uploaded_through_the_page_is_scored_as_a_job_with_its_row_errors_listed(browser, jobs_service,
                                                                                      tmp_path):
    browser.open(jobs_service + "/", ready="model-details")
    browser.by_id("file").send_keys(str(sonar_file(tmp_path / "sonar300.csv")))
    assert browser.by_id("format").get_attribute("value") == "csv"
    browser.by_id("upload").click()
    seen = watch_job(browser)

    assert seen[-1][0].startswith("State: Finished") and len(seen) > 1, seen  # watched on its way
    upload = browser.by_id("upload-progress")
    assert upload.get_attribute("value") == upload.get_attribute("max") != "0"
    assert browser.text("upload-text").startswith("Uploaded")
    rows = browser.by_id("rows-progress")
    assert rows.get_attribute("value") == rows.get_attribute("max") == "300"
    assert browser.text("rows-text") == "300 of 300 rows"
    assert browser.text("job-counts").startswith("Scored: 298 · Failed: 2")
    job = call(f"{jobs_service}/jobs/{browser.text('job-id')}", content_type=None)[2]
    assert job["state"] == "succeeded" and job["chunks"] == {"total": 3, "done": 3}

    link = browser.wait(lambda: browser.by_id("job-links").is_displayed() and browser.by_id("results-link"))
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(link.get_attribute("href")) as results:
        lines = [json.loads(line) for line in results.read().decode().splitlines()]
    labels = r_labels()
    assert [line["row"] for line in lines] == list(range(1, 301))
    for line in lines:
        if line["row"] in BAD_ROWS:
            assert line["error"]["code"] == "invalid_input" and line["error"]["field"] == BAD_ROWS[line["row"]][0]
        else:
            assert line["prediction"] == labels[(line["row"] - 1) % len(labels)]

    table = browser.wait(lambda: browser.by_id("row-errors-box").is_displayed() and browser.by_id("row-errors"))
    listed = [[cell.text for cell in row.find_elements("tag name", "td")]
              for row in table.find_elements("css selector", "tbody tr")]
    assert [(row, code, field) for row, code, field, _ in listed] == [
        (str(row), "invalid_input", column) for row, (column, _) in sorted(BAD_ROWS.items())]
    assert all(f'got string "{BAD_ROWS[int(row)][1]}"' in message for row, _, _, message in listed)
    assert browser.problems() == []


def test_a_file_over_the_services_limit_is_refused_in_the_page_saying_so(browser, jobs_service, tmp_path):
    browser.open(jobs_service + "/", ready="model-details")
    big = sonar_file(tmp_path / "sonar600.csv", rows=600)
    browser.by_id("file").send_keys(str(big))
    browser.by_id("upload").click()
    alert = browser.wait(lambda: browser.text("file-error") and browser.by_id("file-error"))
    assert alert.get_attribute("role") == "alert"
    size = big.stat().st_size
    assert alert.text == (f"File too large: sonar600.csv is {size / 1024:.1f} KB; the service takes files of at most "
                          f"{MAX_BYTES / 1024:.1f} KB. Split it into smaller files.")
    assert not browser.by_id("job").is_displayed() and not browser.by_id("upload-box").is_displayed()
