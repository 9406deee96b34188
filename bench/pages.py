"""Benchmark: SQL queries and median server time of the browse pages on a large mirror, on SQLite and PostgreSQL.

The mirror gets 2,000 repositories and 500 accounts, then 1,000 pull requests (measured), then `--large` more in a
second database (measured again; 1,000,000 by default, seeded at COPY speed by bench/seeding.py). For each page: the
SQL queries of one request and the median time of `--requests` requests through Django's test client (in-process:
the server's time, no network). Goals, for every page: queries constant, and the time at the large size at most 1.5x
the time at 1,000. Prints JSON.

    .venv/bin/python bench/pages.py [--requests 50] [--backends sqlite,postgresql] [--large 1000000]
        [--postgres-url postgres://postgres@127.0.0.1:5432/bbdash_bench_pages]

Each backend runs in a child process on a database of its own (a temporary SQLite file; a PostgreSQL database created
and dropped here), so nothing touches the demo's or the tests' data. SQLite takes about half an hour to seed a million
pull requests: `--backends postgresql` for the million, `--large 100000` for SQLite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/bbdash_bench_pages")
    parser.add_argument("--repositories", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args)))
        return 0

    from cryptography.fernet import Fernet

    results: dict = {
        "seed": {
            "repositories": args.repositories,
            "accounts": args.accounts,
            "pull_requests": [args.small, args.large],
        },
        "requests_per_page": args.requests,
        "backends": {},
    }
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory(prefix="bbdash-bench-pages-") as tmp:
            env = os.environ | {
                "BBDASH_VAR_DIR": tmp,
                "BBDASH_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "DJANGO_DEBUG": "0",
                "BBDASH_LOG_LEVEL": "WARNING",
            }
            if backend == "sqlite":
                env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
            elif backend == "postgresql":
                _recreate_postgres(args.postgres_url)
                env["DATABASE_URL"] = args.postgres_url
            else:
                raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
            try:
                child = subprocess.run(
                    [sys.executable, __file__, "--child", *sys.argv[1:]],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
            finally:
                if backend == "postgresql":
                    _drop_postgres(args.postgres_url)
            if child.returncode != 0:
                sys.stderr.write(child.stderr)
                raise SystemExit(f"the {backend} run failed")
            results["backends"][backend] = json.loads(child.stdout.strip().splitlines()[-1])
    results["goals_met"] = all(
        page["queries_constant"] and page["ratio"] <= GOAL_RATIO
        for backend in results["backends"].values()
        for page in backend["pages"].values()
        if page["goal"]
    )
    print(json.dumps(results, indent=2))
    return 0


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def _recreate_postgres(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_postgres(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- the child: one backend ---------------------------------------------------------------------------------------
# Two databases, "small" (1,000 pull requests) and "large" (100,000), and the requests to them alternate: the machine's
# load changes from second to second, and alternating exposes both sizes to the same load.


class _Switch:
    """A database router sending every query to the database of the size being measured."""

    alias = "default"

    def db_for_read(self, model, **hints):
        return self.alias

    db_for_write = db_for_read

    def allow_relation(self, *objs, **hints):
        return True


SWITCH = _Switch()


def run_child(args) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    from django.conf import settings

    default = dict(settings.DATABASES["default"])
    large = dict(default)
    if default["ENGINE"].endswith("sqlite3"):
        large["NAME"] = str(Path(default["NAME"]).with_name("bench-large.sqlite3"))
    else:
        large["NAME"] = default["NAME"] + "_large"
        _recreate_postgres(_url_with_name(os.environ["DATABASE_URL"], large["NAME"]))
    settings.DATABASES["large"] = large
    settings.DATABASE_ROUTERS = [SWITCH]
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    import django

    django.setup()
    try:
        return _run(args)
    finally:
        if not default["ENGINE"].endswith("sqlite3"):
            from django.db import connections

            connections.close_all()
            _drop_postgres(_url_with_name(os.environ["DATABASE_URL"], large["NAME"]))


def _url_with_name(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _run(args) -> dict:
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from bench import seeding
    from bitbucket_sync.models import Account, PullRequest, RequestLedgerEntry, SyncRun
    from tests import factories as f

    # Pages name their static files through collectstatic's manifest, as in production: collect into this run's var/.
    call_command("collectstatic", interactive=False, verbosity=0)
    sizes = {"default": args.small, "large": args.large}
    clients, seed_seconds, counts, first = {}, {}, {}, None
    for alias, pull_requests in sizes.items():
        SWITCH.alias = alias
        call_command("migrate", database=alias, verbosity=0, interactive=False)
        started = time.monotonic()
        viewer = f.user("bench-viewer")
        ws = f.bulk_world(repositories=args.repositories, accounts=args.accounts, viewer=viewer)
        me = Account.objects.filter(memberships__workspace=ws).order_by("pk").first()
        credential = f.credential(viewer, acct=me)
        ws.sync_credential = credential
        ws.save()
        now = timezone.now()
        for i in range(20):
            f.sync_run(ws, status=SyncRun.Status.RUNNING if i == 19 else SyncRun.Status.SUCCEEDED, requests_made=40)
        RequestLedgerEntry.objects.bulk_create(
            [
                RequestLedgerEntry(credential=credential, at=now, method="GET", family="repositories", path=f"/r/{i}")
                for i in range(3000)
            ],
            batch_size=1000,
        )
        seeding.pull_requests(ws, pull_requests, seed=1, involve=me.pk)
        with connections[alias].cursor() as cursor:
            # Fresh planner statistics and visibility map, as PostgreSQL's autovacuum (or a periodic SQLite "PRAGMA
            # optimize") keeps them.
            cursor.execute("VACUUM ANALYZE" if connections[alias].vendor == "postgresql" else "ANALYZE")
        seed_seconds[alias] = round(time.monotonic() - started, 1)
        counts[alias] = PullRequest.objects.count()
        client = Client()
        client.force_login(viewer)
        clients[alias] = client
        if first is None:
            # The same repository and number exist in both (numbers start at 1 in every repository).
            first = PullRequest.objects.filter(number=1).order_by("repository__slug").select_related("repository")[0]
    pages = {
        "inbox": ("/bench/pull-requests/", True),
        "repository_list": ("/bench/", True),
        "pull_request_detail": (f"/bench/{first.repository.slug}/pull-requests/1", True),
        "sync": ("/-/sync/", True),
        # The inbox's other tabs, an indexed filter, a sort on a stored count.
        "inbox_waiting_on_me": ("/bench/pull-requests/?tab=waiting", True),
        "inbox_closed": ("/bench/pull-requests/?tab=closed", True),
        "inbox_by_repository": (f"/bench/pull-requests/?tab=all&repository={first.repository.slug}", True),
        "repository_list_by_open_prs": ("/bench/?sort=open_prs", True),
        # The attention inbox across workspaces, every tab.
        "attention_review": ("/-/inbox/?tab=review", True),
        "attention_returned": ("/-/inbox/?tab=returned", True),
        "attention_ready": ("/-/inbox/?tab=ready", True),
        "attention_waiting": ("/-/inbox/?tab=waiting", True),
        "attention_open": ("/-/inbox/?tab=open", True),
        "home": ("/", True),
    }
    results = {}
    for name, (path, goal) in pages.items():
        queries, timings = {}, {alias: [] for alias in sizes}
        for alias in sizes:
            SWITCH.alias = alias
            queries[alias] = _queries(clients[alias], connections[alias], path)
        for _ in range(args.requests):
            for alias in sizes:
                SWITCH.alias = alias
                started = time.perf_counter()
                clients[alias].get(path)
                timings[alias].append(time.perf_counter() - started)
        small_ms, large_ms = (round(statistics.median(timings[a]) * 1000, 2) for a in sizes)
        results[name] = {
            "path": path,
            "goal": goal,
            "queries": [queries["default"], queries["large"]],
            "queries_constant": queries["default"] == queries["large"],
            "median_ms": [small_ms, large_ms],
            "ratio": round(large_ms / small_ms, 2),
        }
    return {
        "vendor": connections["default"].vendor,
        "pull_requests": [counts["default"], counts["large"]],
        "seed_seconds": [seed_seconds["default"], seed_seconds["large"]],
        "pages": results,
    }


def _queries(client, connection, path: str) -> int:
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm up: templates, the connection, the database's pages
        client.get(path)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return len(queries)


if __name__ == "__main__":
    sys.exit(main())
