# Two commands: `make run` serves the example model locally, `make test` runs every test.
# Both create the virtual environment first; nothing needs installing by hand.
# The venv runs the Python of the Lambda runtime, because `chalice package` and `chalice deploy` declare the
# runtime of the Python that runs them. PYTHON=/path/to/python3.12 picks the interpreter; otherwise
# devtools/find_python.sh looks on PATH and in pyenv.
LAMBDA_PYTHON := 3.12
FOUND_PYTHON := $(shell PYTHON='$(PYTHON)' sh devtools/find_python.sh $(LAMBDA_PYTHON) 2>/dev/null)
PYTHON_RELEASE := $(if $(FOUND_PYTHON),$(shell '$(FOUND_PYTHON)' -c 'import platform; print(platform.python_version())'))
VENV := .venv
PY := $(VENV)/bin/python
# Named for the interpreter's release, so that a venv built by another Python is rebuilt, not reused.
STAMP := $(VENV)/.installed-$(PYTHON_RELEASE)
STAGE ?= dev
PORT ?= 8000
S3_PORT ?=

.PHONY: venv run s3 package loadtest bench cost test check clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(if $(FOUND_PYTHON),,$(error $(shell PYTHON='$(PYTHON)' sh devtools/find_python.sh $(LAMBDA_PYTHON) 2>&1)))
	@if [ -e $(VENV) ] && [ "$$($(PY) -c 'import platform; print(platform.python_version())' 2>/dev/null)" != "$(PYTHON_RELEASE)" ]; then \
		echo "$(VENV) was not built by Python $(PYTHON_RELEASE) ($(FOUND_PYTHON)): rebuilding it"; rm -rf $(VENV); fi
	'$(FOUND_PYTHON)' -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed*
	touch $(STAMP)

venv: $(STAMP)

# make run PORT=8001 S3_PORT=9100 picks the ports (default 8000, and a free one for S3).
run: venv
	$(PY) -m devtools.run_local --port $(PORT) $(if $(S3_PORT),--s3-port $(S3_PORT))

# Only the local S3 of `make run`, for running `chalice local` by hand: prints what to export (README).
s3: venv
	$(PY) -m devtools.dev_s3 $(if $(S3_PORT),--s3-port $(S3_PORT))

# The Lambda bundle and SAM template of a stage, without deploying: build/package/$(STAGE)/ (make package STAGE=prod).
package: venv
	$(PY) -m devtools.package --stage $(STAGE)

# The published load test (10 arrivals/s for 60 s) against a local service; report in loadtest/reports/.
# Other profiles and a deployed stage: make loadtest LOADTEST_ARGS="--profile step --host https://.../dev"
loadtest: venv
	$(PY) -m loadtest.run $(LOADTEST_ARGS)

# Where a prediction's time goes, cold start, batch throughput: .local/bench/results.md (about a minute; not
# under version control, so a run leaves the tree as it was).
bench: venv
	$(PY) -m benchmarks.bench

# The published ingest replayed end to end on the local run (a few minutes): 50,000 Sonar records through the
# Kinesis stream and score_stream, every result read back: .local/bench/ingest.md and ingest.json.
# make bench-ingest INGEST_ARGS="--records 5000" for a shorter one.
.PHONY: bench-ingest
bench-ingest: venv
	$(PY) -m benchmarks.ingest $(INGEST_ARGS)

# A 200,000-row Sonar CSV scored as a job on the local run (a few minutes), with one chunk worker and with as many
# as the cores, every output line checked, priced on Lambda beside /predict/batch and SageMaker asynchronous
# inference: .local/bench/jobs.md and jobs.json. make bench-jobs JOBS_ARGS="--rows 20000" for a shorter one.
.PHONY: bench-jobs
bench-jobs: venv
	$(PY) -m benchmarks.jobs $(JOBS_ARGS)

# The reference run kept under version control, to commit on its own: benchmarks/reference/ (results and cost).
# Refused when tracked files differ from the commit it would measure.
.PHONY: bench-reference
bench-reference: venv
	$(PY) -m benchmarks.bench --reference

# Price per million predictions and break-even rate from the latest run (.local/bench/, else
# benchmarks/reference/): .local/bench/cost.md.
cost: venv
	$(PY) -m benchmarks.cost

# The Open Inference Protocol's inference against /predict/batch of the same rows (Sonar; JSON and binary tensors),
# in the same interleaved rounds (about 30 s): .local/bench/open_inference.md and open_inference.json.
.PHONY: bench-open-inference
bench-open-inference: venv
	$(PY) -m benchmarks.open_inference $(OPEN_INFERENCE_ARGS)

# KServe's client (requirements-kserve.txt) cannot share .venv (it wants pandas<3 and psutil<6): its own venv, by
# the same Python, for the test that runs it as a subprocess (tests/kserve_client_check.py). make test builds it.
KSERVE_VENV := .venv-kserve
KSERVE_PY := $(KSERVE_VENV)/bin/python
KSERVE_STAMP := $(KSERVE_VENV)/.installed-$(PYTHON_RELEASE)

$(KSERVE_STAMP): requirements-kserve.txt
	$(if $(FOUND_PYTHON),,$(error $(shell PYTHON='$(PYTHON)' sh devtools/find_python.sh $(LAMBDA_PYTHON) 2>&1)))
	@if [ -e $(KSERVE_VENV) ] && [ "$$($(KSERVE_PY) -c 'import platform; print(platform.python_version())' 2>/dev/null)" != "$(PYTHON_RELEASE)" ]; then \
		echo "$(KSERVE_VENV) was not built by Python $(PYTHON_RELEASE) ($(FOUND_PYTHON)): rebuilding it"; rm -rf $(KSERVE_VENV); fi
	'$(FOUND_PYTHON)' -m venv $(KSERVE_VENV)
	$(KSERVE_PY) -m pip install --quiet --disable-pip-version-check -r requirements-kserve.txt
	rm -f $(KSERVE_VENV)/.installed*
	touch $(KSERVE_STAMP)

.PHONY: venv-kserve
venv-kserve: $(KSERVE_STAMP)

# Lint and types, then every test: what CI runs.
test: check venv-kserve
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || echo "make test: no browser found \
	(Debian's chromium and chromium-driver), so the web page's browser tests are skipped; to run them: \
	apt-get install chromium chromium-driver"
	$(PY) -m pytest

check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(KSERVE_VENV) .local .pytest_cache build
