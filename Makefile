# bbdash: `make demo` runs the product on embedded defaults; `make test` runs lint and the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13 is the supported interpreter; pyenv (via .python-version) or the system's python3.13 provides it.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
STAMP := $(VENV)/.installed
# Every package with its hash: lock.txt for development and CI, runtime.txt (the same pins, no dev tools) for the image.
LOCK := requirements/lock.txt
RUNTIME_LOCK := requirements/runtime.txt
LOCKED := $(VENV)/.locked

.PHONY: install lock demo test lint format migrate emulator worker beat clean

# Only what the lock names, each file checked against its hash.
$(LOCKED): $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "bbdash needs Python 3.12 or newer (3.13 preferred); set PYTHON=/path/to/python3.13")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $(LOCKED)

# Then the project, editable, from the packages already there (its build backend included): with no index, a
# requirement pyproject.toml names and the lock lacks stops the install here instead of coming in unchecked.
$(STAMP): $(LOCKED) pyproject.toml
	$(PY) -m pip install --quiet --no-index --no-build-isolation -e '.[dev]' \
		|| { echo "requirements/lock.txt does not satisfy pyproject.toml: run make lock" >&2; exit 1; }
	touch $(STAMP)

install: $(STAMP)

# Both locks from pyproject.toml and its build requirements, for every platform and Python it supports; pins that
# still fit are kept (`make lock LOCK_ARGS=--upgrade` moves everything to the newest). The runtime lock is constrained
# by the development one, so the image runs exactly the versions the tests ran.
BUILD_REQUIRES := $(PY) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
COMPILE := $(VENV)/bin/uv pip compile pyproject.toml - --universal --generate-hashes --quiet --custom-compile-command "make lock" $(LOCK_ARGS)
lock: $(LOCKED)
	$(BUILD_REQUIRES) | $(COMPILE) --extra dev -o $(LOCK)
	$(BUILD_REQUIRES) | $(COMPILE) -c $(LOCK) -o $(RUNTIME_LOCK)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

demo: $(STAMP)
	$(PY) manage.py demo

# A throwaway key for the test run only (tests encrypt credentials of the emulator's made-up users).
test: export BBDASH_ENCRYPTION_KEYS ?= 9v3P7Yd_5z1tQfW0nH2kLx8cR4uJ6mA_Bo-eSgTiVqE=
test: $(STAMP)
	@# Tests get their own var/ (SQLite file, broker folders), so a running demo never shares their queue.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# django-stubs' plugin imports the settings, which make their var/ folders: the test run's, not the demo's.
	BBDASH_VAR_DIR=$(CURDIR)/var/test $(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run --noinput
	BBDASH_VAR_DIR=$(CURDIR)/var/test $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	BBDASH_VAR_DIR=$(CURDIR)/var/test $(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

emulator: $(STAMP)
	$(VENV)/bin/bbdash-emulator --host 127.0.0.1 --port 7990 --seed demo

worker: $(STAMP)
	$(VENV)/bin/celery -A dashboard worker --loglevel INFO

beat: $(STAMP)
	$(VENV)/bin/celery -A dashboard beat --loglevel INFO

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
