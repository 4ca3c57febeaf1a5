# Two commands: `make demo` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Extra arguments for JupyterLab (the demo test passes --no-browser and a port).
JUPYTER_ARGS ?=
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: demo test system-deps bench lab-test screenshots clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/bin/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@ $(VENV)/.installed

## Opens JupyterLab on the quick-start notebook.
demo: $(VENV)/.installed
	$(BIN)/jupyter lab $(ROOT_FLAG) $(JUPYTER_ARGS) notebooks/01_quickstart.ipynb

## Debian packages the tests use (chromium, redis-server), installed when root and missing.
system-deps:
	bash scripts/system-deps.sh

## Unit tests, doctests, notebooks under nbval, browser tests.
# Notebooks run live for RTNB_LIVE_SECONDS and at small sizes (RTNB_SMALL) under test.
test: $(VENV)/.installed-test system-deps
	RTNB_LIVE_SECONDS=$${RTNB_LIVE_SECONDS:-3} RTNB_SMALL=1 \
	$(BIN)/python -m pytest -q rtnb tests notebooks --nbval-lax

## Pictures of the notebooks in docs/ (each run in a real JupyterLab under headless Chromium).
screenshots: $(VENV)/.installed-test system-deps
	PYTHONPATH=$(CURDIR) $(BIN)/python -m scripts.screenshots $(NOTEBOOKS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
