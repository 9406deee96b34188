"""Credential services against the emulator over real HTTP: checking, refusing, replacing, revoking, auditing."""

from __future__ import annotations

import pytest
import requests

from bitbucket_sync.credentials.checks import CredentialRejected, check_credential
from bitbucket_sync.credentials.lifecycle import (
    recheck_credential,
    revoke_credential,
    save_credential,
    set_sync_credential,
)
from bitbucket_sync.models import AuditEvent, Credential, RepositoryAccess, RequestLedgerEntry, Workspace
from tests import factories

pytestmark = pytest.mark.django_db


def _token(emulator, name: str) -> dict:
    return next(token for token in emulator.access_tokens if token["name"] == name)


def _save_api_token(emulator, owner, username: str, *, actor=None):
    account = emulator.account(username)
    return save_credential(
        actor=actor,
        owner=owner,
        kind="api_token",
        login=account["email"],
        secret=account["api_token"],
        api_url=emulator.api_url,
    )


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("admin", is_staff=True)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


def test_save_credential_valid_api_token_resolves_account_and_workspaces(emulator, staff, bob):
    credential, result = _save_api_token(emulator, bob, "bob", actor=staff)

    assert result.accepted and result.can_read
    assert result.account.display_name == emulator.account("bob")["display_name"]
    assert [ws.slug for ws in result.workspaces] == emulator.account("bob")["workspaces"]
    credential.refresh_from_db()
    assert credential.is_active and credential.status == Credential.Status.VALID
    assert credential.account.bitbucket_uuid == emulator.account("bob")["uuid"]
    assert credential.secret_last4 == emulator.account("bob")["api_token"][-4:]
    assert credential.last_checked_at is not None and credential.created_by == staff
    assert "read:repository:bitbucket" in credential.scopes
    # The check's requests were charged to the credential once it existed.
    assert RequestLedgerEntry.objects.filter(credential=credential, purpose="check").count() == len(result.requests)
    event = AuditEvent.objects.get(action="credential.add")
    assert (event.actor, event.subject_user, event.result) == (staff, bob, AuditEvent.Result.SUCCESS)
    assert event.credential_kind == "api_token" and "acts as" in event.message


def test_save_credential_rejected_by_bitbucket_saves_nothing(emulator, staff, bob):
    account = emulator.account("bob")
    wrong = account["api_token"][:-4] + "XXXX"
    with pytest.raises(CredentialRejected) as caught:
        save_credential(
            actor=staff, owner=bob, kind="api_token", login=account["email"], secret=wrong, api_url=emulator.api_url
        )

    result = caught.value.result
    assert result.status == Credential.Status.INVALID
    # Bitbucket's own message (the emulator answers 401 "Invalid credentials").
    assert result.message == "Bitbucket refused the credential: Invalid credentials"
    assert not Credential.objects.exists()
    assert not RequestLedgerEntry.objects.exists()
    event = AuditEvent.objects.get()
    assert (event.action, event.result, event.subject_user) == ("credential.add", "failure", bob)
    assert wrong not in repr(caught.value) + str(caught.value) + event.message + repr(event.details)


def test_save_credential_app_password_refused_after_removal(emulator, staff, bob):
    requests.post(f"{emulator.base_url}/_emulator/app-passwords", json={"enabled": False}, timeout=5).raise_for_status()
    account = emulator.account("bob")
    with pytest.raises(CredentialRejected) as caught:
        save_credential(
            actor=staff,
            owner=bob,
            kind="app_password",
            login=account["username"],
            secret=account["app_password"],
            api_url=emulator.api_url,
        )

    message = caught.value.result.message
    assert "App passwords have been removed" in message  # Bitbucket's words
    assert "removed app passwords on 2026-07-28" in message and "API token" in message  # and ours
    assert caught.value.result.status == Credential.Status.EXPIRED
    assert not Credential.objects.exists()


def test_save_credential_app_password_still_accepted_is_flagged_legacy(emulator, bob):
    account = emulator.account("bob")
    credential, result = save_credential(
        actor=None,
        owner=bob,
        kind="app_password",
        login=account["username"],
        secret=account["app_password"],
        api_url=emulator.api_url,
    )
    assert credential.status == Credential.Status.VALID
    assert any("2026-07-28" in note for note in result.notes)


