# Every target creates .venv and installs on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast test-sqlite test-e2e-workers lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The report is written to var/demo-report.json; the last line printed says where.
demo: $(STAMP)
	$(BIN)/omnisync demo --duration 30 --report var/demo-report.json

# Compiled once up front: the suite starts the `omnisync` command in subprocesses, and
# where PYTHONDONTWRITEBYTECODE is set (CI images) each of them would compile the whole
# package again (about 0.5 s a start on two cores). pytest runs with the variable empty
# (unset, for Python) so that it keeps the test modules it rewrote for assertions in
# __pycache__: each worker rewrites all of them at every start otherwise (about 20 s).
COMPILED := core connectors sync hub sandbox migrations bench tests

test: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 $(COMPILED) >/dev/null
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2 --dist loadfile

# The unit tier without the tests marked slow, in under a minute on two cores; `make test`
# runs every tier. The tier comes from the folder (tests/conftest.py); naming the unit
# folders spares collecting, then deselecting, the other tiers.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "unit and not slow" tests/unit tests/contract

# The e2e tier again under hub.yaml `runner: procrastinate` (tests/support/queue_mode.py):
# every job a procrastinate task that a real worker runs. PostgreSQL only, so it needs
# OMNISYNC_TEST_POSTGRES_URL; the SQLite cases and the single runner's own tests are
# deselected (`make test` runs them).
test-e2e-workers: $(STAMP)
	@test -n "$$OMNISYNC_TEST_POSTGRES_URL" || { echo "test-e2e-workers: set OMNISYNC_TEST_POSTGRES_URL" >&2; exit 2; }
	$(BIN)/python -m compileall -q -j 0 $(COMPILED) >/dev/null
	OMNISYNC_TEST_RUNNER=procrastinate PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2 --dist loadfile tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.db var/demo-report.json build *.egg-info
