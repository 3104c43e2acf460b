# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv and install orgbook with its development tools on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit install clean

demo: $(VENV)/.installed
	$(BIN)/orgbook demo

test: lint typecheck unit

lint: $(VENV)/.installed
	$(BIN)/ruff check orgbook tests bench
	$(BIN)/ruff format --check orgbook tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# Exit code 5 is pytest's "no tests collected" (e.g. PYTEST_ARGS="-m postgres" on a checkout
# without such tests): not a failure of the suite.
# The tests of the installed package (tests/deploy/) run the wheel built from this checkout,
# installed (not editable) into .venv-wheel by scripts/install-wheel, as `pip install .` would.
unit: $(VENV)/.installed
	installed="$${ORGBOOK_TEST_INSTALLED:-}"; \
	if [ -z "$$installed" ]; then \
	  installed=$$(PYTHON=$(BIN)/python scripts/install-wheel .venv-wheel) || exit 2; \
	fi; \
	ORGBOOK_TEST_INSTALLED="$$installed" $(BIN)/pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; exit 0; fi; exit $$rc

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .venv-wheel orgbook-data .pytest_cache .mypy_cache .ruff_cache
