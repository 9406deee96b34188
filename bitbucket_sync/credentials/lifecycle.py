"""A credential's life: added or replaced (checked first), checked again, revoked, picked to sync a workspace.

One active credential per user and site; the one it replaces is kept, inactive, with its secret destroyed. A credential
Bitbucket refuses is never saved. Every add, replace, check and revoke is an audit event; none holds the secret.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from bitbucket_sync import audit, ledger, sites
from bitbucket_sync.credentials import clients, encryption
from bitbucket_sync.credentials.checks import CheckResult, CredentialRejected, check_credential, check_with_client
from bitbucket_sync.models import AuditEvent, Credential, Workspace
from bitbucket_sync.sync import upsert_account
from bitbucket_sync.sync.access import clear_user_access
from bitbucket_sync.tasks import sync_user_access_task

logger = logging.getLogger(__name__)

Kind = Credential.Kind
Status = Credential.Status


def _apply_result(credential: Credential, result: CheckResult) -> None:
    credential.status = result.status
    credential.last_checked_at = timezone.now()
    if result.accepted:
        credential.account = upsert_account(result.account) if result.account else None
        credential.scopes = list(result.scopes)
        credential.scopes_complete = result.scopes_complete
        credential.can_write = bool(result.can_write)
        credential.last_error = ("missing scopes: " + ", ".join(result.missing_scopes)) if result.missing_scopes else ""
        if credential.kind in (Kind.ACCESS_TOKEN, Kind.HTTP_ACCESS_TOKEN):
            credential.scope_kind = result.scope_kind
            credential.scope_name = result.scope_name or credential.scope_name
    else:
        credential.last_error = result.message


def _write_ledger(credential: Credential, result: CheckResult) -> None:
    """The check ran before the row existed; its requests are charged to the credential now."""
    record = ledger.recorder(credential, purpose="check")
    for request in result.requests:
        record(request)


def enqueue_access_sync(user_id: int) -> None:
    """After a credential is saved or found valid: refresh what the user may see, once the transaction commits."""

    transaction.on_commit(lambda: sync_user_access_task.delay(user_id))


@sensitive_variables()
def save_credential(
    *,
    actor,
    owner,
    kind: str,
    secret: str,
    login: str = "",
    api_url: str = "",
    workspace: str = "",
    session=None,
    checked: CheckResult | None = None,
) -> tuple[Credential, CheckResult]:
    """Check a credential with Bitbucket, then make it `owner`'s active one (the previous one is kept, inactive, with
    its secret destroyed). Raises `CredentialRejected` (nothing saved, a failure audited) when Bitbucket refuses it,
    and ValueError (nothing asked, nothing saved) for bad input, such as an API URL that is not a configured endpoint.

    `checked` is the result of a `check_credential` already made with these very values (the admin's form checks
    while it validates), so Bitbucket is not asked twice."""
    kind = Kind(kind)
    login = login.strip()
    secret = secret.strip()
    api_url = sites.checked_api_url(api_url)
    if kind in (Kind.API_TOKEN, Kind.APP_PASSWORD) and not login:
        raise ValueError("an API token needs the Atlassian account email; an app password the Bitbucket username")
    if kind == Kind.BASIC and not login:
        raise ValueError("a Data Center username and password need the username (--login)")
    if not secret:
        raise ValueError("the secret is empty")
    previous = Credential.objects.active_for(owner, api_url=api_url).first()
    action = "credential.replace" if previous else "credential.add"

    result = checked or check_credential(
        kind=kind, login=login, secret=secret, api_url=api_url, workspace=workspace, session=session
    )
    if not result.accepted:
        audit.record(
            actor=actor,
            action=action,
            result=AuditEvent.Result.FAILURE,
            subject_user=owner,
            credential_kind=kind,
            message=result.message,
            request_id=result.request_id,
            details={"status": result.status},
        )
        raise CredentialRejected(result)

    with transaction.atomic():
        moved_workspaces: list[str] = []
        dropped_workspaces: list[str] = []
        # Lock the owner: two saves at once for one person must not both find "no active credential".
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        previous = Credential.objects.select_for_update().active_for(owner, api_url=api_url).first()
        if previous is not None:
            previous.is_active = False
            previous.secret_encrypted = ""
            previous.save(update_fields=["is_active", "secret_encrypted"])
        if kind == Kind.HTTP_ACCESS_TOKEN and not login and result.account and not result.scope_kind:
            # A personal token given without its username: the one Data Center says it acts as.
            login = result.account.account_id or ""
        credential = Credential(owner=owner, kind=kind, login=login, api_url=api_url, created_by=_user_or_none(actor))
        if kind in (Kind.ACCESS_TOKEN, Kind.HTTP_ACCESS_TOKEN):
            credential.scope_name = workspace.strip()
        credential.set_secret(secret)
        _apply_result(credential, result)
        credential.save()
        if previous is not None:
            reachable = {ws.slug for ws in result.workspaces}
            for synced in Workspace.objects.select_for_update().filter(sync_credential=previous):
                if synced.key in reachable and (not synced.api_url or sites.same_site(synced.api_url, api_url)):
                    moved_workspaces.append(synced.slug)
                    synced.sync_credential = credential
                else:
                    dropped_workspaces.append(synced.slug)
                    synced.sync_credential = None
                    synced.sync_credential_pinned = False
                synced.save(update_fields=["sync_credential", "sync_credential_pinned"])
        _write_ledger(credential, result)
        message = result.summary()
        if dropped_workspaces:
            message += "; no longer syncs " + ", ".join(dropped_workspaces) + " (the new credential cannot see it)"
        audit.record(
            actor=actor,
            action=action,
            result=AuditEvent.Result.SUCCESS,
            subject_user=owner,
            credential_kind=kind,
            target=credential.masked,
            message=message,
            details={
                **result.details(),
                "credential_id": credential.pk,
                "replaced_credential_id": previous.pk if previous else None,
                "sync_moved": moved_workspaces,
                "sync_dropped": dropped_workspaces,
            },
        )
        enqueue_access_sync(owner.pk)
    logger.info("credential %s saved for user %s (%s)", credential.pk, owner.pk, kind)
    return credential, result


def recheck_credential(*, actor, credential: Credential, session=None) -> CheckResult:
    """ "Check now": ask Bitbucket again with the stored secret and record what it said (the requests go to the
    ledger as they happen). A valid answer refreshes the owner's access."""
    if credential.status == Status.REVOKED or not credential.secret_encrypted:
        result = CheckResult(accepted=False, status=credential.status, message="This credential is no longer in use.")
    elif (url_problem := _api_url_problem(credential.api_url)) is not None:
        result = CheckResult(accepted=False, status=Status.INVALID, message=url_problem)
    else:
        try:
            with clients.client_for(credential, purpose="check", session=session) as client:
                result = check_with_client(
                    client,
                    kind=credential.kind,
                    workspace_hint=credential.scope_name
                    if credential.kind in (Kind.ACCESS_TOKEN, Kind.HTTP_ACCESS_TOKEN)
                    else "",
                    login=credential.login if credential.kind == Kind.BASIC or not credential.scope_kind else "",
                )
        except encryption.SecretUnreadable as error:
            result = CheckResult(accepted=False, status=Status.INVALID, message=str(error))
    with transaction.atomic():
        fresh = Credential.objects.select_for_update().get(pk=credential.pk)
        if fresh.status != Status.REVOKED:
            if result.status == Status.UNCHECKED:
                # Bitbucket could not be asked: the credential is not known to be bad, keep what was known.
                fresh.last_error = result.message
                fresh.last_checked_at = timezone.now()
            else:
                _apply_result(fresh, result)
            fresh.save()
        audit.record(
            actor=actor,
            action="credential.check",
            result=AuditEvent.Result.SUCCESS if result.valid else AuditEvent.Result.FAILURE,
            subject_user=fresh.owner,
            credential_kind=fresh.kind,
            target=fresh.masked,
            request_id=result.request_id,
            message=result.summary(),
            details={**result.details(), "credential_id": fresh.pk},
        )
        if result.valid and fresh.is_active:
            enqueue_access_sync(fresh.owner_id)
    credential.refresh_from_db()
    return result


