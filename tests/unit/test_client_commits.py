"""The client's commit log, file history and commit-to-pull-request reads: what each sends, what it returns."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from bitbucket_sync.client import ApiToken, BitbucketClient, BitbucketSchemaError, NotFound, UnsafePath

BASE = "https://api.example.test/2.0"
REPO = f"{BASE}/repositories/acme/web"
HASH = "a" * 40
COMMIT = {
    "type": "commit",
    "hash": HASH,
    "date": "2026-11-01T10:00:00+00:00",
    "message": "Fix the build\n",
    "author": {"raw": "Ada <ada@example.test>", "user": {"type": "user", "uuid": "{u-ada}", "display_name": "Ada"}},
    "parents": [{"hash": "b" * 40}, {"hash": "c" * 40}],
}


@pytest.fixture
def client():
    return BitbucketClient(ApiToken("ada@example.test", "tok-secret-0001"), base_url=BASE)


def _query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


@responses.activate
def test_commit_log_page_sends_revision_exclude_and_path_and_returns_the_next_cursor(client):
    nxt = f"{REPO}/commits/feature/x?exclude=main&path=docs&pagelen=30&page=YWJjOjMw"
    responses.get(f"{REPO}/commits/feature%2Fx", json={"values": [COMMIT], "pagelen": 30, "next": nxt})

    commits, cursor = client.commit_log_page("acme", "web", revision="feature/x", exclude=["main"], path="docs/")

    assert cursor == "YWJjOjMw"
    assert commits[0].hash == HASH and commits[0].parents == ("b" * 40, "c" * 40)
    assert commits[0].author is not None and commits[0].author.raw == "Ada <ada@example.test>"
    call = responses.calls[0]
    assert urlsplit(call.request.url).path == "/2.0/repositories/acme/web/commits/feature%2Fx"
    query = _query(call)
    assert query["exclude"] == ["main"] and query["path"] == ["docs"] and query["pagelen"] == ["30"]
    assert "page" not in query
    assert "values.hash" in query["fields"][0] and "next" in query["fields"][0]


@responses.activate
def test_commit_log_page_sends_the_cursor_with_the_same_query(client):
    responses.get(f"{REPO}/commits/main", json={"values": [COMMIT], "pagelen": 30})

    commits, cursor = client.commit_log_page("acme", "web", revision="main", path="docs", cursor="YWJjOjMw")

    assert [c.hash for c in commits] == [HASH] and cursor is None
    query = _query(responses.calls[0])
    assert query["page"] == ["YWJjOjMw"] and query["path"] == ["docs"]


@responses.activate
def test_commit_log_page_refuses_bad_cursors_paths_and_foreign_next_links(client):
    for bad in ("a&path=x", "a/b", "", "x" * 201):
        with pytest.raises(UnsafePath):
            client.commit_log_page("acme", "web", cursor=bad)
    with pytest.raises(UnsafePath):
        client.commit_log_page("acme", "web", revision="main", path="../secret")
    with pytest.raises(UnsafePath):
        client.commit_log_page("acme", "web", revision="..")
    assert len(responses.calls) == 0
    responses.get(f"{REPO}/commits", json={"values": [], "next": f"{BASE}/repositories/acme/other/commits?page=x"})
    with pytest.raises(BitbucketSchemaError):
        client.commit_log_page("acme", "web")
    responses.replace(responses.GET, f"{REPO}/commits", json={"values": [], "next": f"{REPO}/commits?pagelen=30"})
    with pytest.raises(BitbucketSchemaError):
        client.commit_log_page("acme", "web")


@responses.activate
def test_file_history_page_reads_paths_at_each_commit(client):
    url = f"{REPO}/filehistory/{HASH}/docs/guide.rst"
    responses.get(
        url,
        json={
            "values": [
                {"type": "commit_file", "path": "docs/guide.rst", "commit": COMMIT},
                {"type": "commit_file", "path": "docs/guide.txt", "commit": {**COMMIT, "hash": "d" * 40}},
            ],
            "pagelen": 30,
        },
    )

    entries, next_url = client.file_history_page("acme", "web", HASH, "docs/guide.rst")

    assert [(e.path, e.commit.hash) for e in entries] == [("docs/guide.rst", HASH), ("docs/guide.txt", "d" * 40)]
    assert next_url is None
    fields = _query(responses.calls[0])["fields"][0]
    assert "values.path" in fields and "values.commit.hash" in fields and "values.commit.message" in fields


@responses.activate
def test_commit_pull_requests_says_404_unindexed_202_indexing_and_asks_for_list_fields(client):
    url = f"{REPO}/commit/{HASH}/pullrequests"
    responses.get(url, json={"error": {"message": "not indexed"}}, status=404)
    with pytest.raises(NotFound):
        client.commit_pull_requests("acme", "web", HASH)
    responses.replace(responses.GET, url, json={"values": [], "pagelen": 50, "page": 1}, status=202)
    assert client.commit_pull_requests("acme", "web", HASH).indexing
    query = _query(responses.calls[-1])
    assert query["pagelen"] == ["50"] and "values.source.branch.name" in query["fields"][0]
    responses.replace(responses.GET, url, json={"values": [], "pagelen": 50, "page": 1}, status=200)
    found = client.commit_pull_requests("acme", "web", HASH)
    assert found.pull_requests == () and not found.indexing
