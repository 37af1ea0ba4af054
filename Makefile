# Nova — one Makefile for the whole system. `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PYTHON := $(VENV)/bin/python
PYTEST_ARGS ?=
PYTEST_WORKERS ?= auto
export NEXT_TELEMETRY_DISABLED := 1
export UV_LINK_MODE := copy

PY_SOURCES := libs/nova-kit services tests scripts deploy/render.py

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: setup
setup: $(VENV)/.synced node-deps ## install Python 3.13 (if needed), uv and every dependency

.PHONY: node-deps
node-deps: deploy/compose/node_modules/.installed frontend/node_modules/.installed

deploy/compose/node_modules/.installed: deploy/compose/package-lock.json
	npm ci --prefix deploy/compose --no-audit --no-fund --loglevel=error
	@touch $@

frontend/node_modules/.installed: frontend/package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix frontend --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.synced: pyproject.toml uv.lock libs/nova-kit/pyproject.toml $(wildcard services/*/pyproject.toml)
	@UV_PYTHON="$$(scripts/ensure-python.sh)"; export UV_PYTHON; \
	  export PATH="$$HOME/.local/bin:$$PATH"; \
	  uv sync --locked --all-packages
	@touch $@

.PHONY: dev
dev: setup ## run the whole system locally (embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL)
	$(PYTHON) scripts/devstack.py up

.PHONY: dev-reset
dev-reset: ## delete the local dev data under .nova/
	rm -rf .nova/postgres .nova/redis .nova/mail .nova/state

.PHONY: test
test: test-python test-frontend ## every test: Python (real PostgreSQL and Redis), frontend unit and browser tests

.PHONY: test-python
test-python: setup ## the Python suites (embedded servers, or NOVA_TEST_DATABASE_URL/NOVA_TEST_REDIS_URL)
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

.PHONY: test-frontend
test-frontend: setup ## the frontend: Vitest, generated types up to date, Playwright in Debian's Chromium
	npm test --prefix frontend
	npm run --prefix frontend codegen:check
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "browser tests need Debian's Chromium: apt-get install -y chromium" >&2; exit 1; fi
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm run --prefix frontend e2e

RESILIENCE_PROFILE ?= full
RESILIENCE_REPORT ?= docs/resilience.md

.PHONY: resilience
resilience: setup ## faults, load and hostile input against the whole system; writes docs/resilience.md
	NOVA_RESILIENCE=1 NOVA_RESILIENCE_PROFILE=$(RESILIENCE_PROFILE) \
	  NOVA_RESILIENCE_REPORT=$(RESILIENCE_REPORT) \
	  $(PYTHON) -m pytest tests/resilience -n 0 -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: lint
lint: setup ## ruff (check + format), mypy --strict, Biome and tsc for the frontend
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy libs/nova-kit/src services/auth/src services/users/src services/gateway/src services/worker/src \
	  deploy/render.py tests/deploy tests/observability tests/e2e tests/resilience scripts/devstack.py scripts/bench.py \
	  scripts/loadgen.py scripts/benchstack.py
	npm run --prefix frontend lint
	npm run --prefix frontend typecheck

.PHONY: format
format: setup ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix $(PY_SOURCES)
	$(VENV)/bin/ruff format $(PY_SOURCES)

.PHONY: supergraph
supergraph: setup ## compose deploy/supergraph.graphql from every service's subgraph SDL
	scripts/supergraph.sh

.PHONY: supergraph-check
supergraph-check: setup ## fail when deploy/supergraph.graphql differs from a fresh composition
	scripts/supergraph.sh --check deploy/supergraph.graphql

.PHONY: bench
bench: setup bench-deps ## run every benchmark (loopback, bounded) and write docs/benchmarks.md
	$(PYTHON) scripts/bench.py

.PHONY: bench-deps
bench-deps: ## install wrk (the load generator) and Hive Gateway and Apollo Gateway (pinned)
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y --no-install-recommends wrk \
	      || { apt-get update && apt-get install -y --no-install-recommends wrk; }; \
	  else \
	    echo "the benchmarks need wrk: sudo apt-get install -y wrk (Debian/Ubuntu)," \
	      "brew install wrk (macOS), or build https://github.com/wg/wrk" >&2; \
	    exit 1; \
	  fi; \
	fi
	npm ci --prefix services/gateway/bench/node --no-audit --no-fund --loglevel=error

.PHONY: bench-gateway
bench-gateway: setup bench-deps ## nova-gateway against Hive Gateway and Apollo Gateway, same supergraph
	$(PYTHON) scripts/bench.py --only gateway,gateway-proxy --output docs/benchmarks-gateway.md

.PHONY: flower
flower: setup ## Flower, the Celery monitoring UI, on :5555 (REDIS_URL must point at the broker)
	$(VENV)/bin/nova-worker flower

.PHONY: migrate
migrate: setup ## apply every service's migrations (DATABASE_URL must be set)
	$(VENV)/bin/nova-auth migrate
	$(VENV)/bin/nova-users migrate
	$(VENV)/bin/nova-worker migrate

-include deploy/deploy.mk
