# Two commands: `make run` serves the example model locally, `make test` runs every test.
# Both create the virtual environment first; nothing needs installing by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run loadtest bench cost test check clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(PY) -m devtools.run_local

# The published load test (10 arrivals/s for 60 s) against a local service; report in loadtest/reports/.
# Other profiles and a deployed stage: make loadtest LOADTEST_ARGS="--profile step --host https://.../dev"
loadtest: venv
	$(PY) -m loadtest.run $(LOADTEST_ARGS)

# Where a prediction's time goes, cold start, batch throughput: benchmarks/results.md (about a minute).
bench: venv
	$(PY) -m benchmarks.bench

# Price per million predictions and break-even rate from benchmarks/results.json: benchmarks/cost.md.
cost: venv
	$(PY) -m benchmarks.cost

# Lint and types, then every test: what CI runs.
test: check
	$(PY) -m pytest

check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .local .pytest_cache
