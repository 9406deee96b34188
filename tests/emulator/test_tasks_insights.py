"""Pull request tasks and Code Insights reports: the rules of reference sections 20 and 23, over HTTP."""

from __future__ import annotations

import requests

from bitbucket_emulator import Emulator

from .helpers import open_pr, session

R = "/repositories/acme/api-server"


def _tip(emu: Emulator, pr: int) -> str:
    with emu.world.lock:
        return emu.world.repository("acme", "api-server").pullrequests[pr].source_hash


def test_task_count_is_open_tasks_in_lists_and_detail(emulator: Emulator):
    s = session(emulator, "bob")
    base = emulator.api_url + R
    pr = open_pr(emulator, "api-server", "tasks/count")
    first = s.post(f"{base}/pullrequests/{pr}/tasks", json={"content": {"raw": "One"}})
    s.post(f"{base}/pullrequests/{pr}/tasks", json={"content": {"raw": "Two"}})
    assert first.status_code == 201 and first.headers["Location"] == first.json()["links"]["self"]["href"]
    updated_on = s.get(f"{base}/pullrequests/{pr}").json()["updated_on"]

    s.put(first.headers["Location"], json={"state": "RESOLVED"})

    detail = s.get(f"{base}/pullrequests/{pr}").json()
    listed = next(p for p in s.get(f"{base}/pullrequests?pagelen=50").json()["values"] if p["id"] == pr)
    assert detail["task_count"] == listed["task_count"] == 1
    assert detail["updated_on"] == updated_on  # a task click is not an edit of the pull request


def test_resolve_records_who_and_when_and_reopen_clears_them(emulator: Emulator):
    s = session(emulator, "carol")
    url = emulator.api_url + R + "/pullrequests/4/tasks"
    task = s.get(url + '?q=state = "UNRESOLVED"').json()["values"][0]
    assert task["resolved_on"] is None and task["resolved_by"] is None

    resolved = s.put(f"{url}/{task['id']}", json={"state": "RESOLVED"}).json()
    assert resolved["state"] == "RESOLVED" and resolved["resolved_by"]["uuid"] == emulator.account("carol")["uuid"]
    assert resolved["resolved_on"] == resolved["updated_on"]
    reopened = s.put(f"{url}/{task['id']}", json={"state": "UNRESOLVED", "content": {"raw": "Reworded"}}).json()
    assert reopened["state"] == "UNRESOLVED" and reopened["resolved_on"] is None and reopened["resolved_by"] is None
    assert reopened["content"]["raw"] == "Reworded"
    assert s.put(f"{url}/{task['id']}", json={"content": {"raw": ""}}).status_code == 400


def test_task_list_sorts_pages_and_keeps_the_comment_anchor(emulator: Emulator):
    s = session(emulator, "alice")
    url = emulator.api_url + R + "/pullrequests/4/tasks"
    tasks = s.get(url).json()
    assert [t["content"]["raw"] for t in tasks["values"]] == [
        "Add a test for an unknown customer",
        "Document how long lookups stay cached",
    ]
    anchored = tasks["values"][1]
    assert anchored["comment"]["id"] and anchored["comment"]["links"]["html"]["href"].endswith(
        f"#comment-{anchored['comment']['id']}"
    )
    assert s.get(url + "?sort=-created_on&pagelen=1").json()["next"]
    assert s.get(url + "?pagelen=101").status_code == 400
    assert s.post(url, json={"content": {"raw": "x"}, "comment": {"id": 1}}).status_code == 400  # no such comment


def test_task_writes_need_only_the_read_scope(emulator: Emulator):
    """A token with `pullrequest` alone (no `pullrequest:write`) creates, resolves and deletes tasks."""
    s = session(emulator, "token:docs-readonly")
    url = emulator.api_url + "/repositories/acme/docs/pullrequests/2/tasks"
    created = s.post(url, json={"content": {"raw": "Read scope is enough"}})
    assert created.status_code == 201
    assert s.put(created.headers["Location"], json={"state": "RESOLVED"}).status_code == 200
    assert s.delete(created.headers["Location"]).status_code == 204
    assert s.get(created.headers["Location"]).status_code == 404


