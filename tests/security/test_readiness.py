"""The readiness panel: shown exactly where the PR page is (404 otherwise, fragment or not), and inert whatever a build
status, a conflict path or a merge rule carries (escaped text, a link only for an absolute http(s) URL)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from bitbucket_sync.models import PullRequest
from tests import factories as f
from tests.security.test_web import HOSTILE_URLS

READINESS = {"HX-Request": "true", "HX-Target": "pr-readiness"}
SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


def _url(pr: PullRequest) -> str:
    return reverse("pull_request_detail", args=[pr.workspace.slug, pr.repository.slug, pr.number])


@pytest.fixture
def hidden(personas):
    """A pull request in acme/api (alice, bob and carol see it) and one in a repository only alice was granted."""
    api = personas.repositories["api"]
    secret = f.repository(personas.workspace, "secret")
    f.grant(personas.users["alice"], secret, permission="admin")
    seen = f.pull_request(api, author=personas.accounts["alice"])
    unseen = f.pull_request(secret, author=personas.accounts["alice"])
    for pr in (seen, unseen):
        f.build_status(pr, "ci", state="FAILED", name="Secret build name")
    return seen, unseen


@pytest.mark.parametrize("headers", [READINESS, {}], ids=["fragment", "page"])
def test_readiness_fragment_404_where_the_page_is_404(client, personas, hidden, headers):
    seen, unseen = hidden
    client.force_login(personas.users["dave"])  # an outsider: no access to acme at all
    for pr in (seen, unseen):
        response = client.get(_url(pr), headers=headers)
        assert response.status_code == 404 and b"Secret build name" not in response.content
    client.force_login(personas.users["bob"])  # a member, not granted acme/secret
    assert client.get(_url(unseen), headers=headers).status_code == 404
    assert client.get(_url(seen), headers=headers).status_code == 200
    client.force_login(personas.users["carol"])  # read access is enough to see the panel
    response = client.get(_url(seen), headers=headers)
    assert response.status_code == 200 and b"Secret build name" in response.content


def test_readiness_fragment_asks_anonymous_visitors_to_sign_in(client, hidden):
    seen, _ = hidden
    response = client.get(_url(seen), headers=READINESS)
    assert response.status_code in (302, 401) and b"Secret build name" not in response.content


@pytest.mark.parametrize("value", HOSTILE_URLS)
def test_readiness_links_no_hostile_build_url(client, personas, value):
    pr = f.pull_request(personas.repositories["api"])
    f.build_status(pr, "ci", state="FAILED", name="Hostile", url=value)
    client.force_login(personas.users["bob"])
    for headers in (READINESS, {}):
        html = client.get(_url(pr), headers=headers).content.decode()
        assert "Hostile" in html
        assert f'href="{escape(value)}"' not in html and f'href="{value}"' not in html
        assert "<span>Hostile</span>" in html  # named, not linked


def test_readiness_keeps_markup_in_bitbucket_text_inert(client, personas):
    repo = personas.repositories["api"]
    pr = f.pull_request(repo)
    f.build_status(pr, SCRIPT, state="FAILED", name=SCRIPT, description=IMG, url="https://ci.example.com/x?a=<b>")
    f.build_status(pr, "other", state="INPROGRESS", name="", description=SCRIPT)
    f.branch_restriction(repo, "restrict_merges", users=[SCRIPT], groups=[IMG])
    PullRequest.objects.filter(pk=pr.pk).update(conflict_state="conflicted", conflict_paths=[SCRIPT, IMG])
    client.force_login(personas.users["bob"])
    for headers in (READINESS, {}):
        html = client.get(_url(pr), headers=headers).content.decode()
        assert SCRIPT not in html and IMG not in html
        assert escape(SCRIPT) in html and escape(IMG) in html
        assert 'href="https://ci.example.com/x?a=&lt;b&gt;"' in html
