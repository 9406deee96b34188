"""History in Chromium: the Commits tab, a commit's page with its diff, and a file's history from the source
browser. Screenshots are kept under var/test/screenshots/ (the `keep_screenshot` fixture)."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_commit_log_commit_diff_and_file_history(page, live_server, login, keep_screenshot, demo_mirror):
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/")
    page.get_by_role("link", name="Commits", exact=True).click()
    page.wait_for_url(re.compile(r"/acme/api-server/commits/$"))
    rows = page.locator("#commit-table tbody tr")
    assert rows.count() >= 2
    keep_screenshot("commit-log")

    first = rows.first.locator("td").first.get_by_role("link")
    short = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/acme/api-server/commits/[0-9a-f]{40}$"))
    assert short in page.locator("#commit-title").inner_text()
    assert page.locator("pre.commit-message").inner_text().strip()
    assert page.locator("details.diff-file").count() >= 1
    keep_screenshot("commit-page")

    page.goto(f"{live_server.url}/acme/api-server/src/main/README.md")
    page.get_by_role("link", name="History", exact=True).click()
    page.wait_for_url(re.compile(r"/acme/api-server/history/main/README.md$"))
    history = page.locator("#history-table tbody tr")
    assert history.count() >= 1
    keep_screenshot("file-history")
    history.first.get_by_role("link", name="README.md", exact=True).click()
    page.wait_for_url(re.compile(r"/acme/api-server/src/[0-9a-f]{40}/README.md$"))
    assert page.locator("table.code").count() == 1
