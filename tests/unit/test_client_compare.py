"""Comparing refs: one page of `commits?include=&exclude=` and `merge-base/{a}..{b}`, as sent and as read."""

from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bitbucket_sync.client import ApiToken, BitbucketClient, NotFound, UnsafePath

BASE = "https://api.example.test/2.0"
REPO = f"{BASE}/repositories/acme/web"
A, B = "a" * 40, "b" * 40


def _client() -> BitbucketClient:
    return BitbucketClient(ApiToken("ada@example.com", "tok"), base_url=BASE)


def _commit(h: str) -> dict:
    return {"type": "commit", "hash": h, "date": "2026-11-01T10:00:00+00:00", "message": "m\n", "parents": []}


@responses.activate
def test_commit_range_page_sends_repeated_include_exclude_and_reads_one_page():
    responses.get(f"{REPO}/commits", json={"values": [_commit(A)], "next": f"{REPO}/commits?page=abc", "pagelen": 1})
    page = _client().commit_range_page("acme", "web", include=["feature/x"], exclude=[B, "main"], fields=("hash",))
    assert [c.hash for c in page.commits] == [A] and page.more is True
    assert len(responses.calls) == 1  # the next page is never read
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query["include"] == ["feature/x"] and query["exclude"] == [B, "main"]
    assert query["pagelen"] == ["100"] and query["fields"] == ["values.hash,next,size"]


@responses.activate
def test_commit_range_page_last_page_has_no_more():
    responses.get(f"{REPO}/commits", json={"values": [], "pagelen": 100})
    page = _client().commit_range_page("acme", "web", include=[A], exclude=[B])
    assert page.commits == () and page.more is False


def test_commit_range_page_refuses_unsafe_refs_before_sending():
    with pytest.raises(UnsafePath):
        _client().commit_range_page("acme", "web", include=[".."])
    with pytest.raises(ValueError):
        _client().commit_range_page("acme", "web", include=[])


@responses.activate
def test_merge_base_reads_one_commit_with_slashes_encoded():
    responses.get(f"{REPO}/merge-base/feature%2Fx..main", json=_commit(A))
    base = _client().get_merge_base("acme", "web", "feature/x..main")
    assert base.hash == A
    assert "fields=hash" in responses.calls[0].request.url


@responses.activate
def test_merge_base_404_is_not_found():
    responses.get(
        f"{REPO}/merge-base/{A}..{B}", status=404, json={"type": "error", "error": {"message": "Commit not found"}}
    )
    with pytest.raises(NotFound) as caught:
        _client().get_merge_base("acme", "web", f"{A}..{B}")
    assert caught.value.message == "Commit not found"


def test_merge_base_needs_a_range():
    with pytest.raises(ValueError):
        _client().get_merge_base("acme", "web", A)
