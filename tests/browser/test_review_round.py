"""A full review round in Chromium against the emulator: bob comments on a line of alice's pull request, adds a
comment on a range of lines to his review, replies in alice's thread and resolves it, makes a task of a comment and
publishes his review requesting changes; alice pushes a commit changing the line bob's comment sits on; bob then
sees only that commit's change, and his comment as outdated in the diff and in the discussion. Script in a comment
body, a file path and a code line stays text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bitbucket_sync import actions, sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRANCH = "feature/review-round"
XSS = "<img src=x onerror=window.__xss=1>"
XSS_PATH = "b/<img src=x onerror=window.__xss=2>.py"
XSS_CODE = 'html = "<img src=x onerror=window.__xss=3>"'


def test_a_review_round_then_changes_since_the_review(act_world, page, live_server, login, keep_screenshot):
    emu = act_world.emulator.world
    files = {"b/edit.py": f"v = 1\n{XSS_CODE}\n", "b/keep.py": "a = 1\nb = 2\nc = 3\n", XSS_PATH: "x = 1\n"}
    emu.commit_files("acme", "api-server", BRANCH, "alice", files, "round")
    repository = act_world.repo("api-server")
    alice = act_world.client("alice")
    sync.upsert_branch(repository=repository, record=alice.get_branch("acme", "api-server", BRANCH))
    pr = actions.open_pull_request(
        user=act_world.users["alice"],
        repository=repository,
        source=BRANCH,
        destination="main",
        title="Review round",
        reviewers=[act_world.emulator.account("bob")["uuid"]],
    )
    question = alice.comment_pull_request(
        "acme", "api-server", pr.number, content="Is c right?", inline_path="b/keep.py", inline_to=3
    )
    url = f"{live_server.url}/acme/api-server/pull-requests/{pr.number}/diff"
    login("bob")
    page.goto(url)
    diff = page.locator("#pr-diff")
    edit_py = diff.locator("details.diff-file", has=page.locator("summary .mono", has_text="b/edit.py"))
    keep_py = diff.locator("details.diff-file", has=page.locator("summary .mono", has_text="b/keep.py"))
    expect(diff.locator("details.diff-file summary .mono", has_text=XSS_PATH)).to_have_count(1)  # shown as text
    expect(edit_py.locator("td.src", has_text=XSS_CODE)).to_have_count(1)

    # A comment on one line, posted at once.
    edit_py.get_by_role("button", name="Comment on new line 1").click()
    composer = edit_py.locator("form.inline-composer")
    composer.get_by_label("Comment").fill(f"Why one? {XSS}")
    composer.get_by_role("button", name="Comment", exact=True).click()
    edit_py.get_by_text("Comment posted.").wait_for()
    mine = edit_py.locator("article.thread", has_text="Why one?")
    expect(mine.locator(".markdown")).to_contain_text(f"Why one? {XSS}")

    # A range (shift-click), added to the review.
    keep_py.get_by_role("button", name="Comment on new line 1").click()
    keep_py.get_by_role("button", name="Comment on new line 2").click(modifiers=["Shift"])
    composer = keep_py.locator("form.inline-composer")
    composer.get_by_label("Comment").fill("These two belong together.")
    composer.get_by_role("button", name="Add to review").click()
    review = page.locator("#pr-review")
    review.get_by_text("1 pending").wait_for()

    # A reply in alice's thread, then resolve it, from the discussion (the diff shows the same thread, same ids).
    thread = page.locator("#pr-discussion").locator(f"#thread-{question.id}")
    thread.get_by_label("Reply").fill("Yes, 3 is right.")
    thread.get_by_role("button", name="Reply", exact=True).click()
    thread.get_by_text("Reply posted.").wait_for()
    thread.get_by_role("button", name="Resolve").click()
    thread.get_by_text("Thread resolved.").wait_for()
    keep_screenshot("review-round-commented")

    # A task from bob's comment: the task list shows it.
    mine.locator("summary", has_text="Add task").click()
    mine.get_by_label("Task").fill("Explain the one")
    mine.get_by_role("button", name="Add task").click()
    page.locator("#pr-tasks .task-text", has_text="Explain the one").wait_for()

    review.get_by_label("Request changes").check()
    review.get_by_role("button", name="Publish review").click()
    page.get_by_text(re.compile("Review published: .*changes requested")).wait_for()
    page.wait_for_load_state("networkidle")
    keep_screenshot("review-round-published")

    # alice pushes a commit changing the line bob commented on; the mirror learns of it.
    emu.commit_files("acme", "api-server", BRANCH, "alice", {"b/edit.py": f"v = 2\n{XSS_CODE}\n"}, "bump")
    sync.upsert_pull_request(repository=repository, record=alice.get_pull_request("acme", "api-server", pr.number))

    page.goto(url)
    page.get_by_role("link", name=re.compile(r"Changes since your last review \([0-9a-f]{7}, 1 commit ago\)")).click()
    expect(page.get_by_role("link", name=re.compile("Changes since your last review"))).to_have_attribute(
        "aria-current", "true"
    )
    expect(diff.locator("details.diff-file summary .mono")).to_have_text(["b/edit.py"])
    expect(diff).to_contain_text("v = 2")
    outdated = edit_py.locator("article.thread.outdated", has_text="Why one?")
    expect(outdated.locator(".badge.outdated")).to_be_visible()
    discussion = page.locator("#pr-discussion article.thread.outdated", has_text="Why one?")
    expect(discussion.locator(".badge.outdated")).to_be_visible()
    keep_screenshot("review-round-since")

    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
