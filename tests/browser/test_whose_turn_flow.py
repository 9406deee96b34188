"""Whose turn, end to end in Chromium: the author of an open pull request keeps their inbox open while Bitbucket
changes under it. A build fails (a CI posting through the emulator), the pull request comes back to them; the build is
re-run green and the last required approval arrives (another reviewer approving in Bitbucket), and it is ready to
merge. Every change reaches the mirror as in production, by webhook delivery to the live server applied by a Celery
worker, and reaches the open pages by their live refresh, without a reload."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page

from bitbucket_sync.models import PullRequest, WebhookDelivery

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The demo's pull request by bob into mobile-app's main, whose merge rules Bitbucket enforces (two approvals, a
# passing build, tasks done): frank has approved, heidi has not, no build has reported, no task is open, and the
# merge preview is clean.
REPO, NUMBER, KEY = "mobile-app", 2, "ci-build"
LIVE = 15_000  # ms: a webhook delivery, the worker applying it, and the page's next 2-second poll


def _tab(page: Page, live_server, tab: str) -> Page:
    page.goto(f"{live_server.url}/-/inbox/?tab={tab}")
    page.locator("#attention-table").wait_for()
    page.evaluate("window.__notReloaded = true")
    return page


def _row(page: Page, title: str):
    return page.locator("#attention-table tbody tr").filter(has=page.locator("a.pr-title", has_text=title))


def _count(page: Page, label: str) -> str:
    return page.locator("nav.tabs a", has_text=label).locator(".count").inner_text()


def test_author_sees_a_failed_build_return_the_pull_request_then_ready_to_merge(
    page, live_server, login, live_updates, keep_screenshot
):
    world, emu = live_updates, live_updates.emulator
    pr = world.pr(REPO, NUMBER)
    assert pr.author == world.accounts["bob"]
    assert (pr.turn, pr.task_count, pr.conflict_state, pr.repository.restrictions_state) == (
        "reviewers",
        0,
        "clean",
        "read",
    ), pr.turn_reasons
    login("bob")
    # The author keeps two tabs of their inbox open: what came back to them, and what they may merge.
    returned = _tab(page, live_server, "returned")
    ready = _tab(page.context.new_page(), live_server, "ready")
    problems: list[str] = []
    ready.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    ready.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    assert _row(returned, pr.title).count() == 0 and _row(ready, pr.title).count() == 0
    before = _count(returned, "Returned to me")

    # CI reports a failed build on the pull request's source tip.
    post_status = {"workspace": "acme", "repo_slug": REPO, "pr_id": NUMBER, "key": KEY, "name": "Android build"}
    answer = requests.post(f"{emu.base_url}/_emulator/statuses", json=post_status | {"state": "FAILED"}, timeout=5)
    assert answer.status_code == 200, answer.text
    row = _row(returned, pr.title)
    row.wait_for(timeout=LIVE)
    assert "failed" in row.locator("td").nth(3).inner_text()
    assert "author" in row.locator("td.turn").inner_text()
    assert "build failed" in (row.locator("td.turn").get_attribute("title") or "")
    assert int(_count(returned, "Returned to me")) == int(before) + 1  # the tab's count follows the table

    # Re-run green (the same key), then heidi gives the second approval the rules ask for.
    answer = requests.post(f"{emu.base_url}/_emulator/statuses", json=post_status | {"state": "SUCCESSFUL"}, timeout=5)
    assert answer.status_code == 200, answer.text
    row.wait_for(state="detached", timeout=LIVE)  # no longer the author's turn: reviewers (1 of 2 approvals)
    world.wait_for(lambda: world.pr(REPO, NUMBER).turn == "reviewers", timeout=10, what="the green build")
    assert world.pr(REPO, NUMBER).turn_reasons == ["approvals: 1 of 2"]  # the rules ask for two
    assert _row(ready, pr.title).count() == 0
    world.client("heidi").approve("acme", REPO, NUMBER)

    row = _row(ready, pr.title)
    row.wait_for(timeout=LIVE)
    assert "ready to merge" in row.locator("td.turn").inner_text()
    assert "passed" in row.locator("td").nth(3).inner_text()
    assert re.fullmatch(r"\s*2 of 2\s*", row.locator("td").nth(4).inner_text())
    assert _row(returned, pr.title).count() == 0
    for shown in (returned, ready):
        assert shown.evaluate("window.__notReloaded === true")  # swapped in by htmx, not reloaded
    assert page.dialogs == [] and problems == []

    mirrored = PullRequest.objects.get(pk=pr.pk)
    assert (mirrored.turn, mirrored.build_state, mirrored.conflict_state) == ("ready", "SUCCESSFUL", "clean")
    # It all came by webhook: two build statuses and an approval, each applied.
    applied = WebhookDelivery.objects.filter(workspace=world.workspace, result="applied")
    assert applied.filter(event__startswith="repo:commit_status_").count() == 2
    assert applied.filter(event="pullrequest:approved").exists()

    keep_screenshot("whose-turn-ready", ready)
    ready.close()
