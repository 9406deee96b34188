"""The audit event of an action: Bitbucket's request id is kept, the credential's secret never is.

The emulator sends no request id, so these use canned answers (``responses``) carrying ``X-Request-Id``.
"""

import json

import pytest
import responses
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model

from bitbucket_sync import actions
from bitbucket_sync.models import AuditEvent, Credential, Repository, RepositoryAccess, Workspace

pytestmark = pytest.mark.django_db

API = "https://bitbucket.test/2.0"
SECRET = "ATATT-very-secret-token-9f8e7d"
HASH = "a" * 40
COMMIT = {"type": "commit", "hash": HASH, "date": "2026-09-01T08:00:00+00:00", "message": "Start", "parents": []}


@pytest.fixture
def setup(settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user("ada", password="x")
    workspace = Workspace.objects.create(bitbucket_uuid="{w}", slug="acme", name="Acme")
    repository = Repository.objects.create(
        workspace=workspace, bitbucket_uuid="{r}", slug="web", name="web", full_name="acme/web", main_branch="main"
    )
    RepositoryAccess.objects.create(user=user, repository=repository, permission="write")
    credential = Credential(owner=user, kind=Credential.Kind.API_TOKEN, login="ada@example.test", api_url=API)
    credential.set_secret(SECRET)
    credential.save()
    return user, repository


def _no_secret_anywhere():
    for event in AuditEvent.objects.all():
        text = json.dumps(
            [event.message, event.details, event.target, event.request_id, event.credential_kind], default=str
        )
        assert SECRET not in text and SECRET[-8:] not in text


@responses.activate
def test_audit_event_keeps_bitbucket_request_id_on_success(setup):
    user, repository = setup
    responses.get(
        f"{API}/repositories/acme/web/refs/branches/topic",
        status=404,
        json={"type": "error", "error": {"message": "Branch not found"}},
    )
    responses.get(f"{API}/repositories/acme/web/commit/main", json=COMMIT)
    responses.post(
        f"{API}/repositories/acme/web/refs/branches",
        status=201,
        json={"type": "branch", "name": "topic", "target": COMMIT},
        headers={"X-Request-Id": "req-201"},
    )

    actions.create_branch(user=user, repository=repository, name="topic", target="main")

    event = AuditEvent.objects.get()
    assert (event.result, event.request_id, event.credential_kind) == ("success", "req-201", "api_token")
    assert json.loads(responses.calls[-1].request.body) == {"name": "topic", "target": {"hash": HASH}}
    _no_secret_anywhere()


@responses.activate
def test_audit_event_keeps_request_id_and_plain_words_on_refusal(setup):
    user, repository = setup
    responses.get(
        f"{API}/repositories/acme/web/refs/branches/topic",
        status=404,
        json={"type": "error", "error": {"message": "Branch not found"}},
    )
    responses.get(f"{API}/repositories/acme/web/commit/main", json=COMMIT)
    responses.post(
        f"{API}/repositories/acme/web/refs/branches",
        status=403,
        json={
            "type": "error",
            "error": {
                "message": "Your credential lacks one or more required privilege scopes.",
                "detail": {"granted": ["read:repository:bitbucket"], "required": ["write:repository:bitbucket"]},
            },
        },
        headers={"X-Request-Id": "req-403"},
    )

    with pytest.raises(actions.ActionFailed) as failure:
        actions.create_branch(user=user, repository=repository, name="topic", target="main")

    assert failure.value.kind == "credential"
    assert "write:repository:bitbucket" in failure.value.message
    event = AuditEvent.objects.get()
    assert (event.result, event.request_id) == ("failure", "req-403")
    assert "write:repository:bitbucket" in event.message
    _no_secret_anywhere()


@responses.activate
def test_action_without_credential_refused_and_audited(setup):
    user, repository = setup
    Credential.objects.filter(owner=user).delete()

    with pytest.raises(actions.ActionRefused) as refused:
        actions.create_branch(user=user, repository=repository, name="topic", target="main")

    assert "no Bitbucket credential" in refused.value.message
    assert len(responses.calls) == 0
    assert AuditEvent.objects.get().result == "failure"
