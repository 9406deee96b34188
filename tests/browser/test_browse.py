"""The browse pages in Chromium: sign in, the inbox and its "waiting on me" tab, a pull request and its diff, a file,
"Sync now" with live progress; and content from Bitbucket that tries to run script, which must stay inert.

Screenshots are kept under $BBDASH_VAR_DIR/screenshots/ for people to look at (the `keep_screenshot` fixture).
"""

from __future__ import annotations

import re
import time

import pytest

from bitbucket_sync.client import ApiToken, BitbucketClient
from bitbucket_sync.models import SyncRun
from tests import factories as f
from tests.fixtures.world import mirror_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HX_SETTLED = "() => !document.querySelector('.htmx-request')"
# The diff loads when revealed and replaces its region, maybe while a test scrolls to it: look the region up afresh on
# every poll, bring it into view, and wait until the loaded diff is in.
REVEAL_DIFF = """() => {
  document.querySelector('#pr-diff')?.scrollIntoView();
  return !!document.querySelector('#pr-diff details.diff-file');
}"""


def _sign_in_as(mirror, username: str, login) -> None:
    user = mirror.users[username]
    user.set_password("demo")
    user.save()
    login(username)


def test_browse_inbox_pull_request_diff_and_file(page, live_server, login, keep_screenshot, demo_mirror):
    mirror = demo_mirror
    _sign_in_as(mirror, "alice", login)
    page.get_by_role("link", name="Acme").click()
    page.get_by_role("link", name="Pull requests", exact=True).click()
    page.wait_for_url(re.compile(r"/acme/pull-requests/$"))

    page.get_by_role("link", name="Waiting on me").click()
    page.wait_for_url(re.compile(r"tab=waiting"))
    page.wait_for_function(HX_SETTLED)
    rows = page.locator("#pr-table tbody tr")
    titles = rows.locator("a.pr-title").all_inner_texts()
    assert "Rate limit order creation" in titles  # alice reviews it and has not approved
    assert "Add customer lookup endpoint" in titles
    assert "Add order pagination" not in titles  # merged

    # A filter swaps only the table and puts itself in the address bar.
    page.get_by_label("Text").fill("rate limit")
    page.wait_for_url(re.compile(r"\?tab=waiting&q=rate(\+|%20)limit&sort=updated$"))  # empty filters left out
    page.wait_for_function(HX_SETTLED)
    assert rows.locator("a.pr-title").all_inner_texts() == ["Rate limit order creation"]
    assert page.get_by_label("Text").input_value() == "rate limit"  # the form was not replaced
    keep_screenshot("inbox-waiting-on-me")

    page.get_by_role("link", name="Rate limit order creation").click()
    page.wait_for_url(re.compile(r"/acme/api-server/pull-requests/\d+$"))
    assert page.locator("#pr-title").inner_text() == "Rate limit order creation"
    page.wait_for_function(REVEAL_DIFF)
    diff_file = page.locator("#pr-diff details.diff-file").first
    diff_file.wait_for()
    assert "src/api_server/" in diff_file.locator("summary").inner_text()
    assert page.locator("#pr-diff tr.add").count() > 0
    page.locator("#pr-discussion .comment").first.wait_for()
    assert "The limit should come from settings" in page.locator("#pr-discussion").inner_text()
    keep_screenshot("pull-request-diff")
    diff_file.locator("summary").click()  # collapsible per file
    assert diff_file.get_attribute("open") is None

    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="api-server").click()
    page.wait_for_url(re.compile(r"/acme/api-server/$"))
    page.get_by_role("navigation", name="Repository").get_by_role("link", name="Source").click()
    page.get_by_role("link", name="src/", exact=True).click()
    page.get_by_role("link", name="api_server/", exact=True).click()
    page.get_by_role("link", name="settings.py", exact=True).click()
    page.wait_for_url(re.compile(r"/src/main/src/api_server/settings\.py$"))
    line = page.locator("#lines-3")
    assert line.count() == 1
    permalink = line.locator("a").get_attribute("href")
    assert re.search(r"/acme/api-server/src/[0-9a-f]{40}/src/api_server/settings\.py#lines-3$", permalink)
    assert page.locator("table.code .highlight, table.code span.n").count() > 0
    keep_screenshot("source-file")
    assert page.dialogs == []


