"""A review in a real browser: what is typed in the comment box survives a reload (kept server-side), "Add to review"
makes a pending comment the review panel lists, and "Publish review" with "Request changes" sends it all."""

import pytest

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

    page.get_by_role("button", name="Add to review").click()
    panel = page.locator("#pr-review")
    panel.get_by_text("1 pending").wait_for()
    assert "Please split this function." in panel.inner_text()
    assert page.locator("#id_comment_text").input_value() == ""  # sent: the draft is gone
    assert not CommentDraft.objects.filter(key="general").exists()

    panel.get_by_label("Summary").fill("One structural change, then good to go.")
    panel.get_by_label("Request changes").check()
    panel.get_by_role("button", name="Publish review").click()
    page.get_by_text("Review published: 1 comment, a summary, changes requested.").wait_for()

    emu = act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]
    bob_uuid = act_world.emulator.account("bob")["uuid"]
    assert emu.participants[bob_uuid].state == "changes_requested"
    assert [c.raw for c in emu.comments[-2:]] == [
        "Please split this function.",
        "One structural change, then good to go.",
    ]
    assert not any(c.pending for c in emu.comments)
    assert not CommentDraft.objects.exists()
