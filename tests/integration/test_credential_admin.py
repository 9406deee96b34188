"""Django admin for credentials: the secret is write-only, checked with Bitbucket, and never in the history."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from bitbucket_sync.models import Credential

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", email="root@example.com"))
    return client


def test_credential_admin_add_checks_and_never_shows_the_secret(emulator, admin_client, django_user_model):
    bob = django_user_model.objects.create_user("bob")
    account = emulator.account("bob")
    form = {
        "owner": bob.pk,
        "kind": "api_token",
        "login": account["email"],
        "api_url": emulator.api_url,
        "scope_name": "",
        "secret": account["api_token"],
    }

    refused = admin_client.post(reverse("admin:bitbucket_sync_credential_add"), {**form, "secret": "wrong-0000"})
    assert "Bitbucket refused the credential: Invalid credentials" in refused.content.decode()
    assert "wrong-0000" not in refused.content.decode()
    assert not Credential.objects.exists()

    added = admin_client.post(reverse("admin:bitbucket_sync_credential_add"), form)
    assert added.status_code == 302
    credential = Credential.objects.get(owner=bob)
    assert credential.status == Credential.Status.VALID

    change = admin_client.get(reverse("admin:bitbucket_sync_credential_change", args=[credential.pk]))
    body = change.content.decode()
    assert change.status_code == 200 and f"…{credential.secret_last4}" in body
    assert account["api_token"] not in body and credential.secret_encrypted not in body

    replaced = admin_client.post(
        reverse("admin:bitbucket_sync_credential_change", args=[credential.pk]), {"secret": account["api_token"]}
    )
    assert replaced.status_code == 302
    assert Credential.objects.filter(owner=bob).count() == 2
    history = " ".join(str(entry.change_message) + entry.get_change_message() for entry in LogEntry.objects.all())
    assert "checked with Bitbucket" in history and account["api_token"] not in history


def test_audit_event_admin_is_read_only(admin_client):
    assert admin_client.get(reverse("admin:bitbucket_sync_auditevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:bitbucket_sync_auditevent_add")).status_code == 403
