"""What the client sends: auth, headers, query parameters, bodies; and what it counts."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from bitbucket_sync.client import (
    AccessToken,
    ApiToken,
    AppPassword,
    BitbucketClient,
    BitbucketError,
    Conflict,
    MergePending,
    endpoint_family,
)

BASE = "https://api.example.test/2.0"
REPO = f"{BASE}/repositories/acme/web"
NOW = "2026-11-01T10:00:00.123456+00:00"


def _pr(pr_id: int = 1, **extra) -> dict:
    return {
        "type": "pullrequest",
        "id": pr_id,
        "title": "Add feature",
        "description": "Body",
        "state": "OPEN",
        "draft": False,
        "author": {"type": "user", "uuid": "{u-ada}", "account_id": "557058:ada", "display_name": "Ada"},
        "source": {
            "branch": {"name": "feature/x"},
            "commit": {"hash": "0123456789ab"},
            "repository": {"uuid": "{r}", "full_name": "acme/web", "name": "web"},
        },
        "destination": {
            "branch": {"name": "main"},
            "commit": {"hash": "ba9876543210"},
            "repository": {"uuid": "{r}", "full_name": "acme/web", "name": "web"},
        },
        "comment_count": 2,
        "task_count": 1,
        "close_source_branch": True,
        "merge_commit": None,
        "created_on": NOW,
        "updated_on": NOW,
        **extra,
    }


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


@responses.activate
@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (ApiToken("ada@example.test", "t0k"), "Basic " + base64.b64encode(b"ada@example.test:t0k").decode()),
        (AppPassword("ada", "pw"), "Basic " + base64.b64encode(b"ada:pw").decode()),
        (AccessToken("acc-tok"), "Bearer acc-tok"),
    ],
)
def test_credentials_become_the_right_authorization_header(auth, expected):
    responses.get(f"{BASE}/user", json={"uuid": "{u}", "display_name": "Ada", "type": "user"})

    BitbucketClient(auth, base_url=BASE).get_current_user()

    headers = responses.calls[0].request.headers
    assert headers["Authorization"] == expected
    assert headers["User-Agent"].startswith("bbdash/")


def test_every_call_has_a_timeout():
    class RecordingSession(requests.Session):
        def request(self, *args, **kwargs):
            self.seen_timeout = kwargs["timeout"]
            raise requests.ConnectTimeout("no")

    session = RecordingSession()
    client = BitbucketClient(AccessToken("x" * 12), base_url=BASE, session=session, timeout=(2, 9))
    with pytest.raises(BitbucketError):
        client.get_current_user()
    assert session.seen_timeout == (2, 9)


@responses.activate
def test_pull_request_listing_asks_for_all_states_reviewers_and_changes_since(client):
    item = _pr(
        reviewers=[{"type": "user", "uuid": "{u-bob}", "display_name": "Bob"}],
        participants=[
            {
                "type": "participant",
                "user": {"type": "user", "uuid": "{u-bob}", "display_name": "Bob"},
                "role": "REVIEWER",
                "approved": False,
                "state": "changes_requested",
                "participated_on": NOW,
            }
        ],
    )
    responses.get(f"{REPO}/pullrequests", json={"values": [item], "pagelen": 50})
    since = datetime(2026, 10, 1, 12, 0, 0, 987654, tzinfo=timezone(timedelta(hours=2)))

    (pr,) = client.iter_pull_requests("acme", "web", updated_after=since)

    q = _query(responses.calls[0])
    assert q["state"] == ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
    assert q["pagelen"] == ["50"]
    assert q["sort"] == ["-updated_on"]
    assert q["q"] == [
        'updated_on > 2026-10-01T10:00:00.987+00:00 AND state IN ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")'
    ]
    fields = q["fields"][0].split(",")
    assert {"values.id", "values.updated_on", "values.reviewers.uuid", "values.participants.state", "next"} <= set(
        fields
    )
    assert " " not in responses.calls[0].request.url
    assert pr.reviewers[0].display_name == "Bob"
    assert pr.participants[0].changes_requested and not pr.participants[0].approved
    assert pr.source.branch == "feature/x" and pr.source.commit == "0123456789ab"
    assert pr.updated_on.tzinfo is not None
    assert pr.comment_count == 2 and pr.close_source_branch is True


@responses.activate
def test_pull_request_listing_without_participants_leaves_them_unknown(client):
    responses.get(f"{REPO}/pullrequests", json={"values": [_pr()]})

    (pr,) = client.iter_pull_requests("acme", "web", with_participants=False, states=["OPEN"])

    q = _query(responses.calls[0])
    assert q["state"] == ["OPEN"] and q["q"] == ['state IN ("OPEN")']
    assert "values.reviewers.uuid" not in q["fields"][0]
    assert pr.reviewers is None and pr.participants is None  # "not fetched" is not "nobody"


@responses.activate
def test_repository_listing_uses_max_pagelen_fields_and_bbql_datetime(client):
    responses.get(f"{BASE}/repositories/acme", json={"values": []})

    list(client.iter_repositories("acme", updated_after=datetime(2026, 3, 1, tzinfo=UTC)))

    q = _query(responses.calls[0])
    assert q["pagelen"] == ["100"]
    assert q["q"] == ["updated_on > 2026-03-01T00:00:00.000+00:00"]
    assert "%2B00%3A00" in responses.calls[0].request.url  # '+' of the offset encoded, not read as a space
    assert {"values.uuid", "values.slug", "values.mainbranch.name", "values.project.key", "next"} <= set(
        q["fields"][0].split(",")
    )


@responses.activate
def test_status_reads_ask_only_for_the_stored_fields(client):
    responses.get(f"{REPO}/pullrequests/7/statuses", json={"values": []})
    responses.get(f"{REPO}/commit/0123456789ab/statuses", json={"values": []})

    list(client.iter_pull_request_statuses("acme", "web", 7))
    list(client.iter_commit_statuses("acme", "web", "0123456789ab", refname="feature/x"))

    q = _query(responses.calls[0])
    assert q["pagelen"] == ["100"]
    assert set(q["fields"][0].split(",")) == {
        *(f"values.{f}" for f in ("key", "state", "name", "description", "url", "refname", "commit.hash")),
        "values.created_on",
        "values.updated_on",
        "next",
        "size",
    }
    assert _query(responses.calls[1])["refname"] == ["feature/x"]


@responses.activate
def test_slugs_and_branch_names_are_escaped_as_one_segment(client):
    responses.get(
        f"{BASE}/repositories/%7Bws-uuid%7D/web/refs/branches/feature%2Fx",
        json={"name": "feature/x", "target": {"hash": "c" * 40, "date": NOW, "message": "m\n"}},
    )

    branch = client.get_branch("{ws-uuid}", "web", "feature/x")

    assert branch.name == "feature/x" and branch.target.hash == "c" * 40


@responses.activate
def test_commit_files_sends_files_deletions_parents_and_reads_location(client):
    new = "f" * 40
    responses.post(f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{new}"})

    result = client.commit_files(
        "acme",
        "web",
        branch="feature/x",
        message="Edit files",
        files={"docs/readme.md": "# Hello\n", "bin/tool": b"\x00\x01", "message": "a file called message"},
        delete=["old/gone.txt"],
        parents=["e" * 40],
        author="Ada <ada@example.test>",
    )

    assert result == new
    request = responses.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    body = request.body
    assert b'name="message"\r\n\r\nEdit files' in body
    assert b'name="branch"\r\n\r\nfeature/x' in body
    assert b'name="parents"\r\n\r\n' + b"e" * 40 in body
    assert b'name="files"\r\n\r\nold/gone.txt' in body
    assert b'name="author"\r\n\r\nAda <ada@example.test>' in body
    assert b'name="docs/readme.md"; filename="readme.md"' in body
    assert b"# Hello\n" in body and b"\x00\x01" in body
    assert b'name="/message"; filename="message"' in body  # leading slash: a file, not the commit message


@responses.activate
def test_commit_files_only_deleting_uses_a_form(client):
    responses.post(f"{REPO}/src", status=201, headers={"Location": f"{REPO}/commit/{'1' * 40}"})

    client.commit_files("acme", "web", branch="main", message="rm", delete=["a.txt", "b.txt"])

    body = parse_qs(responses.calls[0].request.body)
    assert body["files"] == ["a.txt", "b.txt"] and "parents" not in body


def test_commit_files_with_nothing_to_do_is_refused(client):
    with pytest.raises(ValueError, match="at least one"):
        client.commit_files("acme", "web", branch="main", message="nothing")


@responses.activate
def test_create_and_update_pull_request_bodies(client):
    responses.post(f"{REPO}/pullrequests", status=201, json=_pr(9))
    responses.get(f"{REPO}/pullrequests/9", json=_pr(9, reviewers=[{"uuid": "{u-bob}", "display_name": "Bob"}]))
    responses.put(f"{REPO}/pullrequests/9", json=_pr(9, title="Renamed"))

    client.create_pull_request(
        "acme", "web", title="Add feature", source_branch="feature/x", reviewers=["{u-bob}", "557058:cy"]
    )
    updated = client.update_pull_request("acme", "web", 9, title="Renamed")

    created = json.loads(responses.calls[0].request.body)
    assert created["source"] == {"branch": {"name": "feature/x"}}
    assert "destination" not in created  # Bitbucket picks the main branch
    assert created["reviewers"] == [{"uuid": "{u-bob}"}, {"account_id": "557058:cy"}]
    put = json.loads(responses.calls[2].request.body)
    # The full set is always sent, so Bitbucket never clears what was left out.
    assert put == {
        "title": "Renamed",
        "description": "Body",
        "reviewers": [{"uuid": "{u-bob}"}],
        "destination": {"branch": {"name": "main"}},
        "close_source_branch": True,
    }
    assert updated.title == "Renamed"


@responses.activate
def test_merge_200_returns_the_merged_pull_request(client):
    responses.post(f"{REPO}/pullrequests/1/merge", json=_pr(state="MERGED", merge_commit={"hash": "abcdefabcdef"}))

    pr = client.merge_pull_request("acme", "web", 1, strategy="squash", close_source_branch=True, message="Squash!")

    body = json.loads(responses.calls[0].request.body)
    assert body == {
        "type": "pullrequest_merge_parameters",
        "merge_strategy": "squash",
        "close_source_branch": True,
        "message": "Squash!",
    }
    assert pr.state == "MERGED" and pr.merge_commit == "abcdefabcdef"


@responses.activate
def test_merge_202_polls_task_status_until_success(client):
    task = f"{REPO}/pullrequests/1/merge/task-status/task-42"
    responses.post(f"{REPO}/pullrequests/1/merge", status=202, headers={"Location": task})
    pending = {"task_status": "PENDING", "links": {"self": {"href": task}}}
    responses.get(task, json=pending)
    responses.get(task, json=pending)
    responses.get(task, json={"task_status": "SUCCESS", "merge_result": _pr(state="MERGED")})
    slept = []

    pr = client.merge_pull_request("acme", "web", 1, strategy="merge_commit", asynchronous=True, poll=slept.append)

    assert pr.state == "MERGED"
    assert slept == [0.5, 1.0]
    assert _query(responses.calls[0]) == {"async": ["true"]}


@responses.activate
def test_merge_202_without_poll_raises_merge_pending_with_the_task_url(client):
    task = f"{REPO}/pullrequests/1/merge/task-status/t"
    responses.post(f"{REPO}/pullrequests/1/merge", status=202, headers={"Location": task})
    responses.get(task, json={"task_status": "PENDING"})

    with pytest.raises(MergePending) as info:
        client.merge_pull_request("acme", "web", 1, strategy="fast_forward")
    assert info.value.task_url == task
    assert len(responses.calls) == 2


@responses.activate
def test_merge_wait_is_bounded(client):
    task = f"{REPO}/pullrequests/1/merge/task-status/t"
    responses.get(task, json={"task_status": "PENDING"})
    slept = []

    with pytest.raises(MergePending):
        client.wait_for_merge(task, wait_seconds=4, poll=slept.append)
    assert sum(slept) <= 4 and slept == [0.5, 1.0, 2.0]


@responses.activate
def test_merge_task_failure_is_raised(client):
    task = f"{REPO}/pullrequests/1/merge/task-status/t"
    responses.get(task, status=409, json={"type": "error", "error": {"message": "refs changed"}})

    with pytest.raises(Conflict, match="refs changed"):
        client.wait_for_merge(task, poll=lambda s: None)


def test_merge_strategy_is_checked(client):
    with pytest.raises(ValueError, match="rebase_merge"):
        client.merge_pull_request("acme", "web", 1, strategy="octopus")


@responses.activate
def test_diff_spec_and_branch_names_with_slashes_are_sent_as_one_segment():
    client = BitbucketClient(AccessToken("t"), base_url=BASE)
    responses.get(f"{REPO}/diff/feature%2Fx..main", body="diff --git a/x b/x\n", content_type="text/plain")
    diff = client.get_diff("acme", "web", "feature/x..main")
    assert diff.startswith("diff --git") and diff.truncated is False


@responses.activate
def test_pull_request_diff_follows_the_redirect_and_counts_both_hops():
    records = []
    client = BitbucketClient(AccessToken("access-token-secret-1"), base_url=BASE, on_request=records.append)
    target = f"{REPO}/diff/feature%2Fx..main"
    responses.get(f"{REPO}/pullrequests/3/diff", status=302, headers={"Location": target})
    responses.get(target, body="diff --git a/x b/x\n", content_type="text/plain")

    assert client.get_pull_request_diff("acme", "web", 3).startswith("diff --git")
    assert [(r.status, r.path) for r in records] == [
        (302, "/repositories/acme/web/pullrequests/3/diff"),
        (200, "/repositories/acme/web/diff/feature%2Fx..main"),
    ]
    assert client.request_count == 2
    assert responses.calls[1].request.headers["Authorization"] == "Bearer access-token-secret-1"


@responses.activate
def test_get_file_returns_bytes_and_headers(client):
    responses.get(
        f"{REPO}/src/main/docs/a%20b.md",
        body=b"\xef\xbb\xbfhello",
        content_type="text/markdown",
        headers={"ETag": '"e1"'},
    )

    f = client.get_file("acme", "web", "main", "docs/a b.md")

    assert f.content == b"\xef\xbb\xbfhello" and f.content_type == "text/markdown" and f.etag == '"e1"'
    assert f.size == 8 and f.path == "docs/a b.md"


@responses.activate
def test_directory_listing_uses_a_trailing_slash(client):
    responses.get(
        f"{REPO}/src/{'a' * 40}/",
        json={
            "values": [
                {"type": "commit_directory", "path": "docs", "commit": {"hash": "a" * 40}},
                {"type": "commit_file", "path": "README.md", "size": 12, "attributes": ["binary"]},
            ]
        },
    )
    responses.get(f"{REPO}/src/{'a' * 40}/docs/", json={"values": []})

    root = list(client.iter_directory("acme", "web", "a" * 40))
    assert list(client.iter_directory("acme", "web", "a" * 40, "/docs")) == []

    assert root[0].is_dir and root[0].name == "docs"
    assert not root[1].is_dir and root[1].size == 12 and root[1].attributes == ("binary",)


@responses.activate
def test_accounting_records_family_status_time_and_rate_limit_headers():
    records = []
    client = BitbucketClient(AccessToken("access-token-secret-1"), base_url=BASE, on_request=records.append)
    responses.get(
        f"{REPO}/watchers",
        json={"values": [{"uuid": "{u}", "display_name": "Ada", "type": "user"}]},
        headers={
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Resource": "api",
            "X-RateLimit-NearLimit": "false",
            "X-Request-Id": "rid-1",
        },
    )
    responses.get(f"{BASE}/workspaces/acme/hooks", json={"values": []})

    list(client.iter_watchers("acme", "web"))
    list(client.iter_webhooks("acme"))

    first, second = records
    assert (first.method, first.family, first.resource, first.status) == ("GET", "repositories", "watchers", 200)
    assert first.path == "/repositories/acme/web/watchers"
    assert first.rate_limit == {"limit": "1000", "resource": "api", "nearlimit": "false"}
    assert first.request_id == "rid-1"
    assert first.elapsed_ms >= 0 and first.at.tzinfo is not None
    assert second.family == "hooks" and second.rate_limit is None
    assert client.request_count == 2


@responses.activate
def test_a_failing_hook_does_not_break_the_call(caplog):
    def broken(record):
        raise RuntimeError("database is down")

    client = BitbucketClient(AccessToken("access-token-secret-1"), base_url=BASE, on_request=broken)
    responses.get(f"{BASE}/user", json={"uuid": "{u}", "display_name": "Ada"})

    assert client.get_current_user().uuid == "{u}"
    assert "hook failed" in caplog.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/repositories/acme/web/pullrequests/1", ("repositories", "pullrequests")),
        ("/repositories/acme/web", ("repositories", "repository")),
        ("/repositories/acme", ("repositories", "repositories")),
        ("/repositories/acme/web/hooks", ("hooks", "hooks")),
        ("/workspaces/acme/hooks/{x}", ("hooks", "hooks")),
        ("/workspaces/acme/members", ("workspaces", "members")),
        ("/workspaces/acme", ("workspaces", "workspace")),
        ("/user/workspaces", ("user", "workspaces")),
        ("/user", ("user", "user")),
        ("/hook_events", ("other", "hook_events")),
    ],
)
def test_endpoint_family(path, expected):
    assert endpoint_family(path) == expected


@responses.activate
def test_workspace_and_permission_reads(client):
    responses.get(
        f"{BASE}/user/workspaces",
        json={
            "values": [
                {"type": "workspace_access", "administrator": True, "workspace": {"uuid": "{w}", "slug": "acme"}}
            ]
        },
    )
    responses.get(
        f"{BASE}/user/workspaces/acme/permissions/repositories",
        json={
            "values": [
                {
                    "type": "repository_permission",
                    "permission": "write",
                    "repository": {"uuid": "{r}", "full_name": "acme/web", "name": "web"},
                }
            ]
        },
    )

    (access,) = client.iter_user_workspaces()
    (perm,) = client.iter_user_repository_permissions("acme")

    assert access.administrator and access.workspace.slug == "acme" and access.workspace.name is None
    assert perm.permission == "write" and perm.repository.full_name == "acme/web"


def test_every_method_names_its_endpoint_and_is_listed_in_the_package_docstring():
    import inspect
    import re

    import bitbucket_sync.client as package

    methods = [
        name
        for name, member in inspect.getmembers(BitbucketClient, inspect.isfunction)
        if not name.startswith("_") and name != "close"
    ]
    assert len(methods) > 40
    for name in methods:
        first_line = inspect.getdoc(getattr(BitbucketClient, name)).splitlines()[0]
        assert re.match(r"^(GET|POST|PUT|DELETE) /", first_line), name
        assert re.search(rf"\b{name}\b", package.__doc__), name
