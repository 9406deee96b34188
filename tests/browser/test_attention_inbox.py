"""My inbox in Chromium: the whose-turn tabs across workspaces, a filter that puts itself in the address bar, a saved
view, and the rule on hover."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HX_SETTLED = "() => !document.querySelector('.htmx-request')"


def test_my_inbox_tabs_filters_and_a_saved_view(page, live_server, login, keep_screenshot, demo_mirror):
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")
    page.get_by_role("link", name="My inbox").click()
    page.wait_for_url(re.compile(r"/-/inbox/$"))
    titles = page.locator("#attention-table a.pr-title")
    assert "Rate limit order creation" in titles.all_inner_texts()  # alice reviews it and has not reviewed yet
    turn = page.locator("#attention-table td.turn").first
    assert "Rule:" in (turn.get_attribute("title") or "")  # the reasons and the rule in words, on hover

    page.get_by_role("link", name=re.compile(r"^All open")).click()
    page.wait_for_url(re.compile(r"tab=open"))
    page.get_by_label("Workspace").select_option("acme")
    page.wait_for_url(re.compile(r"\?tab=open&workspace=acme$"))  # empty filters left out
    page.wait_for_function(HX_SETTLED)
    assert titles.count() > 0
    assert all(r.startswith("acme/") for r in page.locator("#attention-table tbody td:nth-child(2)").all_inner_texts())

    page.get_by_label("Save these filters as").fill("Acme, all open")
    page.get_by_role("button", name="Save view").click()
    page.wait_for_url(re.compile(r"/-/inbox/\?tab=open&workspace=acme$"))
    page.get_by_role("link", name="Acme, all open").wait_for()
    keep_screenshot("attention-inbox")
    assert page.dialogs == []
