"""The readiness panel in Chromium: a build reported while the pull request page is open shows up, then turns green,
without a reload; a hostile build name stays text."""

from __future__ import annotations

import pytest

from bitbucket_sync.models import BuildStatus
from tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_readiness_panel_follows_a_build_without_reload(page, live_server, login, demo_mirror, keep_screenshot):
    pr = demo_mirror.mergeable_open_pr()
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    panel = page.locator("#pr-readiness")
    panel.get_by_text("Ready to merge?").wait_for()
    page.evaluate("window.__notReloaded = true")

    f.build_status(pr, "ci", state="FAILED", name="<img src=x onerror=alert(1)>", description="2 tests failed")
    # The demo PR may carry builds of its own: follow the one this test reports.
    build = page.locator("#pr-builds li.build").filter(has_text="onerror")
    build.get_by_text("2 tests failed").wait_for(timeout=10_000)
    assert "failed" in build.locator(".state").inner_text()
    BuildStatus.objects.filter(pull_request=pr, key="ci").update(state="SUCCESSFUL", description="all green")
    build.get_by_text("all green").wait_for(timeout=10_000)
    assert build.locator(".state").inner_text() == "passed"
    assert page.evaluate("window.__notReloaded === true")  # swapped in by htmx, not a reload
    assert page.dialogs == []
    keep_screenshot("readiness-panel")
