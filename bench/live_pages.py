"""Benchmark: requests to Bitbucket per view of the pages that read it live (the commit log, a commit, a file's
history; the source browser beside them), cold and warm. Prints JSON.

    .venv/bin/python bench/live_pages.py [--extra-commits 40]

`bench/pages.py` measures the mirror's pages (SQL and server time); these pages cost something else first: requests
against the viewer's hourly Bitbucket budget (about 1,000 an hour). For each view, as alice on the demo world
mirrored by a first full sync: the requests of the first view with an empty cache ("cold"), of the same view again
("warm"), and of the view again once the 30-second branch-tip cache has expired ("tip expired": a log or history
of a branch re-reads the tip, the page itself is cached by commit). The emulator runs in this process with its
request counters on; the database and caches live under a temporary directory, never the project's var/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-commits", type=int, default=40, help="commits added on main, so the log has pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bbdash-bench-live-") as tmp:
        print(json.dumps(run(args, Path(tmp)), indent=1))
    return 0


def run(args, var_dir: Path) -> dict:
    from cryptography.fernet import Fernet

    from bitbucket_emulator import Emulator

    emu = Emulator.start(seed="demo", controls=True)
    try:
        os.environ.update(
            {
                "BBDASH_VAR_DIR": str(var_dir),
                "BBDASH_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                "DJANGO_SETTINGS_MODULE": "dashboard.settings",
                "BITBUCKET_API_URL": emu.api_url,
                "BBDASH_LOG_LEVEL": "WARNING",
            }
        )
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
            os.environ.pop(name, None)
        import django

        django.setup()
        return _measure(emu, extra_commits=args.extra_commits)
    finally:
        emu.stop()


def _measure(emu, *, extra_commits: int) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from bitbucket_sync.browse import BRANCH_TIP_SECONDS, live_reader
    from bitbucket_sync.credentials.lifecycle import save_credential
    from bitbucket_sync.sync import access

    setup_test_environment()  # the test client then keeps each response's context (the log's next cursor)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # pages name their files through its manifest
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    for i in range(extra_commits):
        emu.world.commit_files("acme", "api-server", "main", "bob", {"bench/step.txt": f"{i}\n"}, f"Step {i}")
    account = emu.account("alice")
    user = get_user_model().objects.create_user("alice", is_staff=True, is_superuser=True)
    credential, _ = save_credential(
        actor=None, owner=user, kind="api_token", login=account["email"], secret=account["api_token"],
        api_url=emu.api_url,
    )  # fmt: skip
    call_command("bitbucket_sync", "--as", "alice", "--full", stdout=io.StringIO())
    access.sync_user_access(user=user)
    repo = emu.world.repository("acme", "api-server")
    tip = repo.branches["main"]
    client = Client()
    client.force_login(user)

    def reads() -> int:
        return emu.controls.counts()["by_credential"].get("api_token:alice", {}).get("total", 0)

    def view(url: str) -> int:
        before = reads()
        response = client.get(url)
        if response.status_code != 200 or "error" in (response.context or {}):
            raise RuntimeError(f"{url} answered {response.status_code}")
        return reads() - before

    def expire_tip() -> None:
        with live_reader(credential) as reader:
            cache.delete(reader.key("tip", repo.uuid, "main"))

    first_page = client.get("/acme/api-server/commits/main").context["log"]
    views = {
        "commit log (main)": "/acme/api-server/commits/",
        "commit log, page 2 (as its link names it)": (
            f"/acme/api-server/commits/main?page={first_page.next_cursor}&at={first_page.head}"
        ),
        "commit log, path filter": "/acme/api-server/commits/main?path=src",
        "commit page": f"/acme/api-server/commits/{tip}",
        "file history": "/acme/api-server/history/main/README.md",
        "source file (for comparison)": "/acme/api-server/src/main/README.md",
    }
    results = {}
    for name, url in views.items():
        cache.clear()
        cold = view(url)
        warm = view(url)
        expire_tip()
        results[name] = {"url": url, "cold": cold, "warm": warm, "tip_expired": view(url)}
    return {
        "unit": "requests to Bitbucket per view (alice's credential)",
        "branch_tip_cache_seconds": BRANCH_TIP_SECONDS,
        "commit_page_reports": len(repo.reports.get(tip, [])),
        "views": results,
    }


if __name__ == "__main__":
    raise SystemExit(main())
