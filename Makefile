# Quintet: every command a developer or CI needs. `make run` and `make test` work from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV = "$$(command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)"
PY := .venv/bin/python
SCOPE ?=
SUB ?= developer
COMPANIES ?=
PARK_ID ?=
DRIVER_ID ?=
PACKAGES := $(wildcard libs/*) $(wildcard services/*)

.PHONY: help uv install run start stop status test test-unit test-e2e lint format bench token catalog catalog-check infra check-packages

help:
	@echo "make run      start the whole stack (gateway on http://127.0.0.1:8080); Ctrl-C stops it"
	@echo "make start    the same in the background (output in .run/stack.log); make status, make stop"
	@echo "make test     install everything and run every test (libs, services, e2e)"
	@echo "make lint     ruff + mypy"
	@echo "make bench    benchmarks (BENCH lines)"
	@echo "make token SCOPE='segments:read' [SUB= COMPANIES=1,2 PARK_ID= DRIVER_ID=]"
	@echo "make catalog  regenerate the event catalog in docs/events"

uv:
	@command -v uv >/dev/null 2>&1 || [ -x "$(HOME)/.local/bin/uv" ] || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

# Bytecode compiled once at install: this machine sets PYTHONDONTWRITEBYTECODE, so without it every
# process (services, workers, rendering processes, test stacks) compiles its imports again (1.8 s -> 0.8 s
# to import a service).
install: uv
	@$(UV) sync --all-packages --locked --quiet --compile-bytecode

infra:
	@bash deploy/ensure-infra.sh

run: install infra
	@$(PY) deploy/run_local.py

start: install infra
	@$(PY) deploy/run_local.py --detach

# Neither needs the virtualenv: without one, no stack can be running. (`python deploy/run_local.py
# --status` exits 3 when no stack runs, for scripts.)
stop:
	@if [ -x $(PY) ]; then $(PY) deploy/run_local.py --stop; else echo "stack: not running"; fi

status:
	@if [ -x $(PY) ]; then $(PY) deploy/run_local.py --status || true; else echo "stack: not running"; fi

test: install infra catalog-check
	@$(PY) -m pytest $(wildcard libs services deploy/console tests-e2e)

test-unit: install
	@$(PY) -m pytest $(wildcard libs services)

test-e2e: install infra
	@$(PY) -m pytest tests-e2e

# Each package alone: imports with its own dependencies, then its own tests (deploy/check-packages.sh).
check-packages: uv
	@bash deploy/check-packages.sh

lint: install
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy $(foreach p,$(wildcard libs/*/src/* services/*/src/* deploy/console/src/*),-p $(notdir $(p)))

format: install
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

bench: install infra
	@set -e; for f in $$(ls libs/*/bench/bench_*.py services/*/bench/bench_*.py 2>/dev/null); do \
		echo "== $$f"; $(PY) $$f; done

token: install
	@if [ -z "$(strip $(SCOPE))" ]; then \
		echo "usage: make -s token SCOPE='segments:read segments:write' [SUB=developer COMPANIES=1,2 PARK_ID= DRIVER_ID=]" >&2; \
		echo "prints a development token valid for 24 h carrying exactly SCOPE; every scope is listed in README.md (Auth)" >&2; \
		exit 2; \
	fi
	@$(PY) -m quintet_web.token --scope "$(SCOPE)" --sub "$(SUB)" --companies "$(COMPANIES)" \
		--park-id "$(PARK_ID)" --driver-id "$(DRIVER_ID)"

catalog: install
	@$(PY) -m quintet_contracts.catalog docs/events

catalog-check:
	@$(PY) -m quintet_contracts.catalog docs/events --check

# Operator tools (deploy/put_dataset.py, deploy/reset.py, deploy/demo.py).
FILE ?=
TO ?=
FORCE ?=
.PHONY: put-dataset reset demo

put-dataset: install
	@if [ -z "$(strip $(FILE))" ] || [ -z "$(strip $(TO))" ]; then \
		echo "usage: make put-dataset FILE=examples/datasets/goals.parquet TO=s3://goals-datasets/examples/goals.parquet" >&2; \
		echo "puts FILE into the stack's S3 (QUINTET_S3_*), creating the bucket; TO may be a prefix s3://bucket/dir/" >&2; \
		exit 2; \
	fi
	@$(PY) deploy/put_dataset.py "$(FILE)" "$(TO)"

# Drops every service schema in QUINTET_PG_DSN and the local S3 state, after a confirmation.
reset: install
	@$(PY) deploy/reset.py $(if $(strip $(FORCE)),--force,)

# Loads a small demo world into the running stack (make start first); safe to run again.
demo: install
	@$(PY) deploy/demo.py
