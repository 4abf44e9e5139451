# Leadflow: `make run` sets everything up and runs the app with demo data; `make test` runs the whole suite on
# SQLite and on PostgreSQL; `make bench` runs the benchmarks and writes docs/benchmarks.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-sqlite test-postgres lint bench demo clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo --if-empty
	$(BIN)/python manage.py serve

# Browser tests drive Debian's Chromium with Playwright (no browser download).
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_module_size.py
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/bandit -q -c pyproject.toml -r revops leads scoring routing

# The suite runs in TEST_PROCESSES processes (pytest-xdist; `auto`: one per core), a test file's tests together in
# one of them; TEST_PROCESSES=0 runs it in this process alone.
TEST_PROCESSES ?= auto
PYTEST := $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile

test-sqlite: install browser
	$(PYTEST)

test-postgres: install browser
	$(BIN)/python scripts/with_postgres.py -- $(PYTEST)

test: lint test-sqlite test-postgres

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf db.sqlite3 db.sqlite3-wal db.sqlite3-shm .run
