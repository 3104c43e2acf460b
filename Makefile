# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv and install orgbook with its development tools on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit mutation install clean

demo: $(VENV)/.installed
	$(BIN)/orgbook demo $(if $(PORT),--port $(PORT)) $(if $(DATA_DIR),--data-dir $(DATA_DIR))

test: lint typecheck unit

lint: $(VENV)/.installed
	$(BIN)/ruff check orgbook tests bench
	$(BIN)/ruff format --check orgbook tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# Exit code 5 is pytest's "no tests collected" (e.g. PYTEST_ARGS="-m postgres" on a checkout
# without such tests): not a failure of the suite.
# Without ORGBOOK_TEST_PG_URL, a throwaway PostgreSQL server is started with .ci/pg-start when
# the server binaries are installed (as .ci/run does); Chromium is used when it is on the PATH.
# Whatever is missing, the run ends by saying how many tests it skipped and why.
# The tests of the installed package (tests/deploy/) run the wheel built from this checkout,
# installed (not editable) into $(VENV)/wheel by scripts/install-wheel, as `pip install .` would.
unit: $(VENV)/.installed
	@if [ -z "$${ORGBOOK_TEST_PG_URL:-}" ] && ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then \
	  ORGBOOK_TEST_PG_URL="$$(.ci/pg-start)" || { echo "make: .ci/pg-start failed" >&2; exit 1; }; \
	  export ORGBOOK_TEST_PG_URL; echo "make: PostgreSQL tests run against $$ORGBOOK_TEST_PG_URL"; \
	fi; \
	if [ -z "$${ORGBOOK_TEST_CHROMIUM:-}" ] && command -v chromium >/dev/null 2>&1; then \
	  ORGBOOK_TEST_CHROMIUM="$$(command -v chromium)"; export ORGBOOK_TEST_CHROMIUM; \
	fi; \
	[ -n "$${ORGBOOK_TEST_PG_URL:-}" ] || echo "make: no PostgreSQL server binaries and no ORGBOOK_TEST_PG_URL: PostgreSQL tests will be skipped"; \
	if [ -z "$${ORGBOOK_TEST_INSTALLED:-}" ]; then \
	  echo "make: building the wheel and installing it into $(VENV)/wheel (scripts/install-wheel)"; \
	  ORGBOOK_TEST_INSTALLED=$$(PYTHON=$(BIN)/python scripts/install-wheel $(VENV)/wheel) || exit 2; \
	  export ORGBOOK_TEST_INSTALLED; \
	fi; \
	$(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

# Mutation testing of the trust core (docs/testing.md). MUTATION_BASE=origin/main: only the core
# files changed since that revision, as CI runs it; MUTATION_TIME_LIMIT caps it (seconds).
mutation: $(VENV)/.installed
	BIN=$(BIN) scripts/mutation $(if $(MUTATION_BASE),--changed $(MUTATION_BASE))

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) orgbook-data .pytest_cache .mypy_cache .ruff_cache
