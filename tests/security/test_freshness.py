"""The stale-data banner says nothing about a workspace the viewer cannot see: its name, that it is stale, or why
(a failed run's message names the workspace and Bitbucket's endpoints)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone

from bitbucket_sync.models import SyncRun, Workspace
from tests import factories as f


def _banner(html: str) -> str:
    found = re.search(r'<(p|div) id="freshness-banner".*?</\1>', html, re.S)
    return found.group(0) if found else ""


def _secret_workspace_failing(personas) -> Workspace:
    """`labs`: bob sees it, carol and dave do not; its last sync failed and it is long overdue."""
    labs = f.workspace("labs", name="Labs")
    f.member(labs, personas.accounts["bob"])
    f.grant(personas.users["bob"], f.repository(labs, "secret-tool"), workspaces=[labs])
    f.sync_run(labs, status=SyncRun.Status.FAILED, finished_at=timezone.now(), message="Listing labs failed: 500")
    Workspace.objects.filter(pk=labs.pk).update(synced_at=timezone.now() - timedelta(days=2))
    return labs


def test_home_and_inbox_banner_name_only_visible_workspaces(client, personas):
    _secret_workspace_failing(personas)
    client.force_login(personas.users["bob"])
    assert "Listing labs failed" in _banner(client.get("/").content.decode())  # its own viewer is told
    for username in ("carol", "dave"):
        client.force_login(personas.users[username])
        for path in ("/", "/-/inbox/"):
            html = client.get(path).content.decode()
            assert "labs" not in _banner(html).lower(), (username, path)
            assert "Listing labs failed" not in html, (username, path)


def test_person_page_banner_skips_their_workspaces_the_viewer_cannot_see(client, personas):
    _secret_workspace_failing(personas)
    Workspace.objects.filter(pk=personas.workspace.pk).update(synced_at=timezone.now() - timedelta(hours=3))
    client.force_login(personas.users["carol"])
    html = client.get(f"/-/people/{personas.accounts['bob'].account_id}/").content.decode()
    banner = _banner(html)
    assert "acme" in banner.lower()  # bob's workspace that carol sees is stale, and said so
    assert "labs" not in banner.lower() and "Listing labs failed" not in html


def test_workspace_page_of_an_unseen_workspace_is_404_without_banner(client, personas):
    _secret_workspace_failing(personas)
    client.force_login(personas.users["dave"])
    response = client.get("/labs/")
    assert response.status_code == 404
    assert "Listing labs failed" not in response.content.decode()
