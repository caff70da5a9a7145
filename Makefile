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

# Where a prediction's time goes, cold start, batch throughput: .local/bench/results.md (about a minute; not
# under version control, so a run leaves the tree as it was).
bench: venv
	$(PY) -m benchmarks.bench

# The reference run kept under version control, to commit on its own: benchmarks/reference/ (results and cost).
# Refused when tracked files differ from the commit it would measure.
.PHONY: bench-reference
bench-reference: venv
	$(PY) -m benchmarks.bench --reference

# Price per million predictions and break-even rate from the latest run (.local/bench/, else
# benchmarks/reference/): .local/bench/cost.md.
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
