# One task runner. Every target sets up the virtual environment it needs first.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint generate openapi bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## run: build the bundled catalogue's index and serve the API (/api, docs at /api/docs)
run: setup
	$(BIN)/regcat build
	$(BIN)/regcat serve --host $(HOST) --port $(PORT)

## test: the whole test suite (what CI runs)
test: setup
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

clean:
	rm -rf .regcat build dist *.egg-info .pytest_cache .ruff_cache test-artifacts
