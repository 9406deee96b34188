"""The public webhook receiver: signatures, redeliveries, size and the answers Bitbucket gets."""

import json
import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from bitbucket_sync import webhooks
from bitbucket_sync.models import WebhookDelivery, WebhookSubscription, Workspace
from tests import factories as f

SECRET = "s3cret-for-tests-only"


@pytest.fixture
def subscription(settings, db):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    workspace = Workspace.objects.create(bitbucket_uuid="{" + str(uuid.uuid4()) + "}", slug="acme", name="Acme")
    return f.webhook_subscription(workspace, secret=SECRET)


def _url(workspace: Workspace) -> str:
    return f"/hooks/bitbucket/{workspace.bitbucket_uuid.strip('{}')}/"


def _body(title: str = "Add retries") -> bytes:
    payload = {"repository": {"uuid": "{r}", "full_name": "acme/api"}, "pullrequest": {"title": title}}
    return json.dumps(payload).encode()


def _post(client, workspace, body: bytes, *, signature: str | None = "sign", request_uuid: str = "req-1", **headers):
    extra = {"HTTP_X_EVENT_KEY": "pullrequest:updated", "HTTP_X_REQUEST_UUID": request_uuid}
    if signature == "sign":
        signature = webhooks.sign(secret=SECRET, body=body)
    if signature is not None:
        extra["HTTP_X_HUB_SIGNATURE"] = signature
    extra.update(headers)
    return client.post(_url(workspace), data=body, content_type="application/json", **extra)


def test_verify_signature_matches_bitbucket_format():
    body = b'{"a": 1}'
    assert webhooks.sign(secret="k", body=body).startswith("sha256=")
    assert webhooks.verify_signature(secret="k", body=body, header=webhooks.sign(secret="k", body=body))
    assert not webhooks.verify_signature(secret="k", body=body, header=webhooks.sign(secret="other", body=body))
    assert not webhooks.verify_signature(secret="k", body=body, header=None)
    assert not webhooks.verify_signature(secret="", body=body, header=webhooks.sign(secret="", body=body))
    assert not webhooks.verify_signature(secret="k", body=body, header="sha256=é")


def test_receiver_valid_signature_accepted_and_enqueued(client, subscription, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _post(client, subscription.workspace, _body())
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert (delivery.request_uuid, delivery.event, delivery.result) == ("req-1", "pullrequest:updated", "queued")
    assert delivery.repository_full_name == "acme/api"
    assert len(callbacks) == 1  # the apply task, sent once the delivery is committed
    subscription.refresh_from_db()
    assert subscription.last_delivery_at is not None


def test_receiver_missing_signature_refused(client, subscription):
    response = _post(client, subscription.workspace, _body(), signature=None)
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_receiver_wrong_signature_refused(client, subscription):
    body = _body()
    wrong = webhooks.sign(secret="not-the-secret", body=body)
    assert _post(client, subscription.workspace, body, signature=wrong).status_code == 403
    assert _post(client, subscription.workspace, body, signature="sha256=" + "0" * 64).status_code == 403
    assert _post(client, subscription.workspace, body, signature="garbage").status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_receiver_body_changed_after_signing_refused(client, subscription):
    signature = webhooks.sign(secret=SECRET, body=_body("Add retries"))
    response = _post(client, subscription.workspace, _body("Add retries!"), signature=signature)
    assert response.status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_receiver_redelivery_changes_nothing(client, subscription, django_capture_on_commit_callbacks):
    body = _body()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = _post(client, subscription.workspace, body, request_uuid="same")
        again = _post(client, subscription.workspace, body, request_uuid="same", HTTP_X_ATTEMPT_NUMBER="2")
    assert (first.status_code, again.status_code) == (202, 200)
    assert len(callbacks) == 1  # applied once
    delivery = WebhookDelivery.objects.get()
    assert delivery.redeliveries == 1
    assert delivery.attempt == 1


def test_receiver_unknown_workspace_is_refused(client, subscription):
    body = _body()
    response = client.post(
        f"/hooks/bitbucket/{uuid.uuid4()}/",
        data=body,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE=webhooks.sign(secret=SECRET, body=body),
        HTTP_X_REQUEST_UUID="r",
        HTTP_X_EVENT_KEY="repo:push",
    )
    assert response.status_code == 403  # as for a wrong signature: the receiver does not say which workspaces exist


def test_receiver_without_active_subscription_is_403(client, subscription):
    WebhookSubscription.objects.filter(pk=subscription.pk).update(enabled=False)
    assert _post(client, subscription.workspace, _body()).status_code == 403
    assert not WebhookDelivery.objects.exists()


def test_receiver_oversized_body_refused_before_reading(client, subscription):
    body = b'{"x": "' + b"a" * (webhooks.MAX_BODY_BYTES + 1) + b'"}'
    assert _post(client, subscription.workspace, body).status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_receiver_get_not_allowed(client, subscription):
    assert client.get(_url(subscription.workspace)).status_code == 405


def test_receiver_signed_but_not_json_is_400(client, subscription):
    assert _post(client, subscription.workspace, b"not json").status_code == 400
    assert _post(client, subscription.workspace, b"[1, 2]").status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_receiver_needs_request_uuid(client, subscription):
    assert _post(client, subscription.workspace, _body(), request_uuid="").status_code == 400


def test_prune_deliveries_keeps_the_newest(subscription):
    now = timezone.now()
    for n in range(15):
        WebhookDelivery.objects.create(
            workspace=subscription.workspace,
            request_uuid=f"r{n}",
            event="repo:push",
            received_at=now + timedelta(seconds=n),
        )
    assert webhooks.prune_deliveries(workspace_id=subscription.workspace_id, keep=10) == 5
    kept = set(WebhookDelivery.objects.values_list("request_uuid", flat=True))
    assert kept == {f"r{n}" for n in range(5, 15)}


def test_stale_deliveries_are_those_left_queued(subscription):
    now = timezone.now()
    old = WebhookDelivery.objects.create(
        workspace=subscription.workspace, request_uuid="old", event="repo:push", received_at=now - timedelta(minutes=5)
    )
    WebhookDelivery.objects.create(
        workspace=subscription.workspace, request_uuid="new", event="repo:push", received_at=now
    )
    WebhookDelivery.objects.create(
        workspace=subscription.workspace,
        request_uuid="done",
        event="repo:push",
        received_at=now - timedelta(minutes=5),
        result=WebhookDelivery.Result.APPLIED,
    )
    assert webhooks.stale_deliveries() == [old.pk]


def test_rotate_keys_reencrypts_webhook_secrets(subscription, settings):
    from bitbucket_sync.credentials.rotation import rotate_keys

    old_key, new_key = settings.BBDASH_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    before = subscription.secret_encrypted
    settings.BBDASH_ENCRYPTION_KEYS = [new_key, old_key]
    assert rotate_keys(actor=None) == 1
    settings.BBDASH_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    rotated = WebhookSubscription.objects.get(pk=subscription.pk)
    assert rotated.secret_encrypted != before
    assert rotated.get_secret() == SECRET
