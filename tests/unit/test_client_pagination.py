"""Pagination: follow `next` exactly as given, raise on any failure, never end a listing early."""

from urllib.parse import parse_qs, urlsplit

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


# -- page by page, and resuming at a saved `next` ------------------------------------------------------------------

PRS = f"{BASE}/repositories/acme/web/pullrequests"


def _pr(pr_id: int) -> dict:
    side = {
        "branch": {"name": "main"},
        "commit": {"hash": "0123456789ab"},
        "repository": {"uuid": "{r}", "full_name": "acme/web", "name": "web"},
    }
    return {
        "type": "pullrequest",
        "id": pr_id,
        "title": f"Change {pr_id}",
        "state": "OPEN",
        "author": {"type": "user", "uuid": "{u-ada}", "display_name": "Ada"},
        "source": {**side, "branch": {"name": f"feature/{pr_id}"}},
        "destination": side,
        "created_on": "2026-11-01T10:00:00+00:00",
        "updated_on": f"2026-11-01T10:{60 - pr_id:02d}:00+00:00",
    }


def _three_pr_pages() -> tuple[str, str]:
    # Page links as Bitbucket gives them: absolute, carrying the whole query (the cursor is opaque to us).
    page2 = f"{PRS}?pagelen=50&sort=-updated_on&q=state+%3D+%22OPEN%22&page=2"
    page3 = f"{PRS}?pagelen=50&sort=-updated_on&q=state+%3D+%22OPEN%22&page=3"
    responses.get(
        PRS,
        match=[
            matchers.query_param_matcher({"pagelen": "50"}, strict_match=False),
            lambda request: ("page" not in parse_qs(urlsplit(request.url).query), "not the first page"),
        ],
        json={"size": 5, "values": [_pr(1), _pr(2)], "next": page2},
    )
    responses.get(
        page2,
        match=[matchers.query_string_matcher(page2.split("?", 1)[1])],
        json={"size": 5, "values": [_pr(3), _pr(4)], "next": page3},
    )
    responses.get(
        page3, match=[matchers.query_string_matcher(page3.split("?", 1)[1])], json={"size": 5, "values": [_pr(5)]}
    )
    return page2, page3


@responses.activate
def test_iter_pull_request_pages_gives_each_page_with_its_next_link(client):
    page2, page3 = _three_pr_pages()

    pages = list(client.iter_pull_request_pages("acme", "web"))

    assert [([r.id for r in records], next_url) for records, next_url in pages] == [
        ([1, 2], page2),
        ([3, 4], page3),
        ([5], None),
    ]
    assert len(responses.calls) == 3


@responses.activate
def test_iter_pull_request_pages_resumed_at_page_two_reads_pages_two_and_three_only(client):
    page2, page3 = _three_pr_pages()

    pages = list(client.iter_pull_request_pages("acme", "web", start_url=page2))

    assert [([r.id for r in records], next_url) for records, next_url in pages] == [([3, 4], page3), ([5], None)]
    assert [call.request.url for call in responses.calls] == [page2, page3]  # exactly as saved: nothing re-added


@responses.activate
def test_iter_pull_request_pages_refuses_a_saved_link_on_another_host(client):
    _three_pr_pages()

    with pytest.raises(BitbucketSchemaError, match="another host"):
        client.iter_pull_request_pages("acme", "web", start_url="https://evil.example.test/2.0/x?page=2")
    assert len(responses.calls) == 0  # the credential never went there


@responses.activate
def test_iter_pull_request_pages_refuses_a_saved_link_of_another_listing(client):
    # A repository renamed since the link was saved: its pages are no longer this listing's.
    _three_pr_pages()

    with pytest.raises(BitbucketSchemaError, match="another listing"):
        client.iter_pull_request_pages("acme", "web", start_url=f"{BASE}/repositories/acme/old-web/pullrequests?page=2")
    assert len(responses.calls) == 0


@responses.activate
def test_iter_pull_request_pages_refuses_a_next_link_on_another_host_before_handing_it_out(client):
    responses.get(PRS, json={"values": [_pr(1)], "next": "https://evil.example.test/2.0/x?page=2"})

    pages = client.iter_pull_request_pages("acme", "web")
    with pytest.raises(BitbucketSchemaError, match="another host"):
        next(pages)  # nobody gets to save it
    assert len(responses.calls) == 1
