"""Keyboard shortcuts in Chromium (static/js/keys.js): `?` opens the sheet and Escape closes it, giving focus back;
`j`/`k` walk a pull request's diff file by file; `/` focuses the inbox's filter; a `j` typed in a field stays text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bitbucket_sync import actions, sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRANCH = "feature/keyboard-walk"
FILES = {"k/one.py": "a = 1\n", "k/two.py": "b = 2\n", "k/three.py": "c = 3\n"}


def test_sheet_diff_files_and_the_inbox_filter_by_keyboard(act_world, page, live_server, login):
    act_world.emulator.world.commit_files("acme", "api-server", BRANCH, "alice", FILES, "three files")
    repository = act_world.repo("api-server")
    sync.upsert_branch(repository=repository, record=act_world.client("alice").get_branch("acme", "api-server", BRANCH))
    pr = actions.open_pull_request(
        user=act_world.users["alice"], repository=repository, source=BRANCH, destination="main", title="Three files"
    )
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}/diff")
    files = page.locator("#pr-diff details.diff-file")
    expect(files).to_have_count(3)

    # The sheet: opened with `?`, closed with Escape, focus back on what had it.
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_hidden()
    page.keyboard.press("?")
    expect(sheet).to_be_visible()
    assert sheet.get_attribute("aria-modal") == "true"
    page.keyboard.press("j")  # no shortcut while the sheet is open
    expect(page.locator("details.diff-file[aria-current=true]")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.keyboard.press("?")
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_be_hidden()

    # j/k: file by file, its summary focused; k stops at the first.
    page.keyboard.press("j")
    expect(files.nth(0)).to_have_attribute("aria-current", "true")
    expect(files.nth(0).locator("summary")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(files.nth(2)).to_have_attribute("aria-current", "true")
    expect(files.nth(2).locator("summary")).to_be_focused()
    expect(page.locator("details.diff-file[aria-current=true]")).to_have_count(1)
    page.keyboard.press("k")
    page.keyboard.press("k")
    page.keyboard.press("k")
    expect(files.nth(0)).to_have_attribute("aria-current", "true")
    expect(files.nth(0).locator("summary")).to_be_focused()
    page.keyboard.press("Control+j")  # not with a modifier held
    expect(files.nth(0)).to_have_attribute("aria-current", "true")
    page.keyboard.press("?")
    expect(sheet).to_be_visible()
    page.keyboard.press("Escape")
    expect(files.nth(0).locator("summary")).to_be_focused()  # focus back where it was

    # `g i` goes to the inbox, where `/` focuses the filter; a `j` typed in a field is text, not a move.
    page.keyboard.press("g")
    page.keyboard.press("i")
    page.wait_for_url(re.compile(r"/-/inbox/$"))
    page.locator("#attention-table table.data").first.wait_for()
    page.keyboard.press("/")
    expect(page.locator("form[role=search]").get_by_label("Workspace")).to_be_focused()
    name = page.get_by_label("Save these filters as")
    name.focus()
    page.keyboard.type("jj?")
    expect(name).to_have_value("jj?")
    expect(page.locator("table.data tr[aria-current=true]")).to_have_count(0)
    expect(sheet).to_be_hidden()
    name.blur()
    page.keyboard.press("j")
    expect(page.locator("#attention-table table.data tbody tr").first).to_have_attribute("aria-current", "true")
    page.keyboard.press("j")
    page.keyboard.press("k")
    first = page.locator("#attention-table table.data tbody tr").first
    expect(first).to_have_attribute("aria-current", "true")
    target = first.locator("a[href]").first.get_attribute("href")
    page.keyboard.press("o")  # opens the current row's first link
    page.wait_for_url(re.compile(re.escape(target or "-") + "$"))
