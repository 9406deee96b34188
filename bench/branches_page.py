"""What the branches page costs in Bitbucket requests per view, with its ahead/behind read lazily. Prints JSON.

    .venv/bin/python bench/branches_page.py [--branches 100]

A repository of the emulator's `scale` seed with `--branches` branches (the main branch included), mirrored by a real
sync. A "view" is what a browser does: the page, then one ahead/behind cell request per row it shows (each cell asks
when revealed; here every row of the page is counted as revealed, the worst case). Measured per page of rows:

* cold: nothing cached for the viewer (two requests per row whose counts were never read: ahead and behind);
* warm: the same view again (the pair of tips is cached for good: no request);
* the whole list, page after page, cold: at most two requests per branch, and one view (a page of 25 rows) at most
  two per row it shows: never the 200 a view reading every branch of 100 would cost;
* past the budget reserve: the cells say why they were not read and make no request.

It runs on a throwaway SQLite database under a temporary directory, never the project's var/.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.sync_cost import make_workspace, setup_django, sync  # noqa: E402

CELL = re.compile(r'hx-get="([^"]*/branches/ahead-behind\?branch=[^"]*)"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=100)
    args = parser.parse_args()

    from bitbucket_emulator import Emulator

    # `branches - 1` extra branches beside main (``diverge`` gives each a commit of its own).
    emu = Emulator.start(seed="scale", repos=1, pull_requests=0, members=2, branches=args.branches - 1)
    try:
        with tempfile.TemporaryDirectory(prefix="bbdash-bench-branches-") as var_dir:
            setup_django(var_dir)
            print(json.dumps(run(emu, args), indent=2))
    finally:
        emu.stop()
    return 0


def diverge(emu) -> None:
    """Give every branch a commit of its own: each has its own pair of tips to read (the worst case; branches at the
    same tip share one read)."""
    world = emu.world
    with world.lock:
        repo = world.repository("acme", "repo-0001")
        for i, name in enumerate(sorted(n for n in repo.branches if n != "main")):
            world.commit_files("acme", "repo-0001", name, "bob", {f"b{i}.txt": f"{i}\n"})


def run(emu, args) -> dict:
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from bitbucket_sync import ledger
    from bitbucket_sync.models import Branch, Credential, RequestLedgerEntry
    from bitbucket_sync.sync import access

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # The pages name their static files through the manifest, as a deployment does: collect into the temporary var.
    call_command("collectstatic", interactive=False, verbosity=0)
    diverge(emu)
    alice = emu.account("alice")
    workspace = make_workspace(emu.api_url, alice)
    sync(workspace, "full")
    credential = Credential.objects.get(login=alice["email"])
    viewer = credential.owner
    access.sync_user_access(user=viewer)
    url = "/acme/repo-0001/branches/"
    assert Branch.objects.filter(repository__slug="repo-0001").count() == args.branches

    client = Client()
    client.force_login(viewer)

    def api_total() -> int:
        return emu.controls.counts()["by_credential"].get("api_token:alice", {}).get("total", 0)

    def view(page: int) -> dict:
        before = api_total()
        response = client.get(url, {"page": page})
        assert response.status_code == 200, response.status_code
        html = response.content.decode()
        after_page = api_total()
        cells = [unescape(u) for u in CELL.findall(html)]
        reasons = set()
        for cell in cells:
            answer = client.get(cell, HTTP_HX_REQUEST="true")
            assert answer.status_code == 200
            if "not read:" in answer.content.decode():
                reasons.add(re.search(r"not read:[^<]*", answer.content.decode()).group())
        return {
            "page": page,
            "rows_asking": len(cells),
            "requests_page": after_page - before,
            "requests_total": api_total() - before,
            **({"stopped": sorted(reasons)} if reasons else {}),
        }

    pages = -(-args.branches // 25)
    cache.clear()
    first_cold = view(1)
    first_warm = view(1)
    cache.clear()
    whole_cold = [view(p) for p in range(1, pages + 1)]
    whole_warm = [view(p) for p in range(1, pages + 1)]

    # Past the reserve: the ledger shows the hour's share spent, so the cells stop and say so.
    cache.clear()
    now = timezone.now()
    RequestLedgerEntry.objects.bulk_create(
        RequestLedgerEntry(credential=credential, at=now, method="GET", family="repositories", path="/b", status=200)
        for _ in range(ledger.HOURLY_BUDGET)
    )
    at_reserve = view(1)
    return {
        "branches": args.branches,
        "rows_per_page": 25,
        "first_page": {"cold": first_cold, "warm": first_warm},
        "whole_list_cold_requests": sum(v["requests_total"] for v in whole_cold),
        "whole_list_warm_requests": sum(v["requests_total"] for v in whole_warm),
        "goal_per_view_at_most": 2 * 25,
        "past_the_reserve": at_reserve,
    }


if __name__ == "__main__":
    raise SystemExit(main())
