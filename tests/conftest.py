"""Shared pytest set-up: fixture plugins live in tests/fixtures/, one module per area."""

pytest_plugins = [
    "tests.fixtures.browser",
    "tests.fixtures.celery_worker",
    "tests.fixtures.emulator",
    "tests.fixtures.personas",
    "tests.fixtures.world",
]
