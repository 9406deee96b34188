"""A review in a real browser: what is typed in the comment box survives a reload (kept server-side), "Add to review"
makes a pending comment the review panel lists, and "Publish review" with "Request changes" sends it all."""

import pytest
from django.core.cache import cache

from bitbucket_sync.models import CommentDraft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_type_reload_keep_the_text_then_publish_a_review_requesting_changes(act_world, page, live_server, login):
    pr = act_world.open_pr("api-server", author="dave")
    url = f"{live_server.url}/acme/api-server/pull-requests/{pr.number}"
    login("bob")
    page.goto(url)

    page.locator("details.comment-box > summary").click()
    box = page.locator("#id_comment_text")
    box.fill("Please split this function.")
    page.get_by_text("Draft saved.").wait_for()
    page.reload()
    box = page.locator("#id_comment_text")
    page.wait_for_function("() => document.querySelector('#id_comment_text').value === 'Please split this function.'")
    assert box.is_visible()  # the restored text opened its box

    page.locator("details.comment-box").get_by_role("button", name="Add to review").click()
    panel = page.locator("#pr-review")
    panel.get_by_text("1 pending").wait_for()
    assert "Please split this function." in panel.inner_text()
    assert page.locator("#id_comment_text").input_value() == ""  # sent: the draft is gone
    assert not CommentDraft.objects.filter(key="general").exists()

    panel.get_by_label("Summary").fill("One structural change, then good to go.")
    # A pending comment added in place elsewhere (another composer): the panel reloads on its event and keeps what
    # is typed in the summary, saved or not yet.
    with act_world.client("bob") as client:
        client.comment_pull_request("acme", "api-server", pr.number, content="Also a test, please.", pending=True)
    cache.clear()  # as the composer's own write would drop the cached discussion
    page.evaluate("() => htmx.trigger(document.body, 'review-changed')")
    panel.get_by_text("2 pending").wait_for()
    # The new box takes the text when htmx has settled the swap (a moment after the new panel shows).
    page.wait_for_function(
        "() => document.querySelector('#id_review_summary').value === 'One structural change, then good to go.'"
    )
    panel.get_by_label("Request changes").check()
    panel.get_by_role("button", name="Publish review").click()
    page.get_by_text("Review published: 2 comments, a summary, changes requested.").wait_for()

    emu = act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    assert emu.participants[bob_uuid].state == "changes_requested"
    published = {c.raw for c in emu.comments if not c.pending}
    assert {"Please split this function.", "Also a test, please."} <= published
    assert emu.comments[-1].raw == "One structural change, then good to go."  # the summary comes last
    assert not any(c.pending for c in emu.comments)
    # Published: the server forgot the summary, and no save still waiting in the page brings it back.
    assert not CommentDraft.objects.exists(), list(CommentDraft.objects.values_list("key", "text"))
