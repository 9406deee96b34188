"""Tags, branch deletion, the clean-up and recreating a branch from the audit log: names from URLs and forms are
checked, another repository is a 404, a reader gets 403 with nothing sent, Bitbucket's text is inert, and a deletion
entry can be undone only by someone who may act on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.test import Client
from django.utils import timezone

from bitbucket_sync import audit
from bitbucket_sync.models import AuditEvent, Tag
from tests import factories as f

pytestmark = pytest.mark.django_db

XSS = '"><script>alert(1)</script>'
HASH = "b" * 40


def _client(personas, who: str) -> Client:
    client = Client()
    client.force_login(personas.users[who])
    return client


def _deletion(personas, who: str, *, repo: str = "api", name: str = "feature/gone") -> AuditEvent:
    repository = personas.repositories[repo]
    return audit.record(
        actor=personas.users[who],
        action="branch.delete",
        result=AuditEvent.Result.SUCCESS,
        repository_full_name=repository.full_name,
        workspace_slug="acme",
        target=name,
        details={"tip": HASH, "repository_uuid": repository.bitbucket_uuid},
    )


# Any request to Bitbucket fails the test: `responses` has nothing registered, so a request raises.
@responses.activate
def test_reader_gets_403_and_nothing_is_sent(personas):
    f.branch(personas.repositories["api"], "feature/x", target_hash=HASH)
    Tag.objects.create(repository=personas.repositories["api"], name="v1", target_hash=HASH)
    carol = _client(personas, "carol")
    assert carol.get("/acme/api/tags/").status_code == 200  # reading is fine
    posts = [
        ("/acme/api/tags/", {"idempotency_key": "k1", "name": "v2", "target": "main"}),
        ("/acme/api/tags/delete?name=v1", {"idempotency_key": "k2"}),
        ("/acme/api/branches/delete?name=feature/x", {"idempotency_key": "k3"}),
        ("/acme/api/branches/cleanup/confirm", {"idempotency_key": "k4", "branch": [f"{HASH}:feature/x"]}),
    ]
    for url, data in posts:
        assert carol.post(url, data).status_code == 403, url
    assert carol.get("/acme/api/branches/cleanup").status_code == 403
    assert carol.get("/acme/api/branches/delete?name=feature/x").status_code == 403
    assert len(responses.calls) == 0
    assert not AuditEvent.objects.filter(result=AuditEvent.Result.SUCCESS).exists()


@responses.activate
def test_outsider_and_other_repository_get_404(personas):
    f.branch(personas.repositories["api"], "feature/x", target_hash=HASH)
    Tag.objects.create(repository=personas.repositories["api"], name="v1", target_hash=HASH)
    dave = _client(personas, "dave")
    for url in (
        "/acme/api/tags/",
        "/acme/api/tags/delete?name=v1",
        "/acme/api/branches/delete?name=feature/x",
        "/acme/api/branches/cleanup",
    ):
        assert dave.get(url).status_code == 404, url
    assert dave.post("/acme/api/tags/", {"idempotency_key": "k", "name": "v2", "target": "main"}).status_code == 404
    # A tag or branch of another repository, named under this one, does not exist here.
    bob = _client(personas, "bob")
    assert bob.get("/acme/web/tags/delete?name=v1").status_code == 404
    assert bob.get("/acme/web/branches/delete?name=feature/x").status_code == 404
    assert len(responses.calls) == 0


@responses.activate
def test_names_from_urls_and_forms_are_checked(personas):
    bob = _client(personas, "bob")
    for url in (
        "/acme/api/branches/delete?name=../../x",
        "/acme/api/branches/delete?name=a%2F..%2Fb",
        "/acme/api/tags/delete?name=..",
        "/acme/api/tags/delete?name=a..b",
        "/acme/api/branches/delete?name=main",
    ):
        assert bob.get(url).status_code == 404, url
    page = bob.get("/acme/api/tags/")
    assert page.status_code == 200
    bad = bob.post("/acme/api/tags/", {"idempotency_key": "k5", "name": "a..b", "target": "main"})
    assert bad.status_code == 200 and "cannot contain" in bad.content.decode()
    bad_target = bob.post("/acme/api/tags/", {"idempotency_key": "k6", "name": "ok", "target": "../x"})
    assert bad_target.status_code == 200 and "parts" in bad_target.content.decode()
    # Picks that are not "<40 hex>:<branch name>" are dropped, never sent.
    confirm = bob.get("/acme/api/branches/cleanup/confirm", {"branch": ["zz:../x", f"{HASH}:a..b", "x"]})
    assert confirm.status_code == 302
    post = bob.post("/acme/api/branches/cleanup/confirm", {"idempotency_key": "k7", "branch": [f"{HASH}:..:x"]})
    assert post.status_code == 200 and len(responses.calls) == 0


def test_tag_messages_and_branch_names_are_inert(personas):
    repo = personas.repositories["api"]
    Tag.objects.create(repository=repo, name="v9", target_hash=HASH, message=XSS, tagger_raw=XSS)
    old = f.branch(repo, "feature/<b>bold</b>", target_date=timezone.now() - timedelta(days=400))
    bob = _client(personas, "bob")
    tags = bob.get("/acme/api/tags/").content.decode()
    assert "<script>alert(1)" not in tags and "&lt;script&gt;" in tags
    cleanup = bob.get("/acme/api/branches/cleanup?days=30").content.decode()
    assert "<b>bold</b>" not in cleanup and "feature/&lt;b&gt;bold&lt;/b&gt;" in cleanup
    confirm = bob.get("/acme/api/branches/cleanup/confirm", {"branch": [f"{old.target_hash}:{old.name}"]})
    assert "<b>bold</b>" not in confirm.content.decode()


@responses.activate
def test_recreate_only_for_entries_the_user_may_act_on(personas):
    alices = _deletion(personas, "alice")
    carols = _deletion(personas, "carol")  # carol only reads api now
    bob = _client(personas, "bob")
    # bob may write to api, but the entry is alice's: not in his part of the audit log.
    assert "Recreate branch" not in bob.get("/-/audit/").content.decode()
    assert bob.post(f"/-/audit/{alices.pk}/recreate", {"idempotency_key": "k8"}).status_code == 404
    carol = _client(personas, "carol")
    assert "Recreate branch" not in carol.get("/-/audit/").content.decode()
    assert carol.post(f"/-/audit/{carols.pk}/recreate", {"idempotency_key": "k9"}).status_code == 404
    # Not a successful deletion with a recorded tip: nothing to undo.
    failed = _deletion(personas, "alice", name="feature/kept")
    AuditEvent.objects.filter(pk=failed.pk).update(result=AuditEvent.Result.FAILURE)
    no_tip = _deletion(personas, "alice", name="feature/no-tip")
    AuditEvent.objects.filter(pk=no_tip.pk).update(details={"repository_uuid": "{x}"})
    alice = _client(personas, "alice")
    for event in (failed, no_tip):
        assert alice.post(f"/-/audit/{event.pk}/recreate", {"idempotency_key": f"k{event.pk}"}).status_code == 404
    assert alice.get(f"/-/audit/{alices.pk}/recreate").status_code == 405  # a write is a POST
    assert len(responses.calls) == 0
    audit_page = alice.get("/-/audit/").content.decode()
    assert audit_page.count("Recreate branch") == 2  # alice (staff) may undo alice's and carol's deletions on api
