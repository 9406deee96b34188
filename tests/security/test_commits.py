"""History pages: what a URL names is checked before anything is sent, a repository the user cannot see is a 404,
the caches belong to the credential that read them, and text and links from Bitbucket stay inert."""

import pytest
from django.core.cache import cache
from django.template.loader import render_to_string

from bitbucket_sync.client.records import Commit, CommitAuthor, FileHistoryEntry
from dashboard.selectors.commits import CommitRow, HistoryRow, log_target

HX = {"HTTP_HX_REQUEST": "true"}


def _reads(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


@pytest.fixture
def alice(client, demo_mirror):
    client.force_login(demo_mirror.users["alice"])
    return demo_mirror


BAD_URLS = [
    "/acme/api-server/commits/main/../../other",
    "/acme/api-server/commits/main%252F..%252F..",
    "/acme/api-server/commits/branch/a/./b",
    "/acme/api-server/commits/main?path=../secret",
    "/acme/api-server/commits/main?path=src/%252e%252e/x",
    "/acme/api-server/commits/main?page=x%26path%3D..",
    "/acme/api-server/commits/main?page=" + "x" * 201,
    "/acme/api-server/commits/main?page=abc&at=../../x",
    "/acme/api-server/history/main/README.md?page=abc&at=main",
    "/acme/api-server/history/main/../README.md",
    "/acme/api-server/history/main/src%252F..%252FREADME.md",
    "/acme/api-server/history/main/README.md?page=a/b",
    "/acme/api-server/history/main/",
]


def test_bad_refs_paths_and_cursors_are_404_before_any_request(client, alice):
    # One world for every URL (each is its own hole): restoring the demo world per URL costs a second each.
    before = _reads(alice.emulator, "alice")
    for url in BAD_URLS:
        assert client.get(url).status_code == 404, url
        assert client.get(url, **HX).status_code == 404, url
    assert _reads(alice.emulator, "alice") == before


def test_a_repository_the_user_cannot_see_is_404(client, demo_mirror):
    client.force_login(demo_mirror.users["bob"])
    before = _reads(demo_mirror.emulator, "bob")
    for url in ("/acme/infra/commits/", "/acme/infra/commits/main", "/acme/infra/commits/" + "a" * 40,
                "/acme/infra/history/main/x"):  # fmt: skip
        assert client.get(url).status_code == 404, url
        assert client.get(url, **HX).status_code == 404, url
    assert _reads(demo_mirror.emulator, "bob") == before


def test_a_hash_is_a_commit_only_when_it_is_hex_and_no_branch_has_that_name(demo_mirror):
    repository = demo_mirror.repositories["api-server"]
    assert log_target(repository, "a" * 40).commit == "a" * 40
    assert log_target(repository, "A" * 40).commit == ""  # not lowercase hex: a ref for Bitbucket to resolve
    assert log_target(repository, "abc12").commit == ""  # too short to be a commit
    assert log_target(repository, "main").ref == "main"


def test_commit_page_cache_is_not_served_to_a_credential_that_cannot_read_it(client, demo_mirror):
    emu = demo_mirror.emulator
    tip = emu.world.repository("acme", "api-server").branches["feature/raise-page-size"]
    client.force_login(demo_mirror.users["alice"])
    assert "PAGE_SIZE" in client.get(f"/acme/api-server/commits/{tip}").content.decode()
    emu.world.revoke("acme", "api-server", "bob")  # the mirror still shows bob the repository
    client.force_login(demo_mirror.users["bob"])
    before = _reads(emu, "bob")
    second = client.get(f"/acme/api-server/commits/{tip}")
    assert second.status_code == 404  # Bitbucket hides the repository from bob now: no such commit for him
    assert "PAGE_SIZE" not in second.content.decode()
    assert _reads(emu, "bob") > before  # bob's own credential was asked


def test_commit_messages_author_names_and_paths_are_inert(client, alice):
    world = alice.emulator.world
    evil_path = 'x"><img src=x onerror=alert(1)>.md'
    commit = world.commit_files(
        "acme",
        "api-server",
        "main",
        None,
        {evil_path: "a\n"},
        "<script>alert('message')</script>\nbody <b>bold</b>",
        author_raw='"><svg onload=alert(2)> <evil@example.test>',
    )
    world.commit_files("acme", "api-server", "main", None, {evil_path: "b\n"}, "again")
    cache.clear()
    pages = [
        client.get("/acme/api-server/commits/main").content.decode(),
        client.get(f"/acme/api-server/commits/{commit.hash}").content.decode(),
        client.get("/acme/api-server/history/main/" + evil_path).content.decode(),
        client.get("/acme/api-server/commits/main", {"path": evil_path}).content.decode(),
    ]
    for text in pages:
        assert "<script>alert" not in text and "<svg onload" not in text and "<img src=x" not in text
        assert "<b>bold</b>" not in text
    assert "&lt;script&gt;alert(&#x27;message&#x27;)&lt;/script&gt;" in pages[1]
    assert "&lt;svg onload=alert(2)&gt;" in pages[1]


def test_hashes_and_paths_from_bitbucket_become_links_only_when_safe(rf, alice):
    repository = alice.repositories["api-server"]
    bad = Commit(hash="../../../admin", message="m", author=CommitAuthor(raw="A <a@b.c>"))
    row = CommitRow(commit=bad, summary="m", is_merge=False, author_name="A", author=None)
    assert not row.linkable
    good = Commit(hash="a" * 40, message="m")
    entry = FileHistoryEntry(path="../../etc/passwd", commit=good)
    history_row = HistoryRow(entry, CommitRow(good, "m", False, "A", None), renamed=True, linkable=False)
    html = render_to_string(
        "commits/_rows.html#commit-cells",
        {"row": row, "workspace": repository.workspace, "repository": repository},
    )
    assert "<a " not in html and "../../../admin"[:12] in html
    assert not history_row.linkable
