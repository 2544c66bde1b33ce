# One task runner. Every target sets up the virtual environment it needs first.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup browser run site test lint generate openapi bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the site's browser tests (skipped when it cannot be installed).
browser:
	bash .ci/chromium.sh

## run: build the bundled catalogue's index and site, serve the site at / and the API at /api
run: site
	$(BIN)/regcat serve --host $(HOST) --port $(PORT) --site build/site

## site: build the documentation site into build/site (the same as `mkdocs build`)
site: setup
	$(BIN)/regcat build
	$(BIN)/regcat site build

## test: the whole test suite (what CI runs)
test: setup browser
	$(BIN)/pytest -q -n 2

## lint: code style, canonical catalogue files, generated files up to date
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/regcat lint --check
	$(BIN)/regcat generate --check
	$(BIN)/regcat api openapi --check

## generate: regenerate the model and JSON Schemas from schema/regcat.yaml
generate: setup
	$(BIN)/regcat generate

## openapi: regenerate the published API contract, api/openapi.json
openapi: setup
	$(BIN)/regcat api openapi

## bench: benchmarks (not part of the test suite; see bench/README.md)
bench: setup
	$(PY) bench/bench_validate.py
	$(PY) bench/bench_sssom.py --setup
	$(PY) bench/bench_suggest.py
	$(PY) bench/bench_site.py
	$(PY) bench/bench_prefill.py

clean:
	rm -rf .regcat build dist *.egg-info .pytest_cache .ruff_cache test-artifacts
