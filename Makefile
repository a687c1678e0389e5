# goldpath: two commands do all set-up. `make up` runs the portal with a demo organisation;
# `make test` installs what tests need and runs lint, types and the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# One pip cache for every virtualenv the project and its tests create.
export PIP_CACHE_DIR ?= $(HOME)/.cache/pip
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: up install install-test assets test lint typecheck unit bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -q -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The portal's front-end packages come from npm (package.json) and are copied where the
# portal serves them; nothing of them is committed. Install scripts are not run.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

assets: node_modules/.package-lock.json install
	$(BIN)/python -m goldpath.web.assets node_modules

up: install assets
	$(BIN)/goldpath up

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-test
	$(BIN)/mypy

unit: install-test assets
	$(BIN)/pytest -q

test: lint typecheck unit

bench: install-test
	$(BIN)/python bench/catalog_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules src/goldpath/web/static/vendor
