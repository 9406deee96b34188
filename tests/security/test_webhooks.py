"""Webhook holes: the public receiver refuses an unknown workspace, live updates off and a bad signature alike."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bitbucket_sync import webhooks
from bitbucket_sync.models import WebhookDelivery, WebhookSubscription, Workspace

SECRET = "s3cret-for-tests-only"


# -- the receiver's refusals -----------------------------------------------------------------------------------------


@pytest.fixture
def subscription(settings, db):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    workspace = Workspace.objects.create(bitbucket_uuid="{" + str(uuid.uuid4()) + "}", slug="acme", name="Acme")
    sub = WebhookSubscription(
        workspace=workspace,
        enabled=True,
        status=WebhookSubscription.Status.ACTIVE,
        hook_uuid="{hook}",
        url="https://dash.example.com/hooks/",
        enabled_at=timezone.now(),
    )
    sub.set_secret(SECRET)
    sub.save()
    return sub


def _refusals(client, subscription) -> dict[str, tuple]:
    """The same signed body posted as an unknown workspace, a workspace with live updates off, a bad signature and a
    secret that cannot be decrypted: each answer with the database queries and signature checks it cost."""
    body = json.dumps({"repository": {"uuid": "{r}", "full_name": "acme/api"}}).encode()
    signed = webhooks.sign(secret=SECRET, body=body)
    known = subscription.workspace.bitbucket_uuid.strip("{}")

    def post(workspace_uuid: str, signature: str):
        compare = mock.patch.object(webhooks.hmac, "compare_digest", wraps=webhooks.hmac.compare_digest)
        with CaptureQueriesContext(connection) as queries, compare as checked:
            response = client.post(
                f"/hooks/bitbucket/{workspace_uuid}/",
                data=body,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE=signature,
                HTTP_X_REQUEST_UUID=str(uuid.uuid4()),
                HTTP_X_EVENT_KEY="repo:push",
            )
        return response, len(queries), checked.call_count

    answers = {
        "unknown workspace": post(str(uuid.uuid4()), signed),
        "bad signature": post(known, webhooks.sign(secret="not-the-secret", body=body)),
    }
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        secret_encrypted=Fernet(Fernet.generate_key()).encrypt(b"x").decode()
    )
    answers["unreadable secret"] = post(known, signed)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        enabled=False, secret_encrypted=subscription.secret_encrypted
    )
    answers["live updates off"] = post(known, signed)
    assert not WebhookDelivery.objects.exists()
    return answers


def test_receiver_refusals_answer_the_same(client, subscription):
    answers = _refusals(client, subscription)
    shapes = {
        name: (response.status_code, response.content, sorted(response.headers.items()))
        for name, (response, _queries, _checks) in answers.items()
    }
    first = shapes["bad signature"]
    assert first[0] == 403
    assert all(shape == first for shape in shapes.values()), shapes


def test_receiver_refusals_do_the_same_work(client, subscription):
    answers = _refusals(client, subscription)
    work = {name: (queries, checks) for name, (_response, queries, checks) in answers.items()}
    # One query and one constant-time signature comparison, whichever the reason: no timing tells them apart.
    assert set(work.values()) == {(1, 1)}, work
