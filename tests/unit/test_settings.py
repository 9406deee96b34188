"""Settings read from the environment fail loudly, naming the variable."""

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.env import (
    ImproperlyConfiguredEnv,
    env_bool,
    env_broker_url,
    env_database,
    env_int,
)

ROOT = Path(__file__).resolve().parents[2]


def test_env_bool_rejects_unknown_word():
    with pytest.raises(ImproperlyConfiguredEnv, match="DJANGO_DEBUG"):
        env_bool("DJANGO_DEBUG", environ={"DJANGO_DEBUG": "maybe"})


def test_env_int_rejects_text_and_values_below_minimum():
    with pytest.raises(ImproperlyConfiguredEnv, match="BBDASH_X: expected a whole number"):
        env_int("BBDASH_X", 1, environ={"BBDASH_X": "ten"})
    with pytest.raises(ImproperlyConfiguredEnv, match="must be at least 10"):
        env_int("BBDASH_X", 100, minimum=10, environ={"BBDASH_X": "3"})


def test_env_database_parses_postgres_url():
    db = env_database("DATABASE_URL", {}, environ={"DATABASE_URL": "postgres://bb:p%40ss@db.internal:5433/bbdash"})
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "bbdash",
        "bb",
        "p@ss",
        "db.internal",
        "5433",
    )


def test_env_database_rejects_unknown_scheme_and_missing_name():
    with pytest.raises(ImproperlyConfiguredEnv, match="DATABASE_URL: unsupported scheme 'mysql'"):
        env_database("DATABASE_URL", {}, environ={"DATABASE_URL": "mysql://localhost/x"})
    with pytest.raises(ImproperlyConfiguredEnv, match="needs a database name"):
        env_database("DATABASE_URL", {}, environ={"DATABASE_URL": "postgres://localhost"})


def test_env_database_sqlite_url_keeps_default_options():
    default = {"ENGINE": "django.db.backends.sqlite3", "NAME": "var/bbdash.sqlite3", "OPTIONS": {"timeout": 30}}

    db = env_database("DATABASE_URL", default, environ={"DATABASE_URL": "sqlite:////srv/bbdash/db.sqlite3"})

    assert db == {**default, "NAME": "/srv/bbdash/db.sqlite3"}
    assert env_database("DATABASE_URL", default, environ={"DATABASE_URL": "sqlite:///var/x.sqlite3"})["NAME"] == (
        "var/x.sqlite3"
    )


def test_env_database_rejects_in_memory_sqlite_and_bad_port():
    with pytest.raises(ImproperlyConfiguredEnv, match="DATABASE_URL: a SQLite URL needs a file path"):
        env_database("DATABASE_URL", {}, environ={"DATABASE_URL": "sqlite://:memory:"})
    with pytest.raises(ImproperlyConfiguredEnv, match="DATABASE_URL: "):
        env_database("DATABASE_URL", {}, environ={"DATABASE_URL": "postgres://db:port/bbdash"})


def test_env_broker_url_rejects_unknown_scheme():
    with pytest.raises(ImproperlyConfiguredEnv, match="CELERY_BROKER_URL"):
        env_broker_url("CELERY_BROKER_URL", "filesystem://", environ={"CELERY_BROKER_URL": "kafka://x"})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DJANGO_DEBUG", "perhaps"),
        ("DATABASE_URL", "oracle://db/x"),
        ("CELERY_BROKER_URL", "sqs://queue"),
        ("BBDASH_TASK_SOFT_TIME_LIMIT", "soon"),
        ("DJANGO_SECRET_KEY", "short"),
        ("BITBUCKET_API_URL", "api.bitbucket.org/2.0"),
        ("BBDASH_DATACENTER_URLS", "https://dc.example.test, ftp://dc.example.test"),
    ],
)
def test_site_refuses_to_start_with_bad_value(variable, value, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BBDASH_VAR_DIR": str(tmp_path), variable: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert variable in result.stderr
