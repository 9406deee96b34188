"""A pull request's Tasks and Reports sections in a real browser: both load after the page, a task is resolved and
one added in place (htmx swaps the list, under the strict CSP), and the diff shows the security report's findings."""

import pytest

from bitbucket_sync.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_resolve_and_add_a_task_and_see_reports(act_world, page, live_server, login):
    login("alice")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/4")

    tasks = page.locator("#pr-tasks")
    tasks.get_by_text("1 open · 1 resolved").wait_for()
    reports = page.locator("#pr-reports")
    reports.get_by_text("Security scan").wait_for()
    assert "87.5 %" in reports.inner_text()
    # Once read, the readiness panel refreshes itself with the reports' line and the tasks' counts.
    page.locator("#pr-readiness").get_by_text("Code Insights reports").wait_for()

    tasks.get_by_role("button", name="Resolve").click()
    tasks.get_by_text("0 open · 2 resolved").wait_for()
    tasks.get_by_label("New task").fill("Log the cache hit rate")
    tasks.get_by_role("button", name="Add task").click()
    tasks.get_by_text("1 open · 2 resolved").wait_for()
    assert "Log the cache hit rate" in tasks.inner_text()
    assert page.url.endswith("/pull-requests/4")  # swapped in place, no navigation

    page.locator("#pr-diff").scroll_into_view_if_needed()
    page.locator("#pr-diff .annotated").first.wait_for()
    assert "without validation" in page.locator("#pr-diff").inner_text()
    assert AuditEvent.objects.filter(action__startswith="pull_request.task_", result="success").count() == 2
    assert page.dialogs == []  # console errors and CSP violations fail the test through the page fixture
