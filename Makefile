# scim-bridge developer entry points. `make run` and `make test` are the two documented commands.
# Dependencies come from the hash-checked lock files in requirements/ (`make lock` rewrites them from
# pyproject.toml); the project itself is then installed without dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_LOCK := requirements/runtime.lock
TEST_LOCK := requirements/test.lock
BENCH_LOCK := requirements/bench.lock
sum = $(shell cat $(1) pyproject.toml | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.run-$(call sum,$(RUN_LOCK))
TEST_STAMP := $(VENV)/.test-$(call sum,$(TEST_LOCK))
BENCH_STAMP := $(VENV)/.bench-$(call sum,$(BENCH_LOCK))
UV_LOCK := requirements/uv.lock
# uv installs the locks (hash-checked, as pip would, in seconds instead of a minute); pip installs uv itself from
# its own one-line lock (see below), and stays the fallback when uv cannot run here.
PIP_LOCKED := $(BIN)/python -m pip install --quiet --require-hashes
UV_LOCKED := $(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes
PIP_PROJECT := $(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
UV_PROJECT := $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
# Python processes started from here keep what they compile in __pycache__. An environment that sets
# PYTHONDONTWRITEBYTECODE (some containers do) would make every process compile each module it imports again:
# ~1.5 s of CPU for each process that builds the app, and the test suite starts over a hundred of them.
unexport PYTHONDONTWRITEBYTECODE
PORT ?= 8080
# pytest-xdist workers of `make test` (tests that must not overlap share an xdist_group; see tests/conftest.py).
TEST_WORKERS ?= 2
UPSTREAM ?= opsgenie

.PHONY: run test lint typecheck audit pytest bench clean lock system-packages

# The environment is made without pip (installing pip into it costs ~5 s of CPU, more than the rest of the set-up):
# the interpreter's own pip installs uv into it when it can (pip 22.3 or later takes --python); otherwise, and
# whenever uv cannot run, the environment gets its own pip first.
ENSURE_PIP := $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade >/dev/null
locked = $(UV_LOCKED) -r $(1) || { $(ENSURE_PIP) && $(PIP_LOCKED) -r $(1); }
project = $(UV_PROJECT) || { $(ENSURE_PIP) && $(PIP_PROJECT); }

$(BIN)/python:
	$(PYTHON) -m venv --without-pip $(VENV)

$(BIN)/uv: $(BIN)/python $(UV_LOCK)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet --require-hashes -r $(UV_LOCK) 2>/dev/null \
		|| { $(ENSURE_PIP) && $(PIP_LOCKED) -r $(UV_LOCK); }
	touch $@

# The runtime lock only: enough for `make run`.
$(RUN_STAMP): $(BIN)/uv $(RUN_LOCK) pyproject.toml
	$(call locked,$(RUN_LOCK))
	$(project)
	rm -f $(VENV)/.run-*
	touch $@

# The test lock holds the runtime lock's releases and the test tools; it satisfies `make run` too.
$(TEST_STAMP): $(BIN)/uv $(TEST_LOCK) $(RUN_LOCK) pyproject.toml
	$(call locked,$(TEST_LOCK))
	$(project)
	rm -f $(VENV)/.test-* $(VENV)/.run-*
	touch $@ $(RUN_STAMP)

$(BENCH_STAMP): $(TEST_STAMP) $(BENCH_LOCK)
	$(call locked,$(BENCH_LOCK))
	rm -f $(VENV)/.bench-*
	touch $@

## Rewrite the lock files from pyproject.toml (needs the package index), newest releases the bounds allow.
## Each lock is constrained by the one before, so the three agree on every package they share.
LOCK_ARGS := --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock" --quiet \
	pyproject.toml requirements/build.in --extra postgres
lock: $(TEST_STAMP)
	$(BIN)/uv pip compile $(LOCK_ARGS) --upgrade -o $(RUN_LOCK)
	$(BIN)/uv pip compile $(LOCK_ARGS) --upgrade --extra test -c $(RUN_LOCK) -o $(TEST_LOCK)
	$(BIN)/uv pip compile $(LOCK_ARGS) --upgrade --extra test --extra bench -c $(TEST_LOCK) -o $(BENCH_LOCK)
	$(BIN)/python scripts/uv_lock.py $(TEST_LOCK) $(UV_LOCK)

## Start the bridge on the built-in OpsGenie simulator and a SQLite state file (UPSTREAM=jsm: the same
## directory migrated to the built-in Atlassian simulator, served as JSM Operations).
run: $(RUN_STAMP)
	$(BIN)/scim-bridge demo --port $(PORT) --upstream $(UPSTREAM)

## The whole check: the tools and the system packages the tests need (PostgreSQL's server, Chromium) are installed
## side by side; then lint, type-check and audit run in the background (their output is printed after the tests)
## while the test suite runs on all TEST_WORKERS. The background checks run at the lowest CPU priority: the test
## workers leave about a quarter of the CPU idle (waiting on servers, PostgreSQL, the browser), and the checks fit
## in it instead of slowing the tests. Fails if any of them fails.
test:
	@$(MAKE) --no-print-directory -j2 $(TEST_STAMP) system-packages
	@nice -n 19 $(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck audit >$(VENV)/checks.log 2>&1 & \
	checks=$$!; $(MAKE) --no-print-directory pytest; tests=$$?; \
	wait $$checks; status=$$?; cat $(VENV)/checks.log; \
	if [ $$status -ne 0 ]; then echo "make test: lint, typecheck or audit failed (above)"; exit 1; fi; \
	exit $$tests

## PostgreSQL's server binaries and Chromium with its driver, installed with one apt-get call when missing.
system-packages:
	bash scripts/ensure-system.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

## Check the pinned releases of the lock files against the PyPI advisory database. Known vulnerabilities
## fail the build; an unreachable advisory service only prints a notice, since it says nothing about the code.
audit: $(TEST_STAMP)
	@out="$$($(BIN)/pip-audit --disable-pip -r $(RUN_LOCK) -r $(TEST_LOCK) -r $(BENCH_LOCK) \
		--progress-spinner off 2>&1)"; rc=$$?; \
	if echo "$$out" | grep -q "^Found [0-9]* known vulnerabilit"; then echo "$$out"; exit 1; fi; \
	if [ $$rc -ne 0 ]; then \
		echo "NOTICE: pip-audit could not reach its advisory database; dependencies were NOT audited:"; \
		echo "$$out" | grep -v '^ ' | tail -n 1; exit 0; fi; \
	skipped=$$(echo "$$out" | grep -c "could not be audited"); \
	if [ $$skipped -gt 0 ]; then \
		echo "NOTICE: pip-audit could not audit $$skipped locked packages (the advisory service does not know" \
			"them: offline or mirrored index?); those were NOT checked."; fi; \
	echo "$$out" | grep "^No known vulnerabilities found" || true

pytest: $(TEST_STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

## Performance scenarios against the bridge as shipped; see bench/RESULTS.md. About 45 minutes on 2 cores: 3 to 6
## for the standard scenarios, about 40 for the large directory (100,000 users, synced and served on SQLite and
## on PostgreSQL); `.venv/bin/python -m bench --only NAME` runs one scenario.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var

## Fault suite: Okta- and Entra-style provisioning while the simulator injects faults, then the upstream
## state is compared with the intended one (a few minutes); see bench/RESULTS.md.
.PHONY: chaos
chaos: $(TEST_STAMP)
	$(BIN)/python -m bench.chaos
