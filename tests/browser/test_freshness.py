"""A stale mirror says so in Chromium: after a failed sync the PR page and the source browser carry a banner saying
since when and why, with the absolute time in the tooltip and a link to the sync status; the inbox lists the
workspace. Screenshots of the PR page's banner in light and dark are kept."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_sync.models import PullRequest, SyncRun, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_failed_sync_banner_on_pull_request_and_source_pages(page, live_server, login, keep_screenshot, demo_mirror):
    world = demo_mirror
    world.alice.set_password("demo")
    world.alice.save()
    acme = world.workspace
    SyncRun.objects.create(
        workspace=acme,
        kind=SyncRun.Kind.INCREMENTAL,
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now() - timedelta(minutes=3),
        message="Bitbucket unavailable while listing acme: GET /2.0/repositories/acme -> 503: Service unavailable",
    )
    Workspace.objects.filter(pk=acme.pk).update(synced_at=timezone.now() - timedelta(minutes=47))
    number = PullRequest.objects.filter(repository__slug="api-server").values_list("number", flat=True).first()
    login("alice")

    for path in (f"/acme/api-server/pull-requests/{number}", "/acme/api-server/src/main/"):
        page.goto(live_server.url + path)
        banner = page.get_by_role("status").filter(has_text="The last sync of")
        banner.wait_for()
        text = re.sub(r"\s+", " ", banner.inner_text())
        assert "failed 3 minutes ago" in text and "503: Service unavailable." in text, path
        assert "What you see is from 47 minutes ago." in text, path
        since = banner.locator("time").last
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d \S+", since.get_attribute("title") or ""), path
        assert banner.get_by_role("link", name="Sync status").get_attribute("href") == "/-/sync/#sync-acme"
        if "pull-requests" in path:
            page.emulate_media(color_scheme="light")
            keep_screenshot("stale-pull-request-light")
            page.emulate_media(color_scheme="dark")
            keep_screenshot("stale-pull-request-dark")
            page.emulate_media(color_scheme="light")

    page.goto(live_server.url + "/-/inbox/")
    listed = page.get_by_role("status").filter(has_text="not up to date")
    assert "The last sync of Acme failed" in re.sub(r"\s+", " ", listed.inner_text())
