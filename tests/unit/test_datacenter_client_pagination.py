"""Data Center pages: ``start``/``limit``, ``isLastPage``, ``nextPageStart`` followed as given, never ending early."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bitbucket_sync.client import AccessToken, BitbucketSchemaError, DataCenterClient, Unavailable
from tests.fixtures import datacenter as dc

REPOS = f"{dc.API}/projects/PRJ/repos"


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@pytest.fixture
def client():
    return DataCenterClient(AccessToken("dc-token-0001"), base_url=dc.SERVER)


@responses.activate
def test_a_listing_follows_next_page_start_as_the_server_gives_it(client):
    # The server caps the page at 2 although 500 was asked, and its offsets are not contiguous: the client
    # follows nextPageStart, it never computes start + limit.
    responses.get(REPOS, json=dc.page([dc.repository("a", 1), dc.repository("b", 2)], limit=2, next_start=5))
    responses.get(REPOS, json=dc.page([dc.repository("c", 3)], start=5, limit=2, next_start=9))
    responses.get(REPOS, json=dc.page([dc.repository("d", 4)], start=9, limit=2))

    slugs = [r.slug for r in client.iter_repositories("PRJ")]

    assert slugs == ["a", "b", "c", "d"]
    assert [_query(c)["start"] for c in responses.calls] == [["0"], ["5"], ["9"]]
    assert all(_query(c)["limit"] == ["500"] for c in responses.calls)


@responses.activate
def test_the_last_page_ends_the_listing_even_with_an_explicit_null_next_start(client):
    last = dc.page([dc.repository("a", 1)])
    last["nextPageStart"] = None
    responses.get(REPOS, json=last)

    assert [r.slug for r in client.iter_repositories("PRJ")] == ["a"]
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    "broken",
    [
        {"values": [], "size": 0, "limit": 25, "start": 0},  # no isLastPage
        {"isLastPage": False, "values": [], "size": 0, "limit": 25, "start": 0},  # more, but from where?
        {"isLastPage": False, "values": [], "size": 0, "limit": 25, "start": 0, "nextPageStart": 0},  # a loop
        {"isLastPage": True, "size": 0, "limit": 25, "start": 0},  # no values
    ],
)
def test_a_broken_page_raises_instead_of_ending_the_listing(client, broken):
    responses.get(REPOS, json=broken)

    with pytest.raises(BitbucketSchemaError):
        list(client.iter_repositories("PRJ"))


@responses.activate
def test_a_failure_on_a_later_page_raises_after_the_first_pages_items(client):
    responses.get(REPOS, json=dc.page([dc.repository("a", 1)], next_start=1))
    responses.get(REPOS, status=503, body="")

    seen = []
    with pytest.raises(Unavailable):
        for repository in client.iter_repositories("PRJ"):
            seen.append(repository.slug)
    assert seen == ["a"]


@responses.activate
def test_pull_request_pages_can_be_resumed_from_their_next_url(client):
    url = f"{dc.API}/projects/PRJ/repos/web/pull-requests"
    responses.get(url, json=dc.page([dc.pull_request(3)], limit=1, next_start=1))

    records, next_url = next(iter(client.iter_pull_request_pages("PRJ", "web")))

    assert [pr.id for pr in records] == [3]
    assert next_url is not None and next_url.startswith(url)
    responses.get(url, json=dc.page([dc.pull_request(2)], start=1, limit=1))
    resumed = list(client.iter_pull_request_pages("PRJ", "web", start_url=next_url))
    assert [[pr.id for pr in records] for records, _ in resumed] == [[2]]
    q = _query(responses.calls[-1])
    assert q["start"] == ["1"] and q["state"] == ["ALL"] and q["order"] == ["NEWEST"]


def test_a_saved_page_link_of_another_listing_is_refused_before_any_request(client):
    with responses.RequestsMock() as mocked:
        with pytest.raises(BitbucketSchemaError):
            list(
                client.iter_pull_request_pages(
                    "PRJ", "web", start_url=f"{dc.API}/projects/PRJ/repos/other/pull-requests?start=5"
                )
            )
        with pytest.raises(BitbucketSchemaError):
            list(
                client.iter_pull_request_pages(
                    "PRJ",
                    "web",
                    start_url="https://elsewhere.test/rest/api/1.0/projects/PRJ/repos/web/pull-requests?start=5",
                )
            )
        assert len(mocked.calls) == 0


@responses.activate
def test_a_directory_is_read_page_by_page_from_its_children(client):
    url = f"{dc.API}/projects/PRJ/repos/web/browse/src"

    def directory(children, *, next_start=None, start=0):
        return {
            "path": {"components": ["src"], "name": "src", "toString": "src"},
            "revision": "abc",
            "children": dc.page(children, start=start, next_start=next_start),
        }

    responses.get(
        url,
        json=directory(
            [{"path": {"components": ["app"], "name": "app", "toString": "app"}, "type": "DIRECTORY"}], next_start=1
        ),
    )
    responses.get(
        url,
        json=directory(
            [
                {
                    "path": {"components": ["main.py"], "name": "main.py", "toString": "main.py"},
                    "type": "FILE",
                    "size": 42,
                    "contentId": "d" * 40,
                }
            ],
            start=1,
        ),
    )

    entries = list(client.iter_directory("PRJ", "web", "0123abcd" * 5, "src/"))

    assert [(e.path, e.is_dir, e.size) for e in entries] == [("src/app", True, None), ("src/main.py", False, 42)]
    assert _query(responses.calls[0])["at"] == ["0123abcd" * 5]
    assert _query(responses.calls[1])["start"] == ["1"]
