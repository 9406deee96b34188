"""Credential services: add or replace a user's Bitbucket credential, revoke it, check it, re-encrypt every secret.

A credential is checked against Bitbucket before it is saved: one Bitbucket rejects is refused with Bitbucket's own
message and nothing is written. Every add, replace, revoke, check and rotation is an audit event; none ever holds
the secret. Secrets go from the form (or stdin) straight into the client and the cipher: they are never logged,
never part of an exception, and never read back out to a page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from bitbucket_sync import audit, encryption, sites
from bitbucket_sync.client import (
    ALL_STATES,
    AccessToken,
    ApiToken,
    AppPassword,
    AppPasswordRemoved,
    AuthError,
    BitbucketClient,
    BitbucketError,
    NotFound,
    RequestRecord,
)
from bitbucket_sync.client import Account as AccountRecord
from bitbucket_sync.models import AuditEvent, Credential, WebhookSubscription, Workspace
from bitbucket_sync.sync import upsert_account
from bitbucket_sync.sync.access import clear_user_access

logger = logging.getLogger(__name__)

Kind = Credential.Kind
Status = Credential.Status

APP_PASSWORDS_REMOVED = (
    "Bitbucket Cloud removed app passwords on 2026-07-28: they are no longer accepted. Create an API token with "
    "Bitbucket scopes at id.atlassian.com (Security > API tokens) and use it with your Atlassian account email."
)

# What bbdash needs, in each vocabulary. API tokens carry the new scope names, which imply nothing; app passwords and
# access tokens carry the legacy names, where `pullrequest:write` implies `repository:write` and so on.
_READ_SCOPES: dict[str, tuple[str, ...]] = {
    Kind.API_TOKEN: (
        "read:user:bitbucket",
        "read:workspace:bitbucket",
        "read:repository:bitbucket",
        "read:pullrequest:bitbucket",
    ),
    Kind.APP_PASSWORD: ("account", "repository", "pullrequest"),
    # Repository and project access tokens cannot hold `account`; they are told their workspace instead.
    Kind.ACCESS_TOKEN: ("repository", "pullrequest"),
}
_WRITE_SCOPES: dict[str, tuple[str, ...]] = {
    Kind.API_TOKEN: ("write:repository:bitbucket", "write:pullrequest:bitbucket"),
    Kind.APP_PASSWORD: ("repository:write", "pullrequest:write"),
    Kind.ACCESS_TOKEN: ("repository:write", "pullrequest:write"),
}
# The scope each probe needs, per vocabulary: a probe that answered 200 proves its scope.
_PROBE_SCOPES = {
    "user": {Kind.API_TOKEN: "read:user:bitbucket", "legacy": "account"},
    "workspaces": {Kind.API_TOKEN: "read:workspace:bitbucket", "legacy": "account"},
    "repositories": {Kind.API_TOKEN: "read:repository:bitbucket", "legacy": "repository"},
    "pullrequests": {Kind.API_TOKEN: "read:pullrequest:bitbucket", "legacy": "pullrequest"},
}


class CredentialRejected(Exception):
    """Bitbucket refused the credential (or could not be asked); `result.message` says why. Nothing was saved."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


@dataclass(frozen=True)
class CheckedWorkspace:
    slug: str
    name: str
    uuid: str
    administrator: bool


