"""Shared pytest set-up: fixture plugins live in tests/fixtures/, one module per area."""

pytest_plugins = [
    "tests.fixtures.actions",
    "tests.fixtures.browse",
    "tests.fixtures.browser",
    "tests.fixtures.celery_worker",
    "tests.fixtures.emulator",
    "tests.fixtures.live_updates",
    "tests.fixtures.static_files",
]
