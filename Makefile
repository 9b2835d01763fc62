# Two entry points for a fresh machine with Python 3.11 and make: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install install-test clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; run 'make PYTHON=python3 ...'"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,cnn]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/hrlc demo --out demo-output

# The tests run on TEST_WORKERS pytest-xdist workers: one per core, at most 4 (each worker
# builds its own session fixtures). --dist loadfile keeps each test file on one worker, so
# a module-scoped fixture is built once; --no-loadscope-reorder hands the files out in the
# order tests/conftest.py gives them (the long ones first) instead of by their number of
# tests. TEST_WORKERS=0 runs them all in one process. Python's bytecode cache stays on even
# where the environment turns it off (PYTHONDONTWRITEBYTECODE): the suite starts dozens of
# fresh interpreters (stage launchers, `python -m hrlc`, dask workers, benchmark children),
# and each would compile hrlc's 30,000 lines again (about 0.2 CPU-s).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)

test: $(VENV)/.installed-test
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

clean:
	rm -rf $(VENV) demo-output .pytest_cache