def _api_url_problem(api_url: str) -> str | None:
    try:
        sites.checked_api_url(api_url)
    except sites.ApiUrlNotAllowed as error:
        return str(error)
    return None


def revoke_credential(*, actor, credential: Credential) -> Credential:
    """Stop using a credential: it is marked revoked, its secret destroyed, and no workspace syncs with it any more.
    When it was the owner's active one, the owner sees nothing from this moment until a new one is checked (their
    access rows go in the same transaction). (Bitbucket has no API to revoke a token; its owner deletes it there.)"""
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        if credential.status == Status.REVOKED:
            return credential
        if credential.is_active:
            clear_user_access(credential.owner, credential=credential)
        dropped = list(
            Workspace.objects.filter(sync_credential=credential).order_by("slug").values_list("slug", flat=True)
        )
        Workspace.objects.filter(sync_credential=credential).update(sync_credential=None, sync_credential_pinned=False)
        credential.status = Status.REVOKED
        credential.is_active = False
        credential.revoked_at = timezone.now()
        credential.secret_encrypted = ""
        credential.save(update_fields=["status", "is_active", "revoked_at", "secret_encrypted"])
        message = "revoked"
        if dropped:
            message += "; workspaces without a sync credential now: " + ", ".join(dropped)
        audit.record(
            actor=actor,
            action="credential.revoke",
            result=AuditEvent.Result.SUCCESS,
            subject_user=credential.owner,
            credential_kind=credential.kind,
            target=credential.masked,
            message=message,
            details={"credential_id": credential.pk, "sync_dropped": dropped},
        )
    return credential


def set_sync_credential(*, actor, workspace: Workspace, credential: Credential | None) -> Workspace:
    """Pick the credential a workspace is synced with (None: none, and the automatic pick may choose again). It must
    be active, valid and of the workspace's site; the automatic pick never replaces it."""
    if credential is not None and (not credential.is_active or credential.status != Status.VALID):
        raise ValueError("only an active, valid credential can sync a workspace")
    if credential is not None and workspace.api_url and not sites.same_site(credential.api_url, workspace.api_url):
        raise ValueError(f"{workspace.slug} belongs to {workspace.api_url}; pick a credential of that site")
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
        previous = workspace.sync_credential
        workspace.sync_credential = credential
        workspace.sync_credential_pinned = credential is not None
        workspace.save(update_fields=["sync_credential", "sync_credential_pinned"])
        audit.record(
            actor=actor,
            action="workspace.sync_credential",
            result=AuditEvent.Result.SUCCESS,
            subject_user=credential.owner if credential else None,
            credential_kind=credential.kind if credential else "",
            workspace_slug=workspace.slug,
            message=(f"syncs with {credential}" if credential else "no sync credential")
            + (f" (was {previous})" if previous else ""),
            details={
                "credential_id": credential.pk if credential else None,
                "previous_credential_id": previous.pk if previous else None,
            },
        )
    return workspace


def _user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None
