"""Open pages follow Bitbucket: a title changed in the emulator shows up in the inbox, and a pull request page shows
its new title, an approval and its merge, without a reload."""

import pytest

from bitbucket_sync.models import PullRequest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_live_inbox_shows_new_title_without_reload(page, live_server, login, live_updates, screenshot):
    world, emu = live_updates, live_updates.emulator
    pr = PullRequest.objects.filter(repository__slug="api-server", state="OPEN").order_by("number").first()
    login("alice")
    page.goto(f"{live_server.url}/acme/pull-requests/")
    row = page.locator("#pr-table a.pr-title", has_text=pr.title)
    row.wait_for()
    page.evaluate("window.__notReloaded = true")

    emu.world.update_pull_request_title("acme", "api-server", pr.number, "bob", "Title changed in Bitbucket")

    page.locator("#pr-table a.pr-title", has_text="Title changed in Bitbucket").wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded === true")  # swapped in by htmx, not a reload
    assert page.locator("#pr-table a.pr-title", has_text=pr.title).count() == 0
    assert page.dialogs == []
    screenshot("live-inbox-updated")
    applied = world.subscription.workspace.deliveries.filter(event="pullrequest:updated", result="applied")
    assert applied.exists()  # it came through the webhook


def test_live_updates_state_on_sync_page_and_delivery_log(page, live_server, login, live_updates, screenshot):
    emu = live_updates.emulator
    pr = PullRequest.objects.filter(repository__slug="docs", state="OPEN").order_by("number").first()
    emu.world.update_pull_request_title("acme", "docs", pr.number, "alice", "Handbook: on-call rota")
    live_updates.wait_for(
        lambda: PullRequest.objects.get(pk=pr.pk).title == "Handbook: on-call rota", timeout=10, what="the delivery"
    )
    login("alice")
    page.goto(f"{live_server.url}/-/sync/")
    region = page.locator(f"#live-updates-{live_updates.workspace.pk}")
    region.locator(".live-state").wait_for()  # loaded by htmx
    assert "Deliveries are arriving" in region.inner_text()
    assert region.get_by_role("button", name="Turn off live updates").is_visible()
    screenshot("sync-page-live-updates")
    region.get_by_role("link", name="Delivery log").click()
    page.wait_for_load_state("networkidle")
    log = page.locator("table.deliveries").first
    assert "pullrequest:updated" in log.inner_text() and "applied" in log.inner_text()
    screenshot("delivery-log")


def test_live_pull_request_page_follows_bitbucket_without_reload(page, live_server, login, live_updates, screenshot):
    world, emu = live_updates, live_updates.emulator
    pr = world.mergeable_open_pr()
    reviewer = pr.participants.filter(role="REVIEWER", approved=False).select_related("account").first()
    assert reviewer is not None, "the demo's mergeable pull request has a reviewer who has not approved"
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    page.locator("#pr-summary .badge.open").wait_for()
    page.locator("#pr-actions summary", has_text="Comment").click()
    page.locator("#id_comment_text").fill("Typed while Bitbucket changed")  # the live refresh must keep it
    approvals = page.locator("#pr-reviewers .badge.approved").count()
    page.evaluate("window.__notReloaded = true")

    emu.world.update_pull_request_title("acme", "api-server", pr.number, "bob", "Retitled while the page was open")
    page.locator("#pr-title", has_text="Retitled while the page was open").wait_for(timeout=10_000)
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.set_review(repo, emu.world.pull_request(repo, pr.number), reviewer.account.bitbucket_uuid, "approved")
    page.locator("#pr-reviewers .badge.approved").nth(approvals).wait_for(timeout=10_000)
    world.merge_in_bitbucket(pr)
    page.locator("#pr-summary .badge.merged").wait_for(timeout=10_000)
    assert "merged as" in page.locator("#pr-summary").inner_text()
    page.locator("#pr-action-bar a", has_text="Merge").wait_for(state="detached")
    assert page.locator("#pr-action-bar").count() == 1  # swapped out of band, not shown twice
    assert page.locator("#id_comment_text").input_value() == "Typed while Bitbucket changed"
    assert page.evaluate("window.__notReloaded === true")  # swapped in by htmx, not a reload
    assert page.dialogs == []
    screenshot("live-pull-request-merged")


def _comment_in_bitbucket(emu, pr: PullRequest, username: str, text: str) -> None:
    with emu.world.lock:
        repo = emu.world.repository("acme", "api-server")
        emu.world.add_comment(repo, emu.world.pull_request(repo, pr.number), emu.world.user(username).uuid, text)


