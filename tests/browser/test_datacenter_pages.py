"""A Data Center project in Chromium, as a user holding only a Data Center credential: the inbox across workspaces
opens a Data Center pull request, whose page shows its diff (or the note that Data Center cannot show it through
bbdash yet) and its discussion, offering no action; the source browser lists a directory and opens a file. No
console error, uncaught exception or CSP violation on the way (tests/fixtures/browser.py fails the test on any)."""

from __future__ import annotations

import re

import pytest

from bitbucket_sync.browse import NOT_YET_ON_DATACENTER
from dashboard.selectors.sites import DATACENTER_READ_ONLY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HX_SETTLED = "() => !document.querySelector('.htmx-request')"
REVEAL_DIFF = """() => {
  document.querySelector('#pr-diff')?.scrollIntoView();
  return !!document.querySelector('#pr-diff details.diff-file, #pr-diff .not-yet-available');
}"""


@pytest.fixture
def dc_alice(datacenter_world, login):
    user = datacenter_world.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")
    return datacenter_world


def test_datacenter_inbox_and_pull_request(page, live_server, dc_alice):
    dc = dc_alice
    page.goto(f"{live_server.url}/-/inbox/?tab=open")
    page.get_by_role("link", name="Raise the rate limit to 500").click()
    page.wait_for_url(re.compile(rf"/{re.escape(dc.handle)}/api-gateway/pull-requests/2$"))
    assert page.locator("#pr-title").inner_text() == "Raise the rate limit to 500"
    # Data Center's words, and no action offered: a note stands where the buttons would be.
    assert page.locator("#pr-reviewers").get_by_text("needs work").is_visible()
    assert page.locator("#pr-action-bar").inner_text().strip() == DATACENTER_READ_ONLY
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.get_by_role("link", name="Merge", exact=True).count() == 0
    assert (
        page.get_by_role("link", name="Open in Bitbucket")
        .get_attribute("href")
        .startswith(f"{dc.site}/projects/PLAT/repos/api-gateway/pull-requests/2")
    )
    # The discussion loads by itself; its threads have no reply box.
    page.get_by_text("Is 500 safe for the auth service?").first.wait_for()
    assert page.locator("form.thread-reply").count() == 0
    # The diff loads when scrolled to: the files, or the note that Data Center cannot show it through bbdash yet.
    page.wait_for_function(REVEAL_DIFF)
    page.wait_for_function(HX_SETTLED)
    diff = page.locator("#pr-diff")
    assert "src/limits.py" in diff.inner_text() or NOT_YET_ON_DATACENTER in diff.inner_text()
    assert diff.locator(".banner.error").count() == 0


def test_datacenter_source_browser(page, live_server, dc_alice):
    dc = dc_alice
    # Data Center's own web path opens the dashboard's source browser.
    page.goto(f"{live_server.url}/@{dc.label}/projects/PLAT/repos/api-gateway/browse")
    page.wait_for_url(re.compile(rf"/{re.escape(dc.handle)}/api-gateway/src/main/$"))
    listing = page.locator("main")
    assert listing.get_by_role("link", name="README.md").is_visible()
    assert listing.get_by_role("link", name="src/", exact=True).is_visible()
    listing.get_by_role("link", name="README.md").click()
    page.wait_for_url(re.compile(r"/src/main/README\.md$"))
    text = page.locator("main").inner_text()
    assert "Routes requests to the platform" in text or NOT_YET_ON_DATACENTER in text
    assert page.locator("main .banner.error").count() == 0
