"""DATABASE_URL reaches PostgreSQL however a deployment writes it (dj-database-url); env.py keeps no dead helper."""

from __future__ import annotations

import ast
from pathlib import Path

from dashboard.env import env_database

ROOT = Path(__file__).resolve().parents[2]


def test_env_database_unix_socket_host_is_a_folder():
    # A PostgreSQL on the same host is often reached through its socket folder, written percent-encoded as the host.
    db = env_database(
        "DATABASE_URL", {}, environ={"DATABASE_URL": "postgres://bbdash@%2Fvar%2Frun%2Fpostgresql/bbdash"}
    )

    assert db["HOST"] == "/var/run/postgresql"
    assert (db["NAME"], db["USER"]) == ("bbdash", "bbdash")


def test_env_database_current_schema_sets_search_path():
    # psycopg knows no `currentSchema` connection option: passed through as is, every connection would fail.
    url = "postgres://bbdash@db/bbdash?currentSchema=dashboard&sslmode=require"

    db = env_database("DATABASE_URL", {}, environ={"DATABASE_URL": url})

    assert db["OPTIONS"] == {"options": "-c search_path=dashboard", "sslmode": "require"}


def test_env_helpers_all_read_by_settings():
    env_module = ast.parse((ROOT / "dashboard" / "env.py").read_text())
    helpers = {
        node.name for node in env_module.body if isinstance(node, ast.FunctionDef) and node.name.startswith("env_")
    }
    settings = (ROOT / "dashboard" / "settings.py").read_text()

    assert helpers
    assert {name for name in helpers if f"{name}(" not in settings} == set()
