# Two commands on a fresh machine with only python3: `make demo` and `make test`.
# Each creates .venv when it is missing and installs the project into it (editable) first.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# Parallel test workers; CI has 2 cores.
JOBS   ?= auto

.PHONY: demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes; the stamps keep repeated runs fast.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/bitmac demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(JOBS) --durations=15 tests

# Everything but the tests marked slow (place-and-route, long regressions).
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow" tests

bench: $(VENV)/.installed-test
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build sim_build reports results bench/results .pytest_cache .hypothesis