def test_report_put_upserts_by_external_id_or_uuid(emulator: Emulator):
    s = session(emulator, "alice")
    tip = _tip(emulator, 3)
    url = f"{emulator.api_url}{R}/commit/{tip}/reports"
    body = {"title": "Tests", "report_type": "TEST", "result": "PENDING"}

    first = s.put(url + "/ci-tests", json=body)
    again = s.put(url + "/ci-tests", json={**body, "result": "PASSED"})
    by_uuid = s.put(f"{url}/{first.json()['uuid']}", json={**body, "result": "FAILED"})

    assert first.status_code == again.status_code == by_uuid.status_code == 200  # never 201
    assert first.json()["uuid"] == again.json()["uuid"] == by_uuid.json()["uuid"]
    listed = s.get(url).json()["values"]
    assert [(r["external_id"], r["result"]) for r in listed] == [("ci-tests", "FAILED")]
    short = s.get(f"{emulator.api_url}{R}/commit/{tip[:12]}/reports/ci-tests").json()
    assert short["uuid"] == first.json()["uuid"]


def test_report_rejects_malformed_bodies(emulator: Emulator):
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/commit/{_tip(emulator, 3)}/reports/bad"
    ok = {"title": "T", "report_type": "BUG"}
    for body in (
        {"report_type": "BUG"},
        {**ok, "report_type": "STYLE"},
        {**ok, "result": "MAYBE"},
        {**ok, "link": "javascript:alert(1)"},
        {**ok, "data": [{"title": "p", "type": "PERCENTAGE", "value": 120}]},
        {**ok, "data": [{"title": "l", "type": "LINK", "value": "https://x.test"}]},
        {**ok, "data": [{"title": str(i), "value": i} for i in range(11)]},
    ):
        assert s.put(url, json=body).status_code == 400, body
    assert s.put(url, data="[1, 2]", headers={"Content-Type": "application/json"}).status_code == 400
    assert s.get(url).status_code == 404
    unknown = f"{emulator.api_url}{R}/commit/{'0' * 40}/reports/bad"
    assert s.put(unknown, json=ok).status_code == 404


def test_annotations_bulk_limits_defaults_and_updates(emulator: Emulator):
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/commit/{_tip(emulator, 3)}/reports/lint"
    s.put(url, json={"title": "Lint", "report_type": "BUG"})
    one = {"annotation_type": "CODE_SMELL", "summary": "Long line", "path": "src/api_server/settings.py"}

    stored = s.post(url + "/annotations", json=[{**one, "external_id": "l-1"}])
    assert stored.status_code == 200 and isinstance(stored.json(), list)
    assert stored.json()[0]["line"] == 0  # omitted: the top of the file
    assert s.post(url + "/annotations", json=[]).status_code == 400
    assert s.post(url + "/annotations", json=[one] * 101).status_code == 400
    assert s.post(url + "/annotations", json=[{"summary": "no type"}]).status_code == 400
    s.post(url + "/annotations", json=[{**one, "external_id": "l-1", "line": 4, "summary": "Longer"}])
    listed = s.get(url + "/annotations").json()
    assert [(a["external_id"], a["line"], a["summary"]) for a in listed["values"]] == [("l-1", 4, "Longer")]

    for size in [100] * 9 + [99]:
        assert s.post(url + "/annotations", json=[one] * size).status_code == 200
    assert s.get(url + "/annotations").json()["size"] == 1000
    assert s.post(url + "/annotations", json=[one]).status_code == 400  # 1000 per report
    assert s.put(url + "/annotations/l-1", json={**one, "line": 7}).json()["line"] == 7

    assert s.delete(url + "/annotations/l-1").status_code == 204
    assert s.get(url + "/annotations/l-1").status_code == 404
    assert s.delete(url).status_code == 204
    assert s.get(url + "/annotations").status_code == 404  # the report went, and its annotations with it


