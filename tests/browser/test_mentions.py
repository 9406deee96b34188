"""Mentioning someone in Chromium: `@ali` in a pull request's comment box offers Alice (Escape closes the list),
choosing her writes Bitbucket's `@{account_id}`, and the posted comment links to her page."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_mention_alice_from_the_comment_box(page, live_server, login, demo_mirror, screenshot):
    pr = demo_mirror.open_pr("api-server")
    alice_id = demo_mirror.emulator.account("alice")["account_id"]
    user = demo_mirror.users["bob"]
    user.set_password("demo")
    user.save()
    login("bob")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    page.locator("summary", has_text="Comment").click()
    box = page.locator("details.comment-box").get_by_label("Comment", exact=True)
    box.press_sequentially("Please review @al")
    alice = page.get_by_role("listbox").get_by_role("option").filter(has_text="Alice Adams")
    alice.wait_for()
    box.press("Escape")  # closes the list, keeps the text
    assert page.get_by_role("listbox").count() == 0 and box.input_value() == "Please review @al"

    box.press_sequentially("i")
    alice.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert box.get_attribute("aria-activedescendant") == alice.get_attribute("id")
    screenshot("mention-suggestions")
    box.press("Enter")
    assert box.input_value() == f"Please review @{{{alice_id}}} "
    assert box.get_attribute("aria-expanded") == "false" and page.get_by_role("listbox").count() == 0

    page.get_by_role("button", name="Comment", exact=True).click()
    link = page.locator("#pr-discussion a.mention", has_text="@Alice Adams")
    link.wait_for()
    assert link.get_attribute("href") == f"/-/people/{alice_id}/"
    raw = demo_mirror.emulator.world.repository("acme", "api-server").pullrequests[pr.number].comments[-1].raw
    assert raw == f"Please review @{{{alice_id}}}"
