"""A pull request's Tasks and Reports sections end to end: views -> live reads and task actions -> the emulator over
HTTP -> the mirror's task counts, the audit log and the diff's annotations."""

import re

import pytest

from bitbucket_sync.models import ActionReceipt, AuditEvent, PullRequest
from dashboard.selectors import insights

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PR = "/acme/api-server/pull-requests/4"
LOOKUP = "src/api_server/add_customer_lookup_endpoint.py"


@pytest.fixture
def alice(demo_world):
    return demo_world.signed_in("alice")


@pytest.fixture
def bob(demo_world):
    return demo_world.signed_in("bob")


def _keys(html: str) -> list[str]:
    return re.findall(r'name="idempotency_key" value="([^"]+)"', html)


def _tasks_in_bitbucket(demo_world, number: int = 4):
    return list(demo_world.client("alice").iter_pull_request_tasks("acme", "api-server", number))


def _puts(demo_world) -> int:
    family = "PUT /2.0/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/tasks/{task_id}"
    return demo_world.counts()["by_endpoint"].get(family, {}).get("total", 0)


def test_pull_request_page_loads_tasks_and_reports_after_it(demo_world, alice):
    html = alice.get(PR).content.decode()
    assert 'id="pr-tasks"' in html and f'hx-get="{PR}/tasks/"' in html
    assert 'id="pr-reports"' in html and f'hx-get="{PR}/reports/"' in html
    # Their "open them" links work without htmx: a page holding the region.
    for region, text in (("tasks", "Add a test for an unknown customer"), ("reports", "Security scan")):
        page = alice.get(f"{PR}/{region}/").content.decode()
        assert "<html" in page and text in page and "Back to the pull request" in page


def test_tasks_region_reads_them_and_corrects_the_mirror_counts(demo_world, alice):
    PullRequest.objects.filter(pk=demo_world.pr("api-server", 4).pk).update(task_count=5, resolved_task_count=None)

    response = alice.get(f"{PR}/tasks/", **HX)

    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="pr-tasks"') and "<html" not in html
    assert "1 open · 1 resolved" in html
    assert "Add a test for an unknown customer" in html and "Document how long lookups stay cached" in html
    assert ">Resolve</button>" in html and ">Reopen</button>" in html and "resolved by Dave" in html
    pr = demo_world.pr("api-server", 4)
    assert (pr.task_count, pr.resolved_task_count) == (1, 1)
    assert "1 open task" in " ".join(pr.turn_reasons)  # the turn followed the counts
    assert "mirror-changed" in response["HX-Trigger"]  # the page's mirrored regions (readiness, turn) refresh
    demo_world.reset_counts()
    again = alice.get(f"{PR}/tasks/", **HX)
    assert demo_world.counts()["total"] == 0  # read once, then cached for the credential
    assert "HX-Trigger" not in again  # nothing changed this time


def test_resolve_a_task_swaps_the_list_audits_once_and_ignores_a_double_submit(demo_world, alice):
    open_task = next(t for t in _tasks_in_bitbucket(demo_world) if not t.resolved)
    key = _keys(alice.get(f"{PR}/tasks/", **HX).content.decode())[0]
    demo_world.reset_counts()

    first = alice.post(f"{PR}/tasks/{open_task.id}/resolve", {"idempotency_key": key}, **HX)
    second = alice.post(f"{PR}/tasks/{open_task.id}/resolve", {"idempotency_key": key}, **HX)

    html = first.content.decode()
    assert first.status_code == 200 and html.lstrip().startswith('<section id="pr-tasks"')
    assert "0 open · 2 resolved" in html and "Task resolved." in html
    assert "already done" in second.content.decode()
    assert _puts(demo_world) == 1
    events = AuditEvent.objects.filter(action="pull_request.task_resolve")
    assert [(e.result, e.target, e.actor_id) for e in events] == [
        ("success", f"#4 task {open_task.id}", demo_world.alice.pk)
    ]
    assert all(t.resolved for t in _tasks_in_bitbucket(demo_world))
    pr = demo_world.pr("api-server", 4)
    assert (pr.task_count, pr.resolved_task_count) == (0, 2)


def test_reopen_without_htmx_redirects_to_the_pull_request(demo_world, bob):
    resolved = next(t for t in _tasks_in_bitbucket(demo_world) if t.resolved)
    response = bob.post(f"{PR}/tasks/{resolved.id}/reopen", {"idempotency_key": "k-reopen-1"})
    assert response.status_code == 302 and response["Location"] == PR
    assert not any(t.resolved for t in _tasks_in_bitbucket(demo_world))
    assert AuditEvent.objects.get(action="pull_request.task_reopen").result == "success"
    assert ActionReceipt.objects.get(key="k-reopen-1").result_url == PR