def test_live_pull_request_sections_follow_comments_and_pushes(page, live_server, login, live_updates, screenshot):
    """A comment made in Bitbucket shows in the open page's discussion, and a push in its commits, without a reload;
    the comment re-reads neither the commits nor the diff."""
    emu, pr = live_updates.emulator, live_updates.mergeable_open_pr()
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    page.locator("#pr-discussion[data-live-follows]").wait_for()
    page.locator("#pr-commits[data-live-follows]").wait_for()
    # The diff loads when revealed and replaces its placeholder, so scroll by script rather than hold the element.
    page.evaluate("document.getElementById('pr-diff').scrollIntoView()")
    page.locator("#pr-diff[data-live-follows]").wait_for()
    page.evaluate("window.__notReloaded = true")
    reads: list[str] = []
    page.on("request", lambda request: reads.append(request.url))

    _comment_in_bitbucket(emu, pr, "bob", "Commented in Bitbucket while the page was open")
    page.locator("#pr-discussion", has_text="Commented in Bitbucket while the page was open").wait_for(timeout=10_000)
    assert not [url for url in reads if "/commits" in url or "/diff" in url]  # a comment moves neither
    assert any(url.endswith(f"/pull-requests/{pr.number}/activity") for url in reads)

    # The reader folded the first file and reads the last one, at the top of the window.
    files = page.locator("#pr-diff details.diff-file")
    first, last = files.first.get_attribute("id"), files.last.get_attribute("id")
    page.locator(f"[id='{first}'] > summary").click()
    top = "id => document.getElementById(id).getBoundingClientRect().top"
    page.evaluate("id => window.scrollBy(0, document.getElementById(id).getBoundingClientRect().top - 1)", last)
    before = page.evaluate(top, last)

    emu.world.commit_files("acme", "api-server", pr.source_branch, "bob", {"docs/live.md": "Live.\n"}, "Pushed live")
    page.locator("#pr-commits", has_text="Pushed live").wait_for(timeout=10_000)
    page.locator("#pr-diff details.diff-file[data-path='docs/live.md']").wait_for(timeout=10_000)
    page.wait_for_timeout(300)  # the place is put back once the new diff has settled
    assert page.locator(f"[id='{first}']").evaluate("file => file.open") is False  # still folded
    assert abs(page.evaluate(top, last) - before) < 40  # the reader's place kept
    assert page.evaluate("window.__notReloaded === true")  # swapped in by htmx, not a reload
    polls = [url for url in reads if "/-/changes/" in url]
    sections = [url for url in reads if url.endswith("/activity") or url.endswith("/commits")]
    assert polls and len(sections) <= 4  # one poller; the sections re-read only when theirs moved
    assert page.dialogs == []
    screenshot("live-pull-request-sections")


def test_live_discussion_keeps_a_half_written_reply(page, live_server, login, live_updates, screenshot):
    """A reply being written in the discussion is not wiped by a live refresh: the discussion waits, says so, and
    refreshes once the reply box is cleared and left."""
    world, emu = live_updates, live_updates.emulator
    pr = world.mergeable_open_pr()
    _comment_in_bitbucket(emu, pr, "bob", "A thread to reply to")
    world.wait_for(
        lambda: PullRequest.objects.get(pk=pr.pk).comment_count > pr.comment_count,
        timeout=10,
        what="the comment's delivery",
    )
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    thread = page.locator("#pr-discussion .thread", has_text="A thread to reply to")
    reply = thread.get_by_role("textbox", name="Reply")
    reply.click()
    reply.press_sequentially("Half-written thou")
    page.evaluate("window.__notReloaded = true")

    _comment_in_bitbucket(emu, pr, "bob", "Another comment meanwhile")
    note = page.locator("#pr-discussion .live-note")
    note.wait_for(timeout=10_000)
    assert "refreshes once you send or clear" in note.inner_text()
    assert reply.input_value() == "Half-written thou"
    assert reply.evaluate("box => box === document.activeElement")
    assert page.locator("#pr-discussion", has_text="Another comment meanwhile").count() == 0
    screenshot("live-discussion-waits-for-a-reply")

    reply.press_sequentially("ght")  # still typing: still waiting
    assert reply.input_value() == "Half-written thought"
    reply.fill("")
    page.locator("#pr-title").click()  # the box is empty and left: the discussion catches up
    page.locator("#pr-discussion", has_text="Another comment meanwhile").wait_for(timeout=10_000)
    assert page.locator("#pr-discussion .live-note").count() == 0
    assert page.evaluate("window.__notReloaded === true")
    assert page.dialogs == []


def test_live_repository_list_follows_the_mirror(page, live_server, login, demo_mirror):
    """A workspace's repository list shows a repository described since the page opened, its filter kept."""
    from django.utils import timezone

    from bitbucket_sync.models import Repository

    login("alice")
    page.goto(f"{live_server.url}/acme/?q=api")
    page.locator("#repo-table").get_by_role("link", name="api-server").wait_for()
    page.evaluate("window.__notReloaded = true")

    Repository.objects.filter(workspace__slug="acme", slug="api-server").update(
        description="Described while the list was open", synced_at=timezone.now()
    )
    page.locator("#repo-table", has_text="Described while the list was open").wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded === true")
    assert page.url.endswith("/acme/?q=api") and page.locator("#repo-table tbody tr").count() >= 1
