"""`bitbucket_credential set|check` against the emulator: the provisioning path `make demo` uses."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from bitbucket_sync.models import AuditEvent, Credential

pytestmark = pytest.mark.django_db


def _set(emulator, monkeypatch, username: str, secret: str, *extra: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    out = io.StringIO()
    account = emulator.account(username)
    call_command(
        "bitbucket_credential",
        "set",
        username,
        "--kind",
        "api_token",
        "--login",
        account["email"],
        "--secret-stdin",
        "--api-url",
        emulator.api_url,
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_bitbucket_credential_set_creates_staff_user_and_saves(emulator, monkeypatch):
    secret = emulator.account("alice")["api_token"]
    output = _set(emulator, monkeypatch, "alice", secret, "--create-user", "--staff")

    user = get_user_model().objects.get(username="alice")
    assert user.is_staff and not user.has_usable_password()
    credential = Credential.objects.get(owner=user, is_active=True)
    assert credential.get_secret() == secret
    assert "workspace: acme (administrator)" in output and "Valid" in output
    assert secret not in output
    event = AuditEvent.objects.get(action="credential.add")
    assert event.actor is None and event.subject_user == user


def test_bitbucket_credential_set_refused_names_bitbucket_reason(emulator, monkeypatch, django_user_model):
    django_user_model.objects.create_user("bob")
    with pytest.raises(CommandError, match="not saved: Bitbucket refused the credential: Invalid credentials"):
        _set(emulator, monkeypatch, "bob", "not-bobs-token-0000")
    assert not Credential.objects.exists()


def test_bitbucket_credential_set_unknown_user_needs_create_flag(emulator, monkeypatch):
    with pytest.raises(CommandError, match="--create-user"):
        _set(emulator, monkeypatch, "carol", "whatever-1234")


def test_bitbucket_credential_check_reports_invalid(emulator, monkeypatch):
    _set(emulator, monkeypatch, "bob", emulator.account("bob")["api_token"], "--create-user")
    call_command("bitbucket_credential", "check", "bob", stdout=io.StringIO())  # valid: no error

    next(u for u in emulator.world.users.values() if u.username == "bob").api_token = "revoked-at-bitbucket"
    with pytest.raises(CommandError, match="credential is invalid: Bitbucket refused the credential"):
        call_command("bitbucket_credential", "check", "bob", stdout=io.StringIO())
    assert Credential.objects.get(owner__username="bob").status == Credential.Status.INVALID
