"""Task and Code Insights calls: the paths, bodies and query they send, and strict parsing of what comes back."""

import pytest
import responses
from responses import matchers

from bitbucket_sync.client import ApiToken, BitbucketClient, BitbucketSchemaError

BASE = "https://api.example.test/2.0"
PR = f"{BASE}/repositories/acme/web/pullrequests/7"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TASK = {"id": 31, "state": "RESOLVED", "content": {"raw": "Fix"}, "created_on": "2026-09-18T06:45:17.353327+00:00"}


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


@responses.activate
def test_tasks_are_listed_with_fields_and_pagelen_100(client):
    responses.get(
        f"{PR}/tasks",
        match=[matchers.query_param_matcher({"pagelen": "100"}, strict_match=False)],
        json={"values": [TASK, {**TASK, "id": 32, "state": "UNRESOLVED", "comment": {"id": 9}}]},
    )
    tasks = list(client.iter_pull_request_tasks("acme", "web", 7))
    assert [(t.id, t.resolved, t.comment_id) for t in tasks] == [(31, True, None), (32, False, 9)]
    assert "values.content.raw" in responses.calls[0].request.params["fields"]


@responses.activate
def test_resolve_reopen_and_create_send_bitbucket_bodies(client):
    responses.put(f"{PR}/tasks/31", match=[matchers.json_params_matcher({"state": "RESOLVED"})], json=TASK)
    responses.put(
        f"{PR}/tasks/31",
        match=[matchers.json_params_matcher({"state": "UNRESOLVED"})],
        json={**TASK, "state": "UNRESOLVED"},
    )
    responses.post(
        f"{PR}/tasks",
        match=[matchers.json_params_matcher({"content": {"raw": "New"}, "comment": {"id": 5}})],
        json={**TASK, "state": "UNRESOLVED"},
        status=201,
    )
    assert client.update_pull_request_task("acme", "web", 7, 31, resolved=True).resolved
    assert not client.update_pull_request_task("acme", "web", 7, 31, resolved=False).resolved
    assert client.create_pull_request_task("acme", "web", 7, content="New", comment_id=5).id == 31


@responses.activate
def test_reports_and_annotations_of_a_commit(client):
    reports = f"{BASE}/repositories/acme/web/commit/{COMMIT}/reports"
    responses.get(
        reports,
        json={
            "values": [
                {
                    "uuid": "{r1}",
                    "title": "Cov",
                    "report_type": "COVERAGE",
                    "result": "PASSED",
                    "data": [{"title": "Link", "type": "LINK", "value": {"text": "t", "href": "https://x.test"}}],
                }
            ]
        },
    )
    responses.get(f"{reports}/%7Br1%7D/annotations", json={"values": [{"uuid": "{a}", "summary": "S", "line": 3}]})

    [report] = client.iter_commit_reports("acme", "web", COMMIT)
    [annotation] = client.iter_report_annotations("acme", "web", COMMIT, report.uuid)

    assert (report.result, report.data[0].link_href) == ("PASSED", "https://x.test")
    assert (annotation.summary, annotation.line) == ("S", 3)


@responses.activate
def test_a_report_without_uuid_is_a_schema_error(client):
    responses.get(f"{BASE}/repositories/acme/web/commit/{COMMIT}/reports", json={"values": [{"title": "No id"}]})
    with pytest.raises(BitbucketSchemaError):
        list(client.iter_commit_reports("acme", "web", COMMIT))
