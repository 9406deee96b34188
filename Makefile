# bbdash: `make demo` runs the product on embedded defaults; `make test` runs lint and the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13 is the supported interpreter; pyenv (via .python-version) or the system's python3.13 provides it.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format migrate emulator worker beat clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "bbdash needs Python 3.12 or newer (3.13 preferred); set PYTHON=/path/to/python3.13")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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
