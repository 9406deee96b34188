"""Review drafts are the user's own: another user can never read or overwrite them, a pull request the user cannot
see is a 404 (the JSON endpoint and the review panel alike), the autosave is CSRF-protected and never cached, and
draft text is inert wherever it is shown again."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from bitbucket_sync import drafts
from bitbucket_sync.models import AuditEvent, CommentDraft
from tests import factories as f

pytestmark = pytest.mark.django_db

XSS = '</textarea><script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def pr(personas):
    return f.pull_request(personas.repositories["api"], author=personas.accounts["alice"])


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _url(pr, rest: str) -> str:
    return f"/acme/api/pull-requests/{pr.number}{rest}"


def test_another_user_cannot_read_a_draft(pr, bob, carol):
    drafts.save_draft(bob, pr, "general", "bob's secret plan")

    answer = _signed_in(carol).get(_url(pr, "/drafts"), {"key": "general"})

    assert answer.status_code == 200 and answer.json() == {"key": "general", "text": ""}
    assert _signed_in(bob).get(_url(pr, "/drafts"), {"key": "general"}).json()["text"] == "bob's secret plan"


def test_another_user_cannot_overwrite_or_delete_a_draft(pr, bob, carol):
    drafts.save_draft(bob, pr, "general", "bob's words")
    carol_client = _signed_in(carol)

    assert carol_client.post(_url(pr, "/drafts"), {"key": "general", "text": "carol's words"}).status_code == 204
    assert carol_client.post(_url(pr, "/drafts"), {"key": "general", "text": ""}).status_code == 204

    assert drafts.draft_text(bob, pr, "general") == "bob's words"
    assert CommentDraft.objects.filter(user=carol).count() == 0


@pytest.mark.parametrize("rest", ["/drafts?key=general", "/my-review"])
def test_a_pull_request_the_user_cannot_see_is_404(pr, dave, rest):
    assert _signed_in(dave).get(_url(pr, rest)).status_code == 404


@pytest.mark.parametrize(
    ("rest", "data"),
    [
        ("/drafts", {"key": "general", "text": "x"}),
        ("/my-review/publish", {"idempotency_key": "k1", "decision": "approve", "comment": "5"}),
        ("/my-review/discard", {"idempotency_key": "k2", "comment": "5", "confirmed": "1"}),
    ],
)
def test_writes_on_a_pull_request_the_user_cannot_see_are_404_and_send_nothing(pr, dave, rest, data):
    response = _signed_in(dave).post(_url(pr, rest), data, HTTP_HX_REQUEST="true")

    assert response.status_code == 404
    assert not CommentDraft.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_pull_request_of_another_repository_number_is_404(personas, bob):
    assert _signed_in(bob).get("/acme/api/pull-requests/999/drafts", {"key": "general"}).status_code == 404


def test_anonymous_gets_no_draft(pr, bob):
    drafts.save_draft(bob, pr, "general", "private")
    response = Client().get(_url(pr, "/drafts"), {"key": "general"})
    assert response.status_code in (302, 404) and b"private" not in response.content


def test_autosave_needs_the_csrf_token(pr, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)

    assert client.post(_url(pr, "/drafts"), {"key": "general", "text": "forged"}).status_code == 403
    assert not CommentDraft.objects.exists()


def test_draft_answers_are_never_cached(pr, bob):
    drafts.save_draft(bob, pr, "general", "words")
    response = _signed_in(bob).get(_url(pr, "/drafts"), {"key": "general"})
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


@pytest.mark.parametrize("key", ["", "a b", "../../x", "x" * 201, "<script>"])
def test_a_bad_key_is_refused_and_stores_nothing(pr, bob, key):
    client = _signed_in(bob)
    response = client.post(_url(pr, "/drafts"), {"key": key, "text": "x"})
    assert response.status_code == 400 and "error" in response.json()
    assert not CommentDraft.objects.exists()


def test_xss_in_draft_text_comes_back_as_json_data_only(pr, bob):
    client = _signed_in(bob)
    assert client.post(_url(pr, "/drafts"), {"key": "general", "text": XSS}).status_code == 204

    response = client.get(_url(pr, "/drafts"), {"key": "general"})

    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert json.loads(response.content)["text"] == XSS  # kept exactly; drafts.js puts it in .value, never HTML


def test_xss_in_the_saved_summary_is_inert_in_the_review_panel(act_world):
    bob = act_world.users["bob"]
    pr = act_world.open_pr("api-server", author="dave")
    drafts.save_draft(bob, pr, drafts.REVIEW_SUMMARY, XSS)

    html = _signed_in(bob).get(f"/acme/api-server/pull-requests/{pr.number}/my-review", HTTP_HX_REQUEST="true")

    text = html.content.decode()
    assert html.status_code == 200
    assert "<script>" not in text and "<img" not in text
    assert "&lt;/textarea&gt;&lt;script&gt;" in text


@pytest.mark.parametrize(
    ("rest", "extra"),
    [("/my-review/publish", {"decision": "comment"}), ("/my-review/discard", {"confirmed": "1"})],
)
def test_another_users_pending_comment_can_be_neither_published_nor_deleted(act_world, rest, extra):
    pr = act_world.open_pr("api-server", author="dave")
    with act_world.client("alice") as alice:
        draft = alice.comment_pull_request("acme", "api-server", pr.number, content="alice's draft", pending=True)
    url = f"/acme/api-server/pull-requests/{pr.number}{rest}"

    response = _signed_in(act_world.users["bob"]).post(
        url, {"idempotency_key": f"k-{rest}", "comment": str(draft.id), **extra}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200 and "HX-Redirect" not in response  # refused, said in the panel
    emu = act_world.emulator.world.repository("acme", "api-server").pullrequests[pr.number]
    kept = next(c for c in emu.comments if c.id == draft.id)
    assert kept.pending and not kept.deleted and kept.raw == "alice's draft"
