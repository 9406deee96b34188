"""What the Data Center client sends (base URL with context path, auth, query parameters) and what it counts."""

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bitbucket_sync.client import (
    AccessToken,
    AuthError,
    BasicAuth,
    BitbucketClient,
    DataCenterClient,
    RequestRecord,
)
from bitbucket_sync.client.datacenter import server_root
from bitbucket_sync.client.datacenter.http import endpoint_resource
from bitbucket_sync.credentials import clients
from tests.fixtures import datacenter as dc

REPO = f"{dc.API}/projects/PRJ/repos/web"


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@responses.activate
@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        (AccessToken("http-access-token"), "Bearer http-access-token"),
        (BasicAuth("jcitizen", "pw"), "Basic " + base64.b64encode(b"jcitizen:pw").decode()),
    ],
)
def test_bearer_and_basic_credentials_become_the_authorization_header(auth, expected):
    responses.get(f"{dc.API}/application-properties", json={"version": "9.4.0"}, headers={"X-AUSERNAME": "jcitizen"})
    responses.get(f"{dc.API}/users/jcitizen", json=dc.user())

    DataCenterClient(auth, base_url=dc.SERVER).get_current_user()

    assert all(call.request.headers["Authorization"] == expected for call in responses.calls)
    assert responses.calls[0].request.headers["User-Agent"].startswith("bbdash/")


@pytest.mark.parametrize(
    "configured",
    [dc.SERVER, dc.SERVER + "/", dc.SERVER + "/rest/api/1.0", dc.SERVER + "/rest/api/latest/", dc.SERVER + "/rest"],
)
def test_the_base_url_is_the_server_root_with_its_context_path(configured):
    assert server_root(configured) == dc.SERVER
    assert DataCenterClient(AccessToken("t"), base_url=configured).base_url == dc.SERVER


@responses.activate
def test_the_current_user_is_read_from_the_x_ausername_header():
    responses.get(
        f"{dc.API}/application-properties",
        json={"version": "9.4.0", "buildNumber": "9004000", "displayName": "Bitbucket"},
        headers={"X-AUSERNAME": "JCitizen", "X-AUSERID": "101"},
    )
    responses.get(f"{dc.API}/users/jcitizen", json=dc.user("JCitizen"))

    me = DataCenterClient(AccessToken("t"), base_url=dc.SERVER).get_current_user()

    assert (me.uuid, me.account_id, me.nickname, me.display_name) == (
        f"{{user-101@{dc.TAG}}}",
        "JCitizen",
        "jcitizen",
        "Jane Citizen",
    )
    assert me.html_url == f"{dc.SERVER}/users/jcitizen"


@responses.activate
@pytest.mark.parametrize("headers", [{}, {"X-AUSERNAME": "anonymous"}])
def test_an_answer_without_a_user_means_the_credential_was_not_recognised(headers):
    responses.get(f"{dc.API}/application-properties", json={"version": "9.4.0"}, headers=headers)

    with pytest.raises(AuthError):
        DataCenterClient(AccessToken("t"), base_url=dc.SERVER).get_current_user()
    assert len(responses.calls) == 1


@responses.activate
def test_every_request_is_counted_in_the_one_budget_family_with_its_resource():
    seen: list[RequestRecord] = []
    client = DataCenterClient(AccessToken("t"), base_url=dc.SERVER, on_request=seen.append)
    responses.get(REPO, json=dc.repository(), headers={"X-AREQUESTID": "@abc"})
    responses.get(f"{REPO}/default-branch", json={"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"})
    responses.get(f"{REPO}/pull-requests/3/activities", status=401, json=dc.errors("No", None))

    assert client.get_repository("PRJ", "web").mainbranch == "main"
    with pytest.raises(AuthError):
        list(client.iter_pull_request_activity("PRJ", "web", 3))

    assert [(r.family, r.resource, r.status) for r in seen] == [
        ("repositories", "repos", 200),
        ("repositories", "default-branch", 200),
        ("repositories", "activities", 401),
    ]
    assert seen[0].path == "/rest/api/1.0/projects/PRJ/repos/web" and seen[0].request_id == "@abc"
    assert client.request_count == 3


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/rest/api/1.0/projects", "projects"),
        ("/rest/api/1.0/projects/PRJ", "projects"),
        ("/rest/api/1.0/projects/PRJ/permissions/users", "permissions"),
        ("/rest/api/1.0/projects/PRJ/repos/web/pull-requests/7", "pull-requests"),
        ("/rest/api/1.0/projects/PRJ/repos/web/pull-requests/7.diff", "diff"),
        ("/rest/api/1.0/projects/PRJ/repos/web/raw/src/commits/x", "raw"),
        ("/rest/api/1.0/application-properties", "application-properties"),
        ("/rest/build-status/1.0/commits/abc", "build-status"),
    ],
)
def test_endpoint_resources(path, resource):
    assert endpoint_resource(path) == resource


