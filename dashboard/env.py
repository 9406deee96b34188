"""Reading settings from environment variables, failing loudly on a bad value.

A typo in a deployment's environment should stop the process at start with the variable's name, not surface later
as odd behaviour.
"""

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import dj_database_url


class ImproperlyConfiguredEnv(Exception):
    """An environment variable holds a value the site cannot use."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}


def env_str(name: str, default: str = "", *, environ: Mapping[str, str] = os.environ) -> str:
    """The variable's value; an empty value counts as unset, as it does in docker compose and .env files."""
    return environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False, *, environ: Mapping[str, str] = os.environ) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfiguredEnv(name, f"expected one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, environ: Mapping[str, str] = os.environ) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfiguredEnv(name, f"expected a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfiguredEnv(name, f"must be at least {minimum}; got {value}")
    return value


def env_list(name: str, default: list[str] | None = None, *, environ: Mapping[str, str] = os.environ) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def _http_url(name: str, raw: str) -> str:
    url = urlsplit(raw)
    if url.scheme not in {"http", "https"} or not url.hostname:
        raise ImproperlyConfiguredEnv(name, f"expected an absolute http(s) URL; got {raw!r}")
    if url.username is not None or url.password is not None or url.query or url.fragment:
        raise ImproperlyConfiguredEnv(name, f"a base URL has no user, query or fragment; got {raw!r}")
    try:
        _ = url.port  # urlsplit parses the port lazily: a bad one raises only when read
    except ValueError:
        raise ImproperlyConfiguredEnv(name, f"the port is not a number; got {raw!r}") from None
    return raw.rstrip("/")


def env_url(name: str, default: str, *, environ: Mapping[str, str] = os.environ) -> str:
    """An absolute http(s) base URL, without a trailing slash."""
    return _http_url(name, env_str(name, default, environ=environ))


def env_url_list(name: str, *, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Comma-separated absolute http(s) base URLs; empty when unset."""
    return [_http_url(name, item) for item in env_list(name, [], environ=environ)]


def env_database(name: str, default: dict, *, environ: Mapping[str, str] = os.environ) -> dict:
    """A Django DATABASES entry from a URL (dj-database-url): postgres://user:pass@host:port/name or sqlite:///path.

    Query parameters become the driver's connection options (`?sslmode=require`, `?connect_timeout=5`); a host
    written `%2Frun%2Fpostgresql` is a Unix socket folder. A SQLite URL keeps the default's options (WAL, timeouts).
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    scheme = urlsplit(raw).scheme
    if scheme not in _POSTGRES_SCHEMES | {"sqlite"}:
        raise ImproperlyConfiguredEnv(name, f"unsupported scheme {scheme!r}; use postgres:// or sqlite://")
    try:
        # Connections are kept a minute and checked before reuse: one per gunicorn thread and Celery process.
        parsed = dict(dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True))
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(name, str(exc)) from None
    if scheme == "sqlite":
        # Without a path dj-database-url means an in-memory database, which a Celery worker (another process) and
        # every other gunicorn worker would not see.
        if parsed["NAME"] in {"", ":memory:"}:
            raise ImproperlyConfiguredEnv(name, "a SQLite URL needs a file path, e.g. sqlite:///var/db.sqlite3")
        return {**default, "ENGINE": parsed["ENGINE"], "NAME": parsed["NAME"]}
    if not parsed["NAME"]:
        raise ImproperlyConfiguredEnv(name, "a PostgreSQL URL needs a database name, e.g. postgres://host/bbdash")
    return {**parsed, "PORT": str(parsed["PORT"])}


def env_broker_url(name: str, default: str, *, environ: Mapping[str, str] = os.environ) -> str:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    scheme = urlsplit(raw).scheme
    if scheme not in {"redis", "rediss", "filesystem", "memory", "amqp", "pyamqp"}:
        raise ImproperlyConfiguredEnv(name, f"unsupported broker scheme {scheme!r}; use redis:// or filesystem://")
    return raw
