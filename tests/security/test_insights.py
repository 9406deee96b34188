"""Tasks and Code Insights reports carry text and links written by anyone who can reach the API (a CI tool, a
reviewer): on the page every one of them is inert text, a link only when it is absolute http(s). And their caches
belong to the credential that read them, as every live read's does."""

import pytest

from bitbucket_emulator.world import insights as world_insights
from bitbucket_emulator.world import tasks as world_tasks

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
PR = "/acme/api-server/pull-requests/4"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
LOOKUP = "src/api_server/add_customer_lookup_endpoint.py"


@pytest.fixture
def alice(demo_world):
    return demo_world.signed_in("alice")


@pytest.fixture
def hostile_insights(demo_world):
    """PR 4's task and reports written with markup and script links, straight into the world (the emulator's own
    checks would refuse some of these links; Bitbucket's may not)."""
    world = demo_world.emulator.world
    with world.lock:
        repo = world.repository("acme", "api-server")
        pr = repo.pullrequests[4]
        world_tasks.add(world, repo, pr, world.user("carol").uuid, XSS)
        report = world_insights.find_report(world, repo, pr.source_hash, "acme-security")
        report.fields = {
            **report.fields,
            "title": XSS,
            "details": XSS,
            "reporter": XSS,
            "link": "javascript:alert(1)",
            "data": [
                {"title": XSS, "type": "TEXT", "value": XSS},
                {"title": "Evil link", "type": "LINK", "value": {"text": XSS, "href": "javascript:alert(2)"}},
            ],
        }
        for a in report.annotations:
            a.fields = {**a.fields, "summary": XSS, "details": XSS, "link": "data:text/html,<b>x</b>", "path": LOOKUP}
    return demo_world


def _assert_inert(html: str) -> None:
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html and "data:text/html" not in html


def test_task_text_is_escaped(alice, hostile_insights):
    html = alice.get(f"{PR}/tasks/", **HX).content.decode()
    _assert_inert(html)


def test_report_and_annotation_text_and_links_are_inert(alice, hostile_insights):
    html = alice.get(f"{PR}/reports/", **HX).content.decode()
    _assert_inert(html)
    assert "Evil link" in html  # the field is shown, as text


def test_annotations_on_the_diff_are_escaped(alice, hostile_insights):
    html = alice.get(f"{PR}/diff", **HX).content.decode()
    assert 'class="annotated"' in html
    _assert_inert(html)


def test_task_and_report_caches_are_not_served_to_a_credential_that_cannot_read_them(demo_world):
    alice, bob = demo_world.signed_in("alice"), demo_world.signed_in("bob")
    assert "Security scan" in alice.get(f"{PR}/reports/", **HX).content.decode()
    assert "unknown customer" in alice.get(f"{PR}/tasks/", **HX).content.decode()
    demo_world.emulator.world.revoke("acme", "api-server", "bob")  # the mirror still shows bob the repository

    reports = bob.get(f"{PR}/reports/", **HX)
    tasks = bob.get(f"{PR}/tasks/", **HX)

    assert "Security scan" not in reports.content.decode() and reports.context["reports_error"]
    assert "unknown customer" not in tasks.content.decode() and tasks.context["tasks_error"]


def test_a_task_id_from_another_pull_request_is_refused_by_bitbucket(demo_world, alice):
    """The task id in the URL is sent under this pull request's path only: another PR's task is not reachable."""
    world = demo_world.emulator.world
    with world.lock:
        other = world.repository("acme", "api-server").pullrequests[3].tasks[0]
    response = alice.post(f"{PR}/tasks/{other.id}/resolve", {"idempotency_key": "k-x"}, **HX)
    assert "could not find" in response.content.decode()
    assert other.state == "UNRESOLVED"


def test_a_task_state_verb_outside_the_url_patterns_is_404(demo_world, alice):
    assert alice.post(f"{PR}/tasks/1/delete", {"idempotency_key": "k"}, **HX).status_code in (404, 405)