def test_add_a_task(demo_world, alice):
    response = alice.post(f"{PR}/tasks/new", {"idempotency_key": "k-new-1", "text": "Log the cache hit rate"}, **HX)
    again = alice.post(f"{PR}/tasks/new", {"idempotency_key": "k-new-1", "text": "Log the cache hit rate"}, **HX)

    assert "Log the cache hit rate" in response.content.decode() and "2 open · 1 resolved" in response.content.decode()
    assert "already done" in again.content.decode()
    assert [t.content for t in _tasks_in_bitbucket(demo_world)].count("Log the cache hit rate") == 1
    assert AuditEvent.objects.filter(action="pull_request.task_create", result="success").count() == 1
    assert demo_world.pr("api-server", 4).task_count == 2


def test_a_refused_task_keeps_the_text_and_says_why(demo_world, alice):
    demo_world.emulator.controls.set_fault(1, "500", path="/2.0/repositories/acme/api-server/pullrequests/4/tasks")

    response = alice.post(f"{PR}/tasks/new", {"idempotency_key": "k-new-2", "text": "Keep <this> text"}, **HX)

    demo_world.emulator.controls.set_fault(None)
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html and "did not add the task" in html
    assert 'value="Keep &lt;this&gt; text"' in html
    assert "k-new-2" not in _keys(html)  # a fresh key: the retry is a new attempt
    assert not ActionReceipt.objects.filter(key="k-new-2").exists()
    assert AuditEvent.objects.get(action="pull_request.task_create").result == "failure"
    blank = alice.post(f"{PR}/tasks/new", {"idempotency_key": "k-new-3", "text": ""}, **HX).content.decode()
    assert "The task was not added" in blank


def test_reports_region_shows_results_data_and_annotations(demo_world, bob):
    response = bob.get(f"{PR}/reports/", **HX)

    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="pr-reports"')
    assert html.index("Security scan") < html.index("Coverage")  # failed first
    assert ">FAILED</span>" in html and ">PASSED</span>" in html
    assert "87.5 %" in html and "48.2 s" in html and "2026-09-01" in html and ">yes<" in html
    assert '<a href="https://ci.acme.test/api-server/coverage" rel="noopener noreferrer">ci.acme.test</a>' in html
    assert f"{LOOKUP}:4" in html and "The request reaches the lookup without validation" in html
    demo_world.reset_counts()
    bob.get(f"{PR}/reports/", **HX)
    assert demo_world.counts()["total"] == 0  # cached by commit for the credential


def test_diff_shows_annotations_on_the_lines_they_name(demo_world, alice):
    html = alice.get(f"{PR}/diff", **HX).content.decode()
    rows = html.split("<tr")
    at = next(i for i, row in enumerate(rows) if 'class="annotated"' in row)
    assert 'data-side="new" data-line="4"' in rows[at - 1] and "add_customer_lookup_endpoint" in rows[at - 1]
    assert "without validation" in rows[at]
    assert html.count('class="annotated"') == 2


def test_reports_summary_for_the_readiness_panel(demo_world):
    pr = demo_world.pr("api-server", 4)
    summary = insights.reports_summary(demo_world.alice, pull_request=pr)
    assert summary is not None and (summary.passed, summary.failed, summary.pending) == (1, 1, 0)
    assert summary.state == "FAILED" and summary.total == 2
    empty = insights.reports_summary(demo_world.alice, pull_request=demo_world.pr("api-server", 3))
    assert empty is not None and empty.total == 0 and empty.state == ""


def test_tasks_of_a_hidden_repository_are_404_and_nothing_is_sent(demo_world, bob):
    infra = PullRequest.objects.filter(repository__slug="infra").first()
    assert infra is not None
    demo_world.reset_counts()
    base = f"/acme/infra/pull-requests/{infra.number}"
    assert bob.get(f"{base}/tasks/", **HX).status_code == 404
    assert bob.get(f"{base}/reports/", **HX).status_code == 404
    assert bob.post(f"{base}/tasks/1/resolve", {"idempotency_key": "k"}, **HX).status_code == 404
    assert bob.post(f"{base}/tasks/new", {"idempotency_key": "k2", "text": "x"}, **HX).status_code == 404
    assert demo_world.counts()["total"] == 0


def test_readiness_panel_shows_the_reports_line_once_the_reports_section_read_them(demo_world, alice):
    demo_world.reset_counts()
    before = alice.get(PR).content.decode()
    assert "Code Insights reports" not in before
    assert demo_world.counts()["total"] == 0  # the page itself sends nothing for the reports

    reports = alice.get(f"{PR}/reports/", **HX)
    panel = alice.get(PR, headers={"HX-Request": "true", "HX-Target": "pr-readiness"}).content.decode()

    assert "mirror-changed" in reports["HX-Trigger"]
    assert "Code Insights reports</a>: 1 failed, 0 pending, 1 passed" in panel
    assert 'href="#insights"' in panel and 'id="insights"' in reports.content.decode()
    assert "HX-Trigger" not in alice.get(f"{PR}/reports/", **HX)  # already known: no second refresh