def test_save_credential_replace_keeps_history_and_moves_sync(emulator, staff, bob):
    first, _ = _save_api_token(emulator, bob, "bob", actor=staff)
    workspace = Workspace.objects.create(bitbucket_uuid="{ws-acme}", slug="acme")
    set_sync_credential(actor=staff, workspace=workspace, credential=first)

    second, _ = _save_api_token(emulator, bob, "bob", actor=staff)

    first.refresh_from_db()
    workspace.refresh_from_db()
    assert not first.is_active and first.secret_encrypted == ""  # kept for the history, secret destroyed
    assert second.is_active and Credential.objects.filter(owner=bob, is_active=True).get() == second
    assert workspace.sync_credential == second
    assert AuditEvent.objects.filter(action="credential.replace", result="success").count() == 1


def test_revoke_credential_destroys_secret_and_stops_sync(emulator, staff, bob):
    credential, _ = _save_api_token(emulator, bob, "bob")
    workspace = Workspace.objects.create(bitbucket_uuid="{ws-acme}", slug="acme", sync_credential=credential)

    revoke_credential(actor=staff, credential=credential)

    credential.refresh_from_db()
    workspace.refresh_from_db()
    assert credential.status == Credential.Status.REVOKED and not credential.is_active
    assert credential.secret_encrypted == "" and credential.revoked_at is not None
    assert workspace.sync_credential is None
    event = AuditEvent.objects.get(action="credential.revoke")
    assert event.actor == staff and "acme" in event.message
    assert recheck_credential(actor=staff, credential=credential).status == Credential.Status.REVOKED


def test_revoke_credential_already_replaced_keeps_the_owners_access(staff, bob):
    old = factories.credential(bob, is_active=False)
    factories.credential(bob)
    factories.grant(bob, factories.repository(factories.workspace("acme"), "web"))
    revoke_credential(actor=staff, credential=old)
    assert RepositoryAccess.objects.filter(user=bob).count() == 1  # the active credential still sees it


def test_recheck_credential_finds_a_token_bitbucket_no_longer_accepts(emulator, staff, bob):
    credential, _ = _save_api_token(emulator, bob, "bob")
    user = next(u for u in emulator.world.users.values() if u.username == "bob")
    user.api_token = "rotated-at-bitbucket-0000"

    result = recheck_credential(actor=staff, credential=credential)

    credential.refresh_from_db()
    assert result.status == credential.status == Credential.Status.INVALID
    assert "Invalid credentials" in credential.last_error
    assert RequestLedgerEntry.objects.filter(credential=credential, purpose="check", status=401).exists()
    event = AuditEvent.objects.get(action="credential.check")
    assert (event.actor, event.result) == (staff, "failure")


def test_save_credential_enqueues_the_owners_access_sync(emulator, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _save_api_token(emulator, bob, "bob")
    assert len(callbacks) == 1


def test_check_credential_workspace_access_token_lists_its_workspace(emulator):
    token = _token(emulator, "acme-sync")
    result = check_credential(kind="access_token", secret=token["token"], api_url=emulator.api_url)
    assert result.accepted and result.scope_kind == "workspace" and result.scope_name == "acme"
    assert [ws.slug for ws in result.workspaces] == ["acme"]
    assert result.account.type == "app_user"


def test_check_credential_repository_access_token_needs_its_workspace(emulator, bob):
    token = _token(emulator, "docs-readonly")
    without = check_credential(kind="access_token", secret=token["token"], api_url=emulator.api_url)
    assert not without.accepted and "enter the workspace" in without.message

    result = check_credential(kind="access_token", secret=token["token"], api_url=emulator.api_url, workspace="acme")
    assert result.accepted and (result.scope_kind, result.scope_name) == ("repository", "acme/docs")
    # Read-only token: Bitbucket listed its scopes when it refused `account`, so the missing ones are known.
    assert result.scopes_complete and result.can_read and result.can_write is False
    saved, _ = save_credential(
        actor=None, owner=bob, kind="access_token", secret=token["token"], api_url=emulator.api_url, workspace="acme"
    )
    assert saved.scopes_complete and not saved.can_write and saved.scope_name == "acme/docs"
    assert set(result.missing_scopes) == {"repository:write", "pullrequest:write"}


def test_check_credential_api_token_missing_scope_is_named(emulator):
    user = next(u for u in emulator.world.users.values() if u.username == "bob")
    user.api_token_scopes = ["read:user:bitbucket", "read:workspace:bitbucket", "read:repository:bitbucket"]
    account = emulator.account("bob")
    result = check_credential(
        kind="api_token", login=account["email"], secret=account["api_token"], api_url=emulator.api_url
    )
    assert result.accepted and result.scopes_complete
    assert "read:pullrequest:bitbucket" in result.missing_scopes
    assert "write:pullrequest:bitbucket" in result.missing_scopes