def test_report_writes_need_write_permission_reads_need_read(emulator: Emulator):
    tip = _tip(emulator, 1)
    body = {"title": "T", "report_type": "TEST"}
    docs_tip = emulator.world.repository("acme", "docs").branches["main"]
    # bob reads docs only: 403; a CI token with write access to its project writes; reading needs read only.
    bob = session(emulator, "bob")
    assert (
        bob.put(f"{emulator.api_url}/repositories/acme/docs/commit/{docs_tip}/reports/x", json=body).status_code == 403
    )
    token = session(emulator, "token:web-ci")
    web_tip = emulator.world.repository("acme", "web-frontend").branches["main"]
    assert token.put(f"{emulator.api_url}/repositories/acme/web-frontend/commit/{web_tip}/reports/x", json=body).ok
    assert bob.get(f"{emulator.api_url}{R}/commit/{tip}/reports").status_code == 200


def test_demo_seed_reports_and_annotations_on_a_diff_line(emulator: Emulator):
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/commit/{_tip(emulator, 4)}/reports"
    reports = {r["external_id"]: r for r in s.get(url).json()["values"]}
    assert {k: r["result"] for k, r in reports.items()} == {"acme-coverage": "PASSED", "acme-security": "FAILED"}
    annotations = s.get(url + "/acme-security/annotations").json()["values"]
    assert {(a["path"], a["line"]) for a in annotations} == {
        ("src/api_server/add_customer_lookup_endpoint.py", 4),
        ("src/api_server/add_customer_lookup_endpoint.py", 6),
    }
    diff = s.get(f"{emulator.api_url}{R}/pullrequests/4/diff").text
    assert "+def add_customer_lookup_endpoint(request):" in diff  # line 4 of the new file is in the diff


def test_control_posts_a_report_on_the_pull_requests_source_tip(emulator: Emulator):
    annotations = [{"annotation_type": "BUG", "summary": f"n{i}", "path": "a.py", "line": i + 1} for i in range(150)]
    answer = requests.post(
        emulator.base_url + "/_emulator/insights/report",
        json={
            "workspace": "acme",
            "repo_slug": "api-server",
            "pr_id": 3,
            "report": {"external_id": "ctl", "title": "Ctl", "report_type": "BUG", "result": "FAILED"},
            "annotations": annotations,
        },
        timeout=10,
    ).json()
    assert answer["commit"] == _tip(emulator, 3) and answer["annotations"] == 150
    s = session(emulator, "alice")
    url = f"{emulator.api_url}{R}/commit/{answer['commit']}/reports/ctl/annotations?pagelen=100"
    assert s.get(url).json()["size"] == 150
    bad = requests.post(emulator.base_url + "/_emulator/insights/report", json={"workspace": "acme"}, timeout=10)
    assert bad.status_code == 400


def test_state_file_keeps_tasks_and_reports(emulator_factory, tmp_path):
    state = str(tmp_path / "state.json")
    first = emulator_factory(state_file=state)
    s = session(first, "alice")
    s.post(first.api_url + R + "/pullrequests/3/tasks", json={"content": {"raw": "Kept"}})
    first.stop()

    second = emulator_factory(state_file=state)
    s = session(second, "alice")
    tasks = s.get(second.api_url + R + "/pullrequests/3/tasks").json()["values"]
    assert [t["content"]["raw"] for t in tasks][-1] == "Kept"
    url = f"{second.api_url}{R}/commit/{_tip(second, 4)}/reports/acme-security/annotations"
    assert s.get(url).json()["size"] == 2
    created = s.post(second.api_url + R + "/pullrequests/3/tasks", json={"content": {"raw": "Next"}}).json()
    assert created["id"] not in [t["id"] for t in tasks]