def test_sync_now_shows_progress_until_it_ends(
    page, live_server, login, keep_screenshot, demo_mirror, celery_worker_factory
):
    mirror, emulator = demo_mirror, demo_mirror.emulator
    workspace = mirror.workspace
    workspace.sync_credential = mirror.credentials["alice"]
    workspace.save()
    # A little latency so the run is seen running before it ends.
    emulator.controls.set_latency(ms=40)
    celery_worker_factory(concurrency=1, BBDASH_ENCRYPTION_KEYS=mirror.key)
    _sign_in_as(mirror, "alice", login)
    page.goto(f"{live_server.url}/-/sync/")
    section = page.locator("#sync-acme")
    section.get_by_role("button", name="Sync now").click()
    page.wait_for_function("() => document.querySelector('#sync-acme')?.getAttribute('data-poll') === '2'")
    keep_screenshot("sync-running")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and page.locator("#sync-acme[hx-trigger]").count():
        page.wait_for_timeout(500)
    assert page.locator("#sync-acme[hx-trigger]").count() == 0, "polling did not stop"
    run = SyncRun.objects.filter(workspace=workspace).order_by("-created_at").first()
    assert run.status == SyncRun.Status.SUCCEEDED, (run.status, run.message, run.errors)
    assert "Succeeded" in section.inner_text()
    keep_screenshot("sync-finished")
    assert page.dialogs == []


XSS = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=1;alert(2)</script>'
XSS_LINK = "[click me](javascript:window.__pwned=1;alert(3))"


@pytest.fixture
def hostile_mirror(emulator, browse_encryption_key):
    """The demo world after someone wrote script into everything Bitbucket lets them name or write."""
    alice = emulator.account("alice")
    client = BitbucketClient(ApiToken(alice["email"], alice["api_token"]), base_url=emulator.api_url)
    client.commit_files(
        "acme",
        "api-server",
        branch="feature/xss",
        message=f"Commit message {XSS}",
        files={"src/xss.py": f'payload = """{XSS}"""\n', "docs/<img src=x onerror=alert(4)>.md": XSS},
    )
    pr = client.create_pull_request(
        "acme",
        "api-server",
        title=f"Title {XSS}",
        source_branch="feature/xss",
        description=f"Description {XSS}\n\n{XSS_LINK}",
        reviewers=[emulator.account("bob")["uuid"]],
    )
    client.comment_pull_request("acme", "api-server", pr.id, content=f"Comment {XSS}\n\n{XSS_LINK}")
    client.close()
    mirror = mirror_demo(emulator)
    # Branch names cannot hold < or > on Bitbucket; the mirror is tested with one anyway.
    f.branch(mirror.repositories["api-server"], f"evil/{XSS}"[:255], target_message=f"Tip {XSS}")
    return mirror, pr.id


def test_script_from_bitbucket_never_runs(page, live_server, login, keep_screenshot, hostile_mirror):
    mirror, number = hostile_mirror
    _sign_in_as(mirror, "alice", login)
    base = live_server.url
    visits = [
        "/acme/pull-requests/?tab=all",
        f"/acme/api-server/pull-requests/{number}",
        "/acme/api-server/branches/",
        "/acme/api-server/src/feature/xss/src/xss.py",
        "/acme/api-server/src/feature/xss/docs/",
        f"/-/people/{mirror.accounts['alice'].account_id}/",
    ]
    for path in visits:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        if "pull-requests/" in path and path.rstrip("/").split("/")[-1].isdigit():
            page.wait_for_function(REVEAL_DIFF)
            page.locator("#pr-diff details.diff-file").first.wait_for()
            page.locator("#pr-discussion .comment").first.wait_for()
            page.locator("#pr-commits li").first.wait_for()
            assert "Comment" in page.locator("#pr-discussion").inner_text()
            keep_screenshot("xss-pull-request")
            link = page.get_by_role("link", name="click me").first
            assert link.count() == 0 or not (link.get_attribute("href") or "").lower().startswith("javascript")
        assert page.evaluate("window.__pwned") is None, path
        assert page.dialogs == [], path
    page.goto(base + f"/acme/api-server/pull-requests/{number}")
    assert "Title <img src=x" in page.locator("#pr-title").inner_text()  # shown as text, not run