@dataclass(frozen=True)
class CheckResult:
    """What Bitbucket said about a credential. Never holds the secret.

    `accepted` is False when Bitbucket rejected the credential (401) or could not be asked; `message` is then
    Bitbucket's own message (or the reason it could not be asked). `scopes` are the scopes found: exactly what
    Bitbucket granted when a probe was refused for a scope (its answer lists them), else the scopes that the probes
    which answered prove. `can_write` is None when Bitbucket gave no way to know without writing something.
    """

    accepted: bool
    status: str
    message: str = ""
    account: AccountRecord | None = None
    workspaces: tuple[CheckedWorkspace, ...] = ()
    scopes: tuple[str, ...] = ()
    scopes_complete: bool = False
    can_read: bool = False
    can_write: bool | None = None
    missing_scopes: tuple[str, ...] = ()
    scope_kind: str = ""
    scope_name: str = ""
    request_id: str = ""
    notes: tuple[str, ...] = ()
    requests: tuple[RequestRecord, ...] = field(default=(), repr=False, compare=False)

    @property
    def valid(self) -> bool:
        return self.status == Status.VALID

    def summary(self) -> str:
        """One line for the audit log and the pages."""
        if not self.accepted:
            return self.message
        who = self.account.display_name if self.account else (self.scope_name or "an access token")
        seen = ", ".join(ws.slug + (" (admin)" if ws.administrator else "") for ws in self.workspaces)
        parts = [f"acts as {who}", f"sees {seen}"]
        parts.append("read" + ("/write" if self.can_write else "" if self.can_write is False else "/write unverified"))
        if self.missing_scopes:
            parts.append("missing scopes: " + ", ".join(self.missing_scopes))
        return "; ".join(parts)

    def details(self) -> dict:
        return {
            "status": self.status,
            "account": self.account.display_name if self.account else "",
            "workspaces": [ws.slug for ws in self.workspaces],
            "scopes": list(self.scopes),
            "missing_scopes": list(self.missing_scopes),
            "can_write": self.can_write,
            "scope_kind": self.scope_kind,
            "scope_name": self.scope_name,
        }


@sensitive_variables()
def client_auth(*, kind: str, login: str, secret: str) -> ApiToken | AppPassword | AccessToken:
    if kind == Kind.API_TOKEN:
        return ApiToken(login, secret)
    if kind == Kind.APP_PASSWORD:
        return AppPassword(login, secret)
    if kind == Kind.ACCESS_TOKEN:
        return AccessToken(secret)
    raise ValueError(f"unknown credential kind {kind!r}")


def default_api_url() -> str:
    return settings.BITBUCKET_API_URL


def checked_api_url(api_url: str) -> str:
    """The credential's API URL normalised (empty: the site's Bitbucket), or `sites.ApiUrlNotAllowed`: the secret is
    sent there, so only a configured Bitbucket endpoint will do."""
    return sites.checked_api_url(api_url)


# -- checking ---------------------------------------------------------------------------------------------------


@sensitive_variables()
def check_credential(
    *,
    kind: str,
    secret: str,
    login: str = "",
    api_url: str = "",
    workspace: str = "",
    session=None,
    on_request: Callable[[RequestRecord], None] | None = None,
) -> CheckResult:
    """Ask Bitbucket what a (not yet saved) credential can do. Never raises for anything Bitbucket answers.

    `workspace` is the slug a project or repository access token belongs to (those cannot list their workspaces);
    other kinds ignore it unless they see no workspace of their own. Raises `sites.ApiUrlNotAllowed` (a ValueError),
    before any request, when `api_url` is not one of the configured Bitbucket endpoints.
    """
    base_url = checked_api_url(api_url)
    seen: list[RequestRecord] = []

    def record(request: RequestRecord) -> None:
        seen.append(request)
        if on_request is not None:
            on_request(request)

    auth = client_auth(kind=kind, login=login, secret=secret)
    with BitbucketClient(auth, base_url=base_url, session=session, on_request=record) as client:
        result = _probe(client, kind=kind, workspace_hint=workspace.strip().strip("/"))
    return _with_requests(result, tuple(seen))


def _with_requests(result: CheckResult, requests: tuple[RequestRecord, ...]) -> CheckResult:
    return CheckResult(**{**result.__dict__, "requests": requests})


