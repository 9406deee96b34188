"""Changes since a review, in Chromium against the emulator: bob marks a file viewed (it folds away) and approves;
alice pushes a commit that changes that file; bob's page then offers "changes since your last review", which shows
only that commit's change, and the viewed mark of the changed file is gone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bitbucket_sync import actions, sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRANCH = "feature/browser-since"


def test_reviewer_sees_only_the_pushed_change_and_a_viewed_mark_clears(act_world, page, live_server, login):
    emu = act_world.emulator.world
    emu.commit_files("acme", "api-server", BRANCH, "alice", {"b/keep.py": "keep = 1\n", "b/edit.py": "v = 1\n"}, "two")
    repository = act_world.repo("api-server")
    sync.upsert_branch(repository=repository, record=act_world.client("alice").get_branch("acme", "api-server", BRANCH))
    pr = actions.open_pull_request(
        user=act_world.users["alice"],
        repository=repository,
        source=BRANCH,
        destination="main",
        title="Browser since review",
        reviewers=[act_world.emulator.account("bob")["uuid"]],
    )
    url = f"{live_server.url}/acme/api-server/pull-requests/{pr.number}/diff"
    login("bob")

    page.goto(url)
    edited = page.locator("details.diff-file", has=page.locator("summary .mono", has_text="b/edit.py"))
    expect(edited).to_have_attribute("open", "")
    with page.expect_response(re.compile(r"/viewed-files$")):
        edited.get_by_label("Viewed").check()
    expect(edited).not_to_have_attribute("open", "")  # folded away
    expect(page.locator("#viewed-count")).to_have_text("1 of 2 files viewed")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("button", name="Remove approval")).to_be_visible()

    # alice pushes a commit that changes b/edit.py; the mirror learns of it (as a webhook or the sync would tell it).
    emu.commit_files("acme", "api-server", BRANCH, "alice", {"b/edit.py": "v = 2\n"}, "bump")
    record = act_world.client("alice").get_pull_request("acme", "api-server", pr.number)
    sync.upsert_pull_request(repository=repository, record=record)

    page.goto(url)
    expect(edited.locator("summary")).to_contain_text("changed since your review")
    expect(edited.get_by_label("Viewed")).not_to_be_checked()
    expect(page.locator("#viewed-count")).to_have_text("0 of 2 files viewed")
    page.get_by_role("link", name=re.compile(r"Changes since your last review \([0-9a-f]{7}, 1 commit ago\)")).click()
    expect(page.get_by_role("link", name=re.compile("Changes since your last review"))).to_have_attribute(
        "aria-current", "true"
    )
    expect(page.locator("details.diff-file summary .mono")).to_have_text(["b/edit.py"])
    expect(page.locator("#pr-diff")).to_contain_text("v = 2")
