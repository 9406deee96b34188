"""The client's task and Code Insights calls against the emulator over HTTP, and their records."""

import pytest

from bitbucket_sync.client import BadRequest, BitbucketClient, UnsafePath, records
from bitbucket_sync.client.auth import ApiToken


def _client(emulator, username: str) -> BitbucketClient:
    account = emulator.account(username)
    return BitbucketClient(ApiToken(account["email"], account["api_token"]), base_url=emulator.api_url)


def _tip(emulator, number: int) -> str:
    with emulator.world.lock:
        return emulator.world.repository("acme", "api-server").pullrequests[number].source_hash


def test_iter_pull_request_tasks_reads_open_and_resolved(emulator):
    tasks = list(_client(emulator, "bob").iter_pull_request_tasks("acme", "api-server", 4))

    assert [(t.content, t.state, t.resolved) for t in tasks] == [
        ("Add a test for an unknown customer", "UNRESOLVED", False),
        ("Document how long lookups stay cached", "RESOLVED", True),
    ]
    assert tasks[0].creator and tasks[0].creator.display_name == "Alice Adams"
    assert tasks[1].resolved_by and tasks[1].resolved_by.nickname == "dave" and tasks[1].resolved_on
    assert tasks[1].comment_id is not None and tasks[0].comment_id is None


def test_create_resolve_and_reopen_a_task(emulator):
    client = _client(emulator, "carol")
    created = client.create_pull_request_task("acme", "api-server", 5, content="Move the limit to settings")
    assert isinstance(created, records.Task) and created.state == "UNRESOLVED"

    resolved = client.update_pull_request_task("acme", "api-server", 5, created.id, resolved=True)
    again = client.update_pull_request_task("acme", "api-server", 5, created.id, resolved=True)
    reopened = client.update_pull_request_task("acme", "api-server", 5, created.id, resolved=False)

    assert resolved.resolved and again.resolved and again.resolved_on == resolved.resolved_on  # a repeat is harmless
    assert not reopened.resolved and reopened.resolved_by is None
    assert client.get_pull_request("acme", "api-server", 5).task_count == 1
    with pytest.raises(BadRequest):
        client.create_pull_request_task("acme", "api-server", 5, content="   ")


def test_reports_and_annotations_of_a_commit(emulator):
    client = _client(emulator, "bob")
    tip = _tip(emulator, 4)

    reports = {r.external_id: r for r in client.iter_commit_reports("acme", "api-server", tip)}
    coverage, security = reports["acme-coverage"], reports["acme-security"]
    annotations = list(client.iter_report_annotations("acme", "api-server", tip, security.uuid))

    assert (coverage.report_type, coverage.result, security.result) == ("COVERAGE", "PASSED", "FAILED")
    by_title = {d.title: d for d in coverage.data}
    assert by_title["Line coverage"].type == "PERCENTAGE" and by_title["Line coverage"].value == 87.5
    assert by_title["Full report"].link_href == "https://ci.acme.test/api-server/coverage"
    assert [(a.path, a.line, a.severity, a.annotation_type) for a in annotations] == [
        ("src/api_server/add_customer_lookup_endpoint.py", 4, "HIGH", "VULNERABILITY"),
        ("src/api_server/add_customer_lookup_endpoint.py", 6, "LOW", "CODE_SMELL"),
    ]
    assert list(client.iter_commit_reports("acme", "api-server", _tip(emulator, 3))) == []


def test_report_ids_and_commits_cannot_step_out_of_the_repository(emulator):
    client = _client(emulator, "bob")
    with pytest.raises(UnsafePath):
        list(client.iter_report_annotations("acme", "api-server", "..", "x"))
    with pytest.raises(UnsafePath):
        list(client.iter_report_annotations("acme", "api-server", _tip(emulator, 4), ".."))


def test_report_data_without_a_type_is_typed_from_its_value():
    report = records.Report.from_json(
        {
            "uuid": "{r}",
            "title": "T",
            "data": [{"title": "ok", "value": True}, {"title": "n", "value": 3}, {"title": "t", "value": "x"}],
        },
        endpoint="test",
    )
    assert [d.type for d in report.data] == ["BOOLEAN", "NUMBER", "TEXT"]
    annotation = records.Annotation.from_json({"uuid": "{a}", "summary": "s"}, endpoint="test")
    assert annotation.line == 0 and annotation.path is None