class _Probe:
    """The state of one check: what each call proved, and the scopes Bitbucket listed when it refused one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.proven: set[str] = set()
        self.granted: tuple[str, ...] | None = None
        self.refused_for_scope = False

    def vocabulary(self) -> str:
        return Kind.API_TOKEN if self.kind == Kind.API_TOKEN else "legacy"

    def prove(self, probe: str) -> None:
        self.proven.add(_PROBE_SCOPES[probe][self.vocabulary()])

    def learn(self, error: AuthError) -> bool:
        """True when `error` is a missing-scope refusal (whose answer lists every scope the credential holds)."""
        if error.status == 403 and error.required_scopes:
            self.refused_for_scope = True
            self.granted = tuple(sorted(set(error.granted_scopes)))
            return True
        return False


def _rejected(kind: str, error: BitbucketError) -> CheckResult:
    if isinstance(error, AppPasswordRemoved) or (kind == Kind.APP_PASSWORD and error.status == 401):
        return CheckResult(
            accepted=False,
            status=Status.EXPIRED,
            message=f"Bitbucket refused the app password: {_bitbucket_message(error)}. {APP_PASSWORDS_REMOVED}",
            request_id=error.request_id or "",
        )
    if error.status in (401, 403):
        return CheckResult(
            accepted=False,
            status=Status.INVALID,
            message=f"Bitbucket refused the credential: {error.message}",
            request_id=error.request_id or "",
        )
    return CheckResult(
        accepted=False,
        status=Status.UNCHECKED,
        message=f"Bitbucket could not be asked about the credential ({type(error).__name__}): {error.message}",
        request_id=error.request_id or "",
    )


def _bitbucket_message(error: BitbucketError) -> str:
    # The client appends its own notice about app passwords to Bitbucket's message; ours says it once, in full.
    return error.message.split(" — ", 1)[0].rstrip(".")


def _probe(client: BitbucketClient, *, kind: str, workspace_hint: str) -> CheckResult:
    probe = _Probe(kind)
    notes: list[str] = []
    if kind == Kind.APP_PASSWORD:
        notes.append("App passwords are legacy: " + APP_PASSWORDS_REMOVED)

    account: AccountRecord | None = None
    try:
        account = client.get_current_user()
        probe.prove("user")
    except AuthError as error:
        if not probe.learn(error):
            return _rejected(kind, error)
    except BitbucketError as error:
        return _rejected(kind, error)

    workspaces: list[CheckedWorkspace] = []
    listed_workspaces = False
    try:
        for access in client.iter_user_workspaces():
            ws = access.workspace
            workspaces.append(CheckedWorkspace(ws.slug, ws.name or ws.slug, ws.uuid, access.administrator))
        listed_workspaces = True
        probe.prove("workspaces")
    except AuthError as error:
        if not probe.learn(error):
            return _rejected(kind, error)
    except BitbucketError as error:
        return _rejected(kind, error)

    if workspace_hint and workspace_hint.split("/")[0] not in {ws.slug for ws in workspaces}:
        try:
            found = client.get_workspace(workspace_hint.split("/")[0])
        except NotFound:
            return CheckResult(
                accepted=False,
                status=Status.INVALID,
                message=f"The credential cannot see a workspace named {workspace_hint.split('/')[0]!r}.",
            )
        except AuthError as error:
            if not probe.learn(error):
                return _rejected(kind, error)
            found = None
        except BitbucketError as error:
            return _rejected(kind, error)
        if found is not None:
            workspaces.append(CheckedWorkspace(found.slug, found.name or found.slug, found.uuid, False))

    if not workspaces:
        if kind == Kind.ACCESS_TOKEN and not listed_workspaces:
            message = (
                "This access token cannot list its workspaces (only workspace access tokens with the account scope "
                "can): enter the workspace it belongs to."
            )
        else:
            message = "The credential works but sees no Bitbucket workspace, so bbdash could show nothing with it."
        return CheckResult(accepted=False, status=Status.INVALID, message=message, account=account)

    # Read access: list one page of the first workspace's repositories, then one page of a repository's PRs.
    first = workspaces[0].slug
    repositories = []
    try:
        repositories = list(islice(client.iter_repositories(first), 2))
        probe.prove("repositories")
    except AuthError as error:
        if not probe.learn(error):
            notes.append(f"Listing the repositories of {first} was refused: {error.message}")
    except BitbucketError as error:
        return _rejected(kind, error)
    if repositories:
        try:
            next(iter(client.iter_pull_requests(first, repositories[0].slug, states=ALL_STATES)), None)
            probe.prove("pullrequests")
        except AuthError as error:
            if not probe.learn(error):
                notes.append(f"Listing pull requests of {repositories[0].full_name} was refused: {error.message}")
        except BitbucketError as error:
            return _rejected(kind, error)
    else:
        notes.append(f"{first} has no repository this credential can see, so reading pull requests was not tried.")

    scope_kind, scope_name = "", ""
    if kind == Kind.ACCESS_TOKEN:
        scope_kind, scope_name = _access_token_reach(probe, listed_workspaces, first, repositories)

    if probe.granted is not None:
        scopes = probe.granted
        missing_read = tuple(s for s in _READ_SCOPES[kind] if s not in scopes)
        missing_write = tuple(s for s in _WRITE_SCOPES[kind] if s not in scopes)
        can_write: bool | None = not missing_write
    else:
        scopes = tuple(sorted(probe.proven))
        missing_read = ()
        missing_write = ()
        can_write = None
        notes.append("Bitbucket lists a credential's scopes only when it refuses one; write access was not verified.")
    can_read = _PROBE_SCOPES["repositories"][probe.vocabulary()] in scopes
    return CheckResult(
        accepted=True,
        status=Status.VALID,
        account=account,
        workspaces=tuple(workspaces),
        scopes=tuple(scopes),
        scopes_complete=probe.granted is not None,
        can_read=can_read,
        can_write=can_write,
        missing_scopes=missing_read + missing_write,
        scope_kind=scope_kind,
        scope_name=scope_name,
        notes=tuple(notes),
    )


def _access_token_reach(probe: _Probe, listed_workspaces: bool, workspace: str, repositories: list) -> tuple[str, str]:
    """What an access token is scoped to. Only workspace tokens may hold `account` (so list their workspaces); a
    project token holds `project`; a repository token neither."""
    if listed_workspaces:
        return Credential.ScopeKind.WORKSPACE, workspace
    granted = set(probe.granted or ())
    if "project" in granted and repositories and repositories[0].project_key:
        return Credential.ScopeKind.PROJECT, f"{workspace}/{repositories[0].project_key}"
    if len(repositories) == 1:
        return Credential.ScopeKind.REPOSITORY, repositories[0].full_name
    return "", workspace


# -- saving -----------------------------------------------------------------------------------------------------


def _apply_result(credential: Credential, result: CheckResult) -> None:
    credential.status = result.status
    credential.last_checked_at = timezone.now()
    if result.accepted:
        credential.account = upsert_account(result.account) if result.account else None
        credential.scopes = list(result.scopes)
        credential.scopes_complete = result.scopes_complete
        credential.can_write = bool(result.can_write)
        credential.last_error = ("missing scopes: " + ", ".join(result.missing_scopes)) if result.missing_scopes else ""
        if credential.kind == Kind.ACCESS_TOKEN:
            credential.scope_kind = result.scope_kind
            credential.scope_name = result.scope_name or credential.scope_name
    else:
        credential.last_error = result.message


def _write_ledger(credential: Credential, result: CheckResult) -> None:
    """The check ran before the row existed; its requests are charged to the credential now."""
    from bitbucket_sync.ledger import recorder  # the ledger imports the models

    record = recorder(credential, purpose="check")
    for request in result.requests:
        record(request)


def enqueue_access_sync(user_id: int) -> None:
    """After a credential is saved or found valid: refresh what the user may see, once the transaction commits."""

    def send() -> None:
        # Imported here: the tasks module imports the sync engine, which needs the app registry ready.
        from bitbucket_sync.tasks import sync_user_access_task

        sync_user_access_task.delay(user_id)

    transaction.on_commit(send)


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
    api_url = checked_api_url(api_url)
    if kind in (Kind.API_TOKEN, Kind.APP_PASSWORD) and not login:
        raise ValueError("an API token needs the Atlassian account email; an app password the Bitbucket username")
    if not secret:
        raise ValueError("the secret is empty")
    previous = Credential.objects.active_for(owner).first()
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
        previous = Credential.objects.select_for_update().active_for(owner).first()
        if previous is not None:
            previous.is_active = False
            previous.secret_encrypted = ""
            previous.save(update_fields=["is_active", "secret_encrypted"])
        credential = Credential(owner=owner, kind=kind, login=login, api_url=api_url, created_by=_user_or_none(actor))
        if kind == Kind.ACCESS_TOKEN:
            credential.scope_name = workspace.strip()
        credential.set_secret(secret)
        _apply_result(credential, result)
        credential.save()
        if previous is not None:
            reachable = {ws.slug for ws in result.workspaces}
            for synced in Workspace.objects.select_for_update().filter(sync_credential=previous):
                if synced.slug in reachable and (not synced.api_url or sites.same_site(synced.api_url, api_url)):
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
            target=f"…{credential.secret_last4}" if credential.secret_last4 else "",
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
            client_kwargs = {"session": session} if session is not None else {}
            with credential.client(purpose="check", **client_kwargs) as client:
                result = _probe(
                    client,
                    kind=credential.kind,
                    workspace_hint=credential.scope_name if credential.kind == Kind.ACCESS_TOKEN else "",
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
            target=f"…{fresh.secret_last4}" if fresh.secret_last4 else "",
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
        checked_api_url(api_url)
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
            clear_user_access(credential.owner)
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
            target=f"…{credential.secret_last4}" if credential.secret_last4 else "",
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


def rotate_keys(*, actor=None) -> int:
    """Re-encrypt every stored secret under the newest key, all or nothing; the older keys can then be removed.
    Raises `encryption.SecretUnreadable` (nothing changed, a failure audited) when a secret cannot be decrypted."""
    rotated = 0
    keys = len(settings.BBDASH_ENCRYPTION_KEYS)
    try:
        with transaction.atomic():
            for credential in Credential.objects.select_for_update().exclude(secret_encrypted="").order_by("pk"):
                try:
                    credential.secret_encrypted = encryption.rotate(credential.secret_encrypted)
                except encryption.SecretUnreadable as error:
                    raise encryption.SecretUnreadable(
                        f"credential {credential.pk} (of user {credential.owner_id}): {error}"
                    ) from None
                credential.save(update_fields=["secret_encrypted"])
                rotated += 1
            # Webhook secrets (live updates) are stored under the same keys.
            for subscription in WebhookSubscription.objects.select_for_update().exclude(secret_encrypted=""):
                try:
                    subscription.secret_encrypted = encryption.rotate(subscription.secret_encrypted)
                except encryption.SecretUnreadable as error:
                    raise encryption.SecretUnreadable(
                        f"webhook secret of workspace {subscription.workspace_id}: {error}"
                    ) from None
                subscription.save(update_fields=["secret_encrypted"])
                rotated += 1
    except encryption.SecretUnreadable as error:
        audit.record(
            actor=actor,
            action="credential.rotate",
            result=AuditEvent.Result.FAILURE,
            message=f"key rotation stopped, nothing changed: {error}",
            details={"keys_configured": keys},
        )
        raise
    audit.record(
        actor=actor,
        action="credential.rotate",
        result=AuditEvent.Result.SUCCESS,
        message=f"{rotated} secret(s) re-encrypted under the newest of {keys} key(s)",
        details={"rotated": rotated, "keys_configured": keys},
    )
    return rotated


def _user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None