@responses.activate
def test_pull_request_listing_asks_the_data_center_way_and_filters_what_it_cannot_ask():
    old = dc.pull_request(1, state="MERGED", updated_ms=1_500_000_000_000)
    new = dc.pull_request(2, updated_ms=1_700_000_000_000)
    responses.get(f"{REPO}/pull-requests", json=dc.page([new, old], limit=100))
    client = DataCenterClient(AccessToken("t"), base_url=dc.SERVER)

    recent = list(client.iter_pull_requests("PRJ", "web", updated_after=datetime(2020, 1, 1, tzinfo=UTC)))
    only_open = list(client.iter_pull_requests("PRJ", "web", states=("OPEN",)))
    open_and_merged = list(client.iter_pull_requests("PRJ", "web", states=("OPEN", "MERGED", "SUPERSEDED")))

    assert [pr.id for pr in recent] == [2]
    q = _query(responses.calls[0])
    assert (q["state"], q["order"], q["limit"]) == (["ALL"], ["NEWEST"], ["100"])
    assert _query(responses.calls[1])["state"] == ["OPEN"]
    assert [pr.id for pr in open_and_merged] == [2, 1]
    assert _query(responses.calls[2])["state"] == ["ALL"]
    assert [pr.id for pr in only_open] == [2]


@responses.activate
def test_files_diffs_and_commits_send_refs_as_query_parameters():
    client = DataCenterClient(AccessToken("t"), base_url=dc.SERVER)
    responses.get(f"{REPO}/raw/src/app.py", body=b"print(1)\n", content_type="text/x-python")
    responses.get(f"{REPO}/diff", body="diff --git a/x b/x\n" + "+" * 100)
    responses.get(f"{REPO}/pull-requests/3.diff", body="diff --git a/y b/y\n")
    responses.get(f"{REPO}/commits", json=dc.page([dc.commit("a" * 40)]))

    file = client.get_file("PRJ", "web", "c" * 40, "/src/app.py")
    diff = client.get_diff("PRJ", "web", "feature/x..main", max_bytes=20)
    pr_diff = client.get_pull_request_diff("PRJ", "web", 3)
    (commit,) = client.iter_commits("PRJ", "web", branch="feature/x")

    assert (file.content, file.path, file.content_type) == (b"print(1)\n", "src/app.py", "text/x-python")
    assert _query(responses.calls[0])["at"] == ["c" * 40]
    assert diff.truncated and len(diff) == 20
    assert _query(responses.calls[1]) == {"until": ["feature/x"], "since": ["main"]}
    assert responses.calls[1].request.headers["Accept"] == "text/plain"
    assert pr_diff == "diff --git a/y b/y\n" and not pr_diff.truncated
    assert _query(responses.calls[3])["until"] == ["feature/x"] and commit.hash == "a" * 40


def test_the_client_class_is_picked_by_site(settings):
    settings.BITBUCKET_API_URL = "https://api.bitbucket.org/2.0"
    settings.BBDASH_DATACENTER_URLS = [dc.SERVER + "/"]

    assert clients.client_class_for("https://api.bitbucket.org/2.0") is BitbucketClient
    assert clients.client_class_for(dc.SERVER) is DataCenterClient
    assert clients.client_class_for("https://elsewhere.example.test") is BitbucketClient
    settings.BBDASH_DATACENTER_URLS = []
    assert clients.client_class_for(dc.SERVER) is BitbucketClient


def test_a_basic_credential_never_shows_its_secret():
    auth = BasicAuth("jcitizen", "very-secret-pw")

    assert "very-secret-pw" not in repr(auth) and "very-secret-pw" not in repr(
        DataCenterClient(auth, base_url=dc.SERVER)
    )
    assert auth.last4 == "t-pw"
    with pytest.raises(TypeError):
        BitbucketClient(auth)  # Cloud wants an API token with the account's e-mail, never a username


@responses.activate
def test_iso_timestamps_of_newer_servers_are_read_like_epoch_milliseconds():
    body = dc.commit("a" * 40)
    body["authorTimestamp"] = "2018-11-08T14:25:43.031Z"
    responses.get(f"{REPO}/commits/{'a' * 40}", json=body)

    commit = DataCenterClient(AccessToken("t"), base_url=dc.SERVER).get_commit("PRJ", "web", "a" * 40)

    assert commit.date == datetime(2018, 11, 8, 14, 25, 43, 31000, tzinfo=UTC)


@responses.activate
def test_a_one_commit_diff_is_against_its_parent_and_superseded_only_reads_nothing():
    client = DataCenterClient(AccessToken("t"), base_url=dc.SERVER)
    responses.get(f"{REPO}/diff", body="diff --git a/x b/x\n")

    assert client.get_diff("PRJ", "web", "a" * 40) == "diff --git a/x b/x\n"
    assert _query(responses.calls[0]) == {"until": ["a" * 40]}
    assert list(client.iter_pull_requests("PRJ", "web", states=("SUPERSEDED",))) == []
    assert len(responses.calls) == 1
