"""Shared pytest set-up: fixture plugins live in tests/fixtures/, one module per area.

The suite runs in parallel (pytest-xdist, `-n auto` in pyproject.toml). Each worker is a whole test run of its own:
its own test database (pytest-django adds `_gw0`, `_gw1` ... to the name, on SQLite and PostgreSQL alike), its own
emulator and demo world (session fixtures), its own var dir (the SQLite file, the file caches, the filesystem
broker's folders) and, on Redis, its own database number, so a Celery worker a test starts never takes another
worker's tasks.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.celery_worker",
    "tests.fixtures.emulator",
    "tests.fixtures.static_files",
    "tests.fixtures.personas",
    "tests.fixtures.world",
    "tests.fixtures.datacenter_world",
]

REDIS_DATABASES = 16  # Redis's default `databases`


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs) -> None:
    """Give each worker its own var dir before it starts: the settings read BBDASH_VAR_DIR once, at import."""
    import execnet
    from django.conf import settings

    for index, spec in enumerate(specs):
        # The same id (gw0, gw1 ...) the worker would have had: it names the worker's var dir and test database.
        specs[index] = execnet.XSpec(f"{spec}//id={spec.id}//env:BBDASH_VAR_DIR={settings.VAR_DIR / spec.id}")


def pytest_configure(config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        _own_redis_database(int(worker.removeprefix("gw")))


def _own_redis_database(index: int) -> None:
    """On Redis, worker N uses the database N after the configured one (for itself and the Celery workers it starts).
    An URL cannot travel in xdist's worker spec (it splits on "//"), so this happens here, before Celery reads its
    configuration (on the first task sent)."""
    from django.conf import settings

    from dashboard.celery import app

    url = settings.CELERY_BROKER_URL
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return
    database = int(parts.path.strip("/") or 0) + index
    if database >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"test worker {index} would need Redis database {database}: use fewer workers (-n) or a lower "
            f"database in CELERY_BROKER_URL"
        )
    assert not app.configured, "the Celery app read its broker before the test worker could choose one"
    own = urlunsplit(parts._replace(path=f"/{database}"))
    if url == settings.CELERY_RESULT_BACKEND:
        settings.CELERY_RESULT_BACKEND = own
    settings.CELERY_BROKER_URL = own
    os.environ["CELERY_BROKER_URL"] = own  # the Celery workers tests start read it from their environment
