# switchrole: `make demo` (set up, deploy and switch roles on a local AWS emulator) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Keep jsii/CDK caches inside the project, the CLIs offline (no version check, no telemetry), and the Node 20 banners quiet.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.cache/jsii
export CDK_HOME := $(CURDIR)/.cache/cdk
# pip's and npm's downloads too (make setup, and the tests that install switchrole's wheel the way a user does).
export PIP_CACHE_DIR := $(CURDIR)/.cache/pip
export npm_config_cache := $(CURDIR)/.cache/npm
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
# npm's update notifier would ask the registry for a newer npm on every `npx`.
export NPM_CONFIG_UPDATE_NOTIFIER := false
# Under Node 20 the CDK CLI's AWS SDK warns on every call that its 2027 releases need Node 22 (see README).
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true
# Material for MkDocs prints an end-of-life notice (May 2027; see mkdocs.yml) on every build.
export NO_MKDOCS_2_WARNING := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup test test-fast demo synth validate lint docs bench fuzz lifecycle wheel lock clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Every core (pytest-xdist): each module on one worker (a module's deployment is made once), the longest modules
# first (tests/conftest.py). TEST_WORKERS=0 runs everything in one process (pdb, -x).
TEST_WORKERS ?= auto
XDIST = -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
# One V8 background thread per Node process (jsii's kernels, the CDK CLI): every core already runs a worker, and
# Node's default pool of 4 made each kernel's first synthesis cost about 1.5 s more CPU (compilation no core is
# free for). A runtime setting only: the same processes, the same results.
test test-fast: export NODE_OPTIONS := $(strip $(NODE_OPTIONS) --v8-pool-size=1)

test: setup
	$(BIN)/python -m pytest $(XDIST)

# The fast loop: everything but the emulator, the end-to-end flows, the benchmarks' own tests and the tests
# marked slow (a synthesis or the CDK CLI, a subprocess per case, a fuzzing campaign), which make test runs.
test-fast: setup
	$(BIN)/python -m pytest $(XDIST) -m 'not e2e and not slow' --ignore=tests/e2e --ignore=tests/local --ignore=tests/bench

demo: setup
	$(BIN)/switchrole local demo

validate: setup
	$(BIN)/switchrole validate

synth: setup
	npx cdk synth --no-notices -q

lint: setup
	$(BIN)/ruff check switchrole tests scripts bench app.py
	$(BIN)/ruff format --check switchrole tests scripts bench app.py
	$(BIN)/mypy switchrole app.py
	$(BIN)/lint-imports --no-cache
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml switchrole/scaffold/files/github/workflows/*.yml

# The documentation site (mkdocs.yml, docs/): every link, anchor and page checked (--strict); `mkdocs serve` to read it.
docs: setup
	$(BIN)/mkdocs build --strict -d .cache/site

bench: setup
	$(BIN)/python bench/credential_process.py
	$(BIN)/python bench/scale.py

fuzz: setup
	$(BIN)/python bench/fuzz.py --inputs 5000
	$(BIN)/python bench/fuzz.py --limits

# Random edit sequences of an accounts file (bench/lifecycle.py): every step validated, synthesized, guarded against
# replacements and its review checked against the templates; 50 updates deployed as chained updates on the emulator.
lifecycle: setup
	$(BIN)/python bench/lifecycle.py --sequences 200 --steps 10 --seed 1 --deploy 50 --out .cache/lifecycle

# switchrole's wheel, reproducibly (the bytes `switchrole init` vendors from this checkout): dist/switchrole-*.whl
wheel: setup
	$(BIN)/python scripts/wheel.py dist

# The scaffold's hashed requirements files, from the pins (after changing requirements*.txt or constraints.txt).
lock: setup
	$(BIN)/python scripts/lock.py

clean:
	rm -rf cdk.out .cache .pytest_cache .mypy_cache .ruff_cache
