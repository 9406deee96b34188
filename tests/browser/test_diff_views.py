"""The diff views in Chromium: switch to side by side, collapse a file, pick a line (and a range) by its number and
see the composer asked for that place; all without inline script (the page's CSP would stop it)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bitbucket_sync.models import PullRequest
from dashboard import rendering

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HX_SETTLED = "() => !document.querySelector('.htmx-request')"
REVEAL_DIFF = """() => {
  document.querySelector('#pr-diff')?.scrollIntoView();
  return !!document.querySelector('#pr-diff details.diff-file');
}"""


def test_side_by_side_collapse_and_a_line_comment_request(page, live_server, login, demo_mirror):
    user = demo_mirror.users["alice"]
    user.set_password("demo")
    user.save()
    login("alice")
    pr = PullRequest.objects.get(repository__slug="api-server", title="Add customer lookup endpoint")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    page.wait_for_function(REVEAL_DIFF)

    page.locator("#pr-diff").get_by_role("link", name="Side by side").click()
    page.locator("#pr-diff table.code.split").first.wait_for()
    page.wait_for_function(HX_SETTLED)
    assert page.locator("#pr-diff").get_by_role("link", name="Side by side").get_attribute("aria-current") == "true"

    path = "src/api_server/add_customer_lookup_endpoint.py"
    anchor = rendering.file_anchor(path)
    diff_file = page.locator(f"#{anchor}")
    diff_file.locator("summary").click()
    assert diff_file.get_attribute("open") is None
    diff_file.locator("summary").click()
    assert diff_file.get_attribute("open") == ""

    with page.expect_request(re.compile(r"/comments/new\?")) as asked:
        diff_file.get_by_role("button", name="Comment on new line 2").click()
    query = parse_qs(urlsplit(asked.value.url).query)
    assert urlsplit(asked.value.url).path == f"/acme/api-server/pull-requests/{pr.number}/comments/new"
    assert query == {"path": [path], "side": ["new"], "line": ["2"]}
    assert page.locator(f"#L{anchor}-new-2").get_attribute("class") == "split selected"
    assert page.locator(f"#L{anchor}-new-2 + tr.composer-row").count() == 1

    with page.expect_request(re.compile(r"/comments/new\?")) as asked:
        diff_file.get_by_role("button", name="Comment on new line 4").click(modifiers=["Shift"])
    query = parse_qs(urlsplit(asked.value.url).query)
    assert query["start"] == ["2"] and query["line"] == ["4"]
    assert page.locator(f"#{anchor} tr.selected").count() == 3

    # The choice follows the viewer to the next page load.
    page.reload()
    page.wait_for_function(REVEAL_DIFF)
    page.locator("#pr-diff table.code.split").first.wait_for()
