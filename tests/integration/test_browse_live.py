"""Live reads through the signed-in user's own credential, against the emulator over HTTP: the source browser and a
pull request's diff, commits and comments; cached by commit hash; Bitbucket's errors in plain words, never a 500."""

import pytest

from bitbucket_sync.models import PullRequest, RequestLedgerEntry

HX = {"HTTP_HX_REQUEST": "true"}


def _api_requests(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


@pytest.fixture
def alice(client, demo_mirror):
    client.force_login(demo_mirror.users["alice"])
    return demo_mirror


def test_source_root_lists_directories_first(client, alice):
    response = client.get("/acme/api-server/src/main/")
    assert response.status_code == 200
    names = [e.name for e in response.context["source"].entries]
    assert names[:2] == ["src", "tests"]
    assert "README.md" in names
    text = response.content.decode()
    assert 'href="/acme/api-server/src/main/src/"' in text
    assert client.get("/acme/api-server/src/").url == "/acme/api-server/src/main/"


def test_source_file_is_highlighted_with_line_permalinks_and_cached(client, alice):
    emu = alice.emulator
    response = client.get("/acme/api-server/src/main/src/api_server/settings.py")
    assert response.status_code == 200
    source = response.context["source"]
    commit = source.location.commit
    assert len(commit) == 40 and source.file.kind == "text"
    text = response.content.decode()
    assert '<span class="n">PAGE_SIZE</span>' in text and 'class="code highlight"' in text
    assert f'href="/acme/api-server/src/{commit}/src/api_server/settings.py#lines-1"' in text
    # The same file at the same commit: no second trip to Bitbucket for its content.
    before = _api_requests(emu, "alice")
    again = client.get(f"/acme/api-server/src/{commit}/src/api_server/settings.py")
    assert again.status_code == 200 and "PAGE_SIZE" in again.content.decode()
    assert _api_requests(emu, "alice") == before
    # Every live read was written to the user's own ledger as a browse request.
    assert RequestLedgerEntry.objects.filter(credential=alice.credentials["alice"], purpose="browse").exists()


def test_source_on_a_branch_with_a_slash(client, alice):
    response = client.get("/acme/api-server/src/release/1.4/README.md")
    assert response.status_code == 200
    location = response.context["location"]
    assert (location.ref, location.path) == ("release/1.4", "README.md")
    assert response.context["source"].file.kind == "text"


def test_binary_and_large_files_get_a_clear_message(client, alice, settings):
    emu = alice.emulator
    files = {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00binary", "big.txt": "x" * 600_000}
    emu.world.commit_files("acme", "api-server", "main", "alice", files)
    from django.core.cache import cache

    cache.clear()  # the branch tip moved
    binary = client.get("/acme/api-server/src/main/logo.png")
    assert binary.status_code == 200 and "This is a binary file" in binary.content.decode()
    big = client.get("/acme/api-server/src/main/big.txt")
    assert big.status_code == 200 and "too large to show here" in big.content.decode()


def test_missing_path_says_so_in_plain_words(client, alice):
    response = client.get("/acme/api-server/src/main/no/such/file.py")
    assert response.status_code == 200
    assert "Bitbucket found nothing here (404)" in response.content.decode()


def test_pull_request_diff_fragment_is_per_file_and_highlighted(client, alice):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    response = client.get(f"/acme/api-server/pull-requests/{pr.number}/diff", **HX)
    assert response.status_code == 200
    body = response.content.decode().strip()
    assert body.startswith('<section id="pr-diff"') and "<html" not in body
    files = response.context["diff"]["files"]
    assert [d.path for d in files] == ["src/api_server/settings.py"]
    assert files[0].added == 2 and files[0].removed == 2  # the page size, and the timeout pushed after review
    assert "<details" in body and "PAGE_SIZE" in body and 'tr class="add"' in body
    # Without JavaScript, the same address is the whole page with the diff in it.
    page = client.get(f"/acme/api-server/pull-requests/{pr.number}/diff")
    assert "<html" in page.content.decode() and "src/api_server/settings.py" in page.content.decode()


def test_pull_request_commits_and_discussion_fragments(client, alice):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Add customer lookup endpoint")
    commits = client.get(f"/acme/api-server/pull-requests/{pr.number}/commits", **HX)
    assert commits.content.decode().strip().startswith('<section id="pr-commits"')
    assert len(commits.context["commits"]) >= 1
    discussion = client.get(f"/acme/api-server/pull-requests/{pr.number}/activity", **HX)
    text = discussion.content.decode()
    assert "Can we cache the lookups?" in text and "Good idea, added a TTL cache." in text
    assert discussion.context["discussion"]["activity"]  # the approval by bob at least


def test_pull_request_page_loads_sections_lazily(client, alice):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Add customer lookup endpoint")
    before = _api_requests(alice.emulator, "alice")
    text = client.get(f"/acme/api-server/pull-requests/{pr.number}").content.decode()
    assert _api_requests(alice.emulator, "alice") == before  # the page itself reads only the mirror
    assert f'hx-get="/acme/api-server/pull-requests/{pr.number}/diff" hx-trigger="revealed"' in text
    assert f'hx-get="/acme/api-server/pull-requests/{pr.number}/commits" hx-trigger="load"' in text
    assert f'hx-get="/acme/api-server/pull-requests/{pr.number}/activity" hx-trigger="load"' in text


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ({"rate_limit": {"limit": 0, "retry_after": 30}}, "spent (429): try again in 30 s"),
        ({"rate_limit": {"limit": 0}}, "spent (429): try again in a few minutes"),
        ({"fault": {"every": 1, "kind": "500"}}, "Bitbucket is slow or unavailable right now"),
        ({"fault": {"every": 1, "kind": "555"}}, "Bitbucket timed out preparing this (555)"),
    ],
    ids=["429-retry-after", "429", "500", "555"],
)
def test_bitbucket_errors_become_plain_words_never_a_500(client, alice, control, message):
    emu = alice.emulator
    if "rate_limit" in control:
        emu.controls.set_rate_limit(**control["rate_limit"])
    else:
        emu.controls.set_fault(**control["fault"])
    pr = PullRequest.objects.get(repository__slug="api-server", title="Refund endpoint")
    for path, headers in (
        (f"/acme/api-server/pull-requests/{pr.number}/diff", HX),
        ("/acme/api-server/src/main/README.md", {}),
    ):
        response = client.get(path, **headers)
        assert response.status_code == 200, path
        assert message in response.content.decode(), path


def test_refused_credential_is_explained(client, alice):
    credential = alice.credentials["alice"]
    credential.set_secret("wrong-token-wrong-token")
    credential.save()
    response = client.get("/acme/api-server/src/main/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Bitbucket refused your credential (401)" in text
    assert "wrong-token" not in text
    # Marked at once, by the page's read: the next page says so without asking Bitbucket, under the banner.
    credential.refresh_from_db()
    assert credential.status == "invalid" and "while reading a page" in credential.last_error
    alice.emulator.controls.reset_counts()
    again = client.get("/acme/api-server/src/main/").content.decode()
    assert "Bitbucket refused your credential for this site" in again and "credential-refused" in again
    assert alice.emulator.controls.counts()["total"] == 0


def test_access_lost_on_bitbucket_is_explained_not_shown(client, demo_mirror):
    """The mirror still says bob may read infra (a stale access row), Bitbucket says no: a message, no content."""
    from tests import factories as f

    bob = demo_mirror.users["bob"]
    f.grant(bob, demo_mirror.repositories["infra"], permission="read")
    client.force_login(bob)
    response = client.get("/acme/infra/src/main/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Bitbucket found nothing here (404)" in text or "may not read this (403)" in text
    assert response.context.get("source") is None
