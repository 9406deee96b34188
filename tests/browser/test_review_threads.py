"""Review threads in Chromium: from the discussion tab, reply in a thread and resolve it; each swaps the thread
alone (no reload), and Bitbucket (the emulator) holds the reply and the resolution."""

import pytest

from bitbucket_sync.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reply_in_a_thread_then_resolve_it(act_world, page, live_server, login, screenshot):
    pr = act_world.emulator.world.repository("acme", "api-server").pullrequests[4]
    root = next(c for c in pr.comments if c.raw == "Can we cache the lookups?")
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/4")
    thread = page.locator(f"#thread-{root.id}")
    thread.locator(".markdown", has_text="Can we cache the lookups?").wait_for()
    page.evaluate("window.__notReloaded = true")

    thread.get_by_label("Reply").fill("A TTL of **60 s** is plenty.")
    thread.get_by_role("button", name="Reply", exact=True).click()
    thread.get_by_text("Reply posted.").wait_for()
    assert thread.locator("strong", has_text="60 s").is_visible()
    assert any(c.parent_id == root.id and "60 s" in c.raw for c in pr.comments)

    thread.get_by_role("button", name="Resolve").click()
    thread.get_by_text("Thread resolved.").wait_for()
    assert thread.get_by_role("button", name="Reopen").is_visible()
    assert not thread.locator(".markdown", has_text="A TTL of").is_visible()  # a resolved thread is folded
    assert root.resolved_by is not None
    assert page.evaluate("window.__notReloaded === true")  # swapped by htmx, not a reload
    assert {e.action for e in AuditEvent.objects.filter(result="success")} >= {
        "pull_request.comment_reply",
        "pull_request.comment_resolve",
    }
    screenshot("review-thread-resolved")
