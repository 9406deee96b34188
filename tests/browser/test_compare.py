"""Comparing in a real browser (Playwright + Debian's Chromium) against the emulator: the branches page fills in
real ahead/behind counts as its rows come into view, then a branch is compared with main and a pull request opened
from the compare page."""

import re

import pytest

from bitbucket_sync.models import Branch, PullRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRANCH = "feature/compare-in-browser"


def test_real_ahead_behind_then_compare_and_open_a_pull_request(act_world, page, live_server, login, keep_screenshot):
    emu = act_world.emulator
    world = emu.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        world.create_branch(repo, BRANCH, repo.branches["main"], None)
        world.commit_files("acme", "api-server", BRANCH, "alice", {"docs/compare.md": "Compared in a browser.\n"})
        world.commit_files("acme", "api-server", "main", "bob", {"docs/main-moved.md": "Main moved on.\n"})
    act_world.sync()
    branch = Branch.objects.get(repository__slug="api-server", name=BRANCH)
    login("alice")

    page.goto(f"{live_server.url}/acme/api-server/branches/")
    cell = page.locator(f"#ahead-behind-{branch.pk}")
    # Brought on screen (its counts are read once it is); it may already be there and swap itself meanwhile.
    page.evaluate(f"() => document.querySelector('#ahead-behind-{branch.pk}')?.scrollIntoView()")
    page.wait_for_function(f"() => document.querySelector('#ahead-behind-{branch.pk}')?.innerText.includes('·')")
    assert cell.inner_text().strip() == "1 · 1"  # one commit of its own; main moved on by one
    assert "?" not in page.locator("#branch-table").inner_text()
    keep_screenshot("compare-1-branches-ahead-behind")

    row = page.locator("#branch-table tr", has=page.locator(f"#ahead-behind-{branch.pk}"))
    row.get_by_role("link", name="Compare", exact=True).click()
    page.wait_for_url(re.compile(r"/branches/compare/feature/compare-in-browser\.\.main$"))
    assert page.locator("#compare-ahead").inner_text() == "1"
    assert page.locator("#compare-behind").inner_text() == "1"
    assert "Compared in a browser." in page.locator(".diff-file").first.inner_text()

    keep_screenshot("compare-2-compare-page")
    page.get_by_role("link", name="Create pull request").click()
    page.wait_for_url(re.compile(r"/pull-requests/new\?"))
    page.get_by_role("button", name="Create pull request").click()
    page.wait_for_url(re.compile(r"/acme/api-server/pull-requests/\d+$"))
    pr = PullRequest.objects.get(repository__slug="api-server", source_branch=BRANCH)
    assert pr.destination_branch == "main" and pr.number in repo.pullrequests
