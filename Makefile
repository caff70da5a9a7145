# Two commands: `make run` serves the example model locally, `make test` runs every test.
# Both create the virtual environment first; nothing needs installing by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run test clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(PY) -m devtools.run_local

test: venv
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .local .pytest_cache
