"""Pagination: follow `next` exactly as given, raise on any failure, never end a listing early."""

import pytest
import responses
from responses import matchers

from bitbucket_sync.client import ApiToken, BitbucketClient, BitbucketSchemaError, Unavailable

BASE = "https://api.example.test/2.0"
REPOS = f"{BASE}/repositories/acme"


def _repo(n: int) -> dict:
    return {
        "type": "repository",
        "uuid": f"{{00000000-0000-0000-0000-{n:012d}}}",
        "full_name": f"acme/repo-{n}",
        "name": f"repo-{n}",
        "is_private": True,
        "updated_on": "2026-11-01T10:00:00.123456+00:00",
    }


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


@responses.activate
def test_iter_two_pages_follows_opaque_next_without_readding_params(client):
    cursor = f"{REPOS}?ctx=Zm9vYmFy%3D&pagelen=100&fields=whatever"
    responses.get(
        REPOS,
        match=[matchers.query_param_matcher({"pagelen": "100", "sort": "-updated_on"}, strict_match=False)],
        json={"values": [_repo(1), _repo(2)], "next": cursor},
    )
    responses.get(
        cursor,
        match=[matchers.query_string_matcher("ctx=Zm9vYmFy%3D&pagelen=100&fields=whatever")],
        json={"values": [_repo(3)]},
    )

    repos = list(client.iter_repositories("acme"))

    assert [r.slug for r in repos] == ["repo-1", "repo-2", "repo-3"]
    assert len(responses.calls) == 2
    assert responses.calls[1].request.url == cursor  # exactly as given: nothing appended, nothing rebuilt


@responses.activate
def test_iter_three_pages_with_cursor_tokens(client):
    p2 = f"{BASE}/repositories/acme/web/commits/main?page=a1b2c3d4"
    p3 = f"{BASE}/repositories/acme/web/commits/main?page=ffee0099"
    commit = {"type": "commit", "hash": "a" * 40, "date": "2026-11-01T10:00:00+00:00", "message": "m"}
    responses.get(f"{BASE}/repositories/acme/web/commits/main", json={"values": [commit], "next": p2})
    responses.get(p2, json={"values": [commit, commit], "next": p3})
    responses.get(p3, json={"values": [commit]})

    commits = list(client.iter_commits("acme", "web", branch="main"))

    assert len(commits) == 4
    assert [c.request.url for c in responses.calls[1:]] == [p2, p3]


@responses.activate
def test_iter_size_without_next_is_one_complete_page(client):
    responses.get(REPOS, json={"size": 2, "page": 1, "pagelen": 100, "values": [_repo(1), _repo(2)]})

    assert len(list(client.iter_repositories("acme"))) == 2
    assert len(responses.calls) == 1


@responses.activate
def test_iter_fewer_items_than_announced_size_raises(client):
    # An item deleted mid-listing shifts list-style pages: something still present was skipped.
    responses.get(REPOS, json={"size": 3, "values": [_repo(1)], "next": f"{REPOS}?page=2"})
    responses.get(f"{REPOS}?page=2", json={"size": 2, "values": [_repo(3)]})

    with pytest.raises(BitbucketSchemaError, match="after 2 of the 3 items"):
        list(client.iter_repositories("acme"))


@responses.activate
def test_iter_failure_on_a_later_page_raises_after_yielding_the_first(client):
    responses.get(REPOS, json={"values": [_repo(1)], "next": f"{REPOS}?page=2"})
    responses.get(f"{REPOS}?page=2", status=500, json={"type": "error", "error": {"message": "boom"}})

    seen = []
    with pytest.raises(Unavailable):
        for repo in client.iter_repositories("acme"):
            seen.append(repo)
    assert len(seen) == 1


@responses.activate
def test_iter_refuses_next_on_another_host(client):
    responses.get(REPOS, json={"values": [_repo(1)], "next": "https://evil.example.test/2.0/x?page=2"})

    with pytest.raises(BitbucketSchemaError, match="another host"):
        list(client.iter_repositories("acme"))
    assert len(responses.calls) == 1  # the credential never went there


@responses.activate
def test_iter_next_pointing_back_raises(client):
    responses.get(REPOS, json={"values": [_repo(1)], "next": f"{REPOS}?page=2"})
    responses.get(f"{REPOS}?page=2", json={"values": [_repo(2)], "next": f"{REPOS}?page=2"})

    with pytest.raises(BitbucketSchemaError, match="already read"):
        list(client.iter_repositories("acme"))


@responses.activate
def test_iter_page_without_values_raises(client):
    responses.get(REPOS, json={"next": f"{REPOS}?page=2"})

    with pytest.raises(BitbucketSchemaError, match="values"):
        list(client.iter_repositories("acme"))


@responses.activate
def test_iter_invalid_json_on_a_page_raises(client):
    responses.get(REPOS, body="<html>proxy error</html>", content_type="text/html")

    with pytest.raises(BitbucketSchemaError, match="invalid JSON"):
        list(client.iter_repositories("acme"))


@responses.activate
def test_iter_is_lazy(client):
    responses.get(REPOS, json={"values": [_repo(1)]})

    listing = client.iter_repositories("acme")
    assert len(responses.calls) == 0
    next(listing)
    assert len(responses.calls) == 1
