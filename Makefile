# scim-bridge developer entry points. `make run` and `make test` are the two documented commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BENCH_STAMP := $(VENV)/.bench-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT ?= 8080
UPSTREAM ?= opsgenie

.PHONY: run test lint typecheck audit pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	rm -f $(VENV)/.bench-*
	touch $(BENCH_STAMP)

## Start the bridge on the built-in OpsGenie simulator and a SQLite state file (UPSTREAM=jsm: the same
## directory migrated to the built-in Atlassian simulator, served as JSM Operations).
run: $(STAMP)
	$(BIN)/scim-bridge demo --port $(PORT) --upstream $(UPSTREAM)

## Lint, type-check and run the whole test suite.
test: $(STAMP) lint typecheck audit pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

## Check the installed dependencies against the PyPI advisory database. Known vulnerabilities fail the
## build; an unreachable advisory service only prints a notice, since it says nothing about the code.
audit: $(STAMP)
	@out="$$($(BIN)/pip-audit --local --skip-editable --progress-spinner off 2>&1)"; rc=$$?; \
	if echo "$$out" | grep -q "^Found [0-9]* known vulnerabilit"; then echo "$$out"; exit 1; fi; \
	if [ $$rc -ne 0 ]; then \
		echo "NOTICE: pip-audit could not reach its advisory database; dependencies were NOT audited:"; \
		echo "$$out" | grep -v '^ ' | tail -n 1; exit 0; fi; \
	skipped=$$(echo "$$out" | grep -c "could not be audited"); \
	if [ $$skipped -gt 0 ]; then \
		echo "NOTICE: pip-audit could not audit $$skipped installed packages (the advisory service does not know" \
			"them: offline or mirrored index?); those were NOT checked."; fi; \
	echo "$$out" | grep "^No known vulnerabilities found" || true

pytest: $(STAMP)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-browser.sh
	$(BIN)/python -m pytest

## Performance scenarios against the bridge as shipped (3 to 6 minutes on 2 cores); see bench/RESULTS.md.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var

## Fault suite: Okta- and Entra-style provisioning while the simulator injects faults, then the upstream
## state is compared with the intended one (a few minutes); see bench/RESULTS.md.
.PHONY: chaos
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos
