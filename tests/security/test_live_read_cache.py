"""Caches of live Bitbucket reads belong to the credential that read them.

The hole: the source browser's and a pull request's caches were keyed by repository, commit and path only, so after
one user's read anyone whose mirror rows still showed the repository got the same content without Bitbucket being
asked, even when their own credential could no longer read it. And a diff was downloaded whole, then cut.
"""

import io

import pytest
import requests
from django.core.cache import cache

from bitbucket_sync import browse
from bitbucket_sync.client import ApiToken, BitbucketClient
from bitbucket_sync.models import PullRequest
from dashboard import rendering
from dashboard.selectors import diffs

HX = {"HTTP_HX_REQUEST": "true"}


def _reads(emu, username: str) -> int:
    return emu.controls.counts()["by_credential"].get(f"api_token:{username}", {}).get("total", 0)


@pytest.fixture
def revoked_bob(client, demo_mirror):
    """bob's mirror rows still show api-server, but Bitbucket took his access away since the last sync."""
    demo_mirror.emulator.world.revoke("acme", "api-server", "bob")
    return demo_mirror


def test_source_cache_hit_is_not_served_to_a_credential_that_cannot_read_it(client, revoked_bob):
    url = "/acme/api-server/src/main/README.md"
    client.force_login(revoked_bob.users["alice"])
    first = client.get(url)
    assert first.status_code == 200 and "API Server" in first.content.decode()
    client.force_login(revoked_bob.users["bob"])
    before = _reads(revoked_bob.emulator, "bob")
    second = client.get(url)
    assert second.status_code == 200
    assert "API Server" not in second.content.decode()
    assert second.context["error"]  # Bitbucket's refusal, in words
    assert _reads(revoked_bob.emulator, "bob") > before  # bob's own credential was asked


@pytest.mark.parametrize(("section", "secret"), [("diff", "PAGE_SIZE"), ("commits", "page size")])
def test_pull_request_cache_hit_is_not_served_to_a_credential_that_cannot_read_it(client, revoked_bob, section, secret):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    url = f"/acme/api-server/pull-requests/{pr.number}/{section}"
    client.force_login(revoked_bob.users["alice"])
    first = client.get(url, **HX)
    assert secret.lower() in first.content.decode().lower()
    client.force_login(revoked_bob.users["bob"])
    second = client.get(url, **HX)
    assert second.status_code == 200
    assert second.context[f"{section}_error"]
    assert section not in second.context or not second.context[section]


def test_pull_request_discussion_cache_is_per_credential(client, revoked_bob):
    pr = PullRequest.objects.get(repository__slug="api-server", title="Add customer lookup endpoint")
    url = f"/acme/api-server/pull-requests/{pr.number}/activity"
    client.force_login(revoked_bob.users["alice"])
    assert "Can we cache the lookups?" in client.get(url, **HX).content.decode()
    client.force_login(revoked_bob.users["bob"])
    second = client.get(url, **HX)
    assert "Can we cache the lookups?" not in second.content.decode()
    assert second.context["discussion_error"]


def test_a_second_reader_with_access_reads_with_their_own_credential(client, demo_mirror):
    url = "/acme/api-server/src/main/README.md"
    client.force_login(demo_mirror.users["alice"])
    assert client.get(url).status_code == 200
    client.force_login(demo_mirror.users["bob"])
    before = _reads(demo_mirror.emulator, "bob")
    again = client.get(url)
    assert "API Server" in again.content.decode()
    assert _reads(demo_mirror.emulator, "bob") > before
    # ...and bob's second look is his own cache hit: no further request.
    cached = _reads(demo_mirror.emulator, "bob")
    assert "API Server" in client.get(url).content.decode()
    assert _reads(demo_mirror.emulator, "bob") == cached


# --- a diff is read up to a byte cap ---------------------------------------------------------------------------------


class _CountingBody(io.BytesIO):
    """A response body that remembers how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


class _DiffSession(requests.Session):
    def __init__(self, data: bytes) -> None:
        super().__init__()
        self.data = data
        self.body = _CountingBody(b"")

    def request(self, method, url, **kwargs):
        assert kwargs.get("stream") is True, "a diff must be streamed, not downloaded whole"
        self.body = _CountingBody(self.data)
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response.headers["Content-Type"] = "text/plain"
        response.raw = self.body
        return response


def test_client_reads_a_diff_only_up_to_its_byte_cap():
    huge = b"diff --git a/x b/x\n" + b"+" + b"y" * (20 * 1024 * 1024) + b"\n"
    session = _DiffSession(huge)
    client = BitbucketClient(ApiToken("a@example.com", "t"), base_url="http://bitbucket.test/2.0", session=session)
    diff = client.get_pull_request_diff("acme", "api-server", 1, max_bytes=100_000)
    assert diff.truncated and len(diff.encode()) == 100_000
    assert session.body.consumed < 1024 * 1024  # the rest of the 20 MiB never left the socket
    whole = client.get_diff("acme", "api-server", "a..b", max_bytes=len(huge))
    assert whole.truncated is False and len(whole) == len(huge)


def test_only_the_capped_diff_is_cached(client, demo_mirror, monkeypatch):
    monkeypatch.setattr(rendering, "MAX_DIFF_BYTES", 300)
    # The diff alone: no snippets of the code outdated comments were made on (read under their own cap).
    monkeypatch.setattr(diffs, "SNIPPET_READS", 0)
    pr = PullRequest.objects.get(repository__slug="api-server", title="Raise the default page size")
    stored = {}
    real_get_or_set = cache.get_or_set

    class Spy:
        def get_or_set(self, key, produce, timeout):
            value = real_get_or_set(key, produce, timeout)
            stored[key] = value
            return value

        def get(self, key, default=None):  # look-ups that never read (a comment's code, if cached)
            return cache.get(key, default)

    monkeypatch.setattr(browse, "cache", Spy())
    client.force_login(demo_mirror.users["alice"])
    response = client.get(f"/acme/api-server/pull-requests/{pr.number}/diff", **HX)
    assert response.context["diff"]["truncated"] is True
    texts = [v for v in stored.values() if isinstance(v, str)]
    assert texts and all(len(t.encode()) <= 300 and t.truncated for t in texts)
