"""A credential's health kept current: refused at once when Bitbucket answers 401 to it, re-checked daily.

* ``note_error`` is the one place a stored credential is marked refused. Every client built for a credential
  (``clients.client_for``: syncs, pages read live, actions, webhooks) reports each error to it, so the first 401 that
  refuses the credential itself (``AuthError.refuses_credential``; never a 403, which is a missing permission or
  scope, nor Data Center's 401 ``AuthorisationException``) marks it ``invalid`` (``expired`` for a legacy app
  password) with the reason and the time, in that moment, not when the run or page ends. It is audited
  (``credential.refused``) and logged once; later 401s of an already refused credential change nothing.
* A refused credential is not used by scheduled work: syncs of a workspace it syncs are recorded as skipped with the
  reason (``bitbucket_sync.tasks.sync_all_workspaces``), its owner's access is not re-listed, "Sync now" says why it
  cannot run. Saving a new credential, or a check that finds it valid again, is what lets them resume.
* ``recheck`` is the daily re-check (``bitbucket_sync.tasks.recheck_credentials``): one request (who the credential
  acts as) tells a refused credential from a working one; only a change of state costs the full check
  (``lifecycle.recheck_credential``, 4 to 6 requests), which restores a credential Bitbucket accepts again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from bitbucket_sync import audit, sites
from bitbucket_sync.client import AuthError, BitbucketError, NotFound
from bitbucket_sync.models import AuditEvent, Credential

log = logging.getLogger("bitbucket_sync.credentials")

Status = Credential.Status

# The statuses that mean Bitbucket refused the credential: nothing scheduled is sent with it until it is replaced or
# a check finds it valid again.
REFUSED = (Status.INVALID, Status.EXPIRED)
# The statuses a 401 may turn into ``invalid``: a revoked credential is out of use already.
_USABLE = (Status.VALID, Status.UNCHECKED)

DOING = {
    "sync": "syncing",
    "browse": "reading a page",
    "action": "acting for its owner",
    "webhook": "managing webhooks",
    "check": "checking it",
}

APP_PASSWORDS_REMOVED = (
    "Bitbucket Cloud removed app passwords on 2026-07-28: replace it with an API token (id.atlassian.com, Security > "
    "API tokens) used with the Atlassian account email."
)


def is_refused(credential: Credential | None) -> bool:
    """True when Bitbucket refused the credential (its last answer was a 401, or its last check failed)."""
    return credential is not None and credential.status in REFUSED


def refusal_text(credential: Credential, *, viewer=None) -> str:
    """Why nothing is synced with ``credential``, for a sync run, a "Sync now" refusal and the logs: since when and
    Bitbucket's reason; never whose it is (a workspace's members all read its runs), unless ``viewer`` owns it."""
    when = f" on {credential.last_checked_at:%Y-%m-%d %H:%M} UTC" if credential.last_checked_at else ""
    reason = f" ({credential.last_error})" if credential.last_error else ""
    if viewer is not None and getattr(viewer, "pk", None) == credential.owner_id:
        return (
            f"Bitbucket refused your credential, which this workspace is synced with,{when}{reason}. Nothing is "
            "synced with it until it is replaced: see your credential page."
        )
    return (
        f"Bitbucket refused the credential this workspace is synced with{when}{reason}. Nothing is sent with it until "
        "its owner or an admin replaces it, or an admin picks another one for the workspace."
    )


def own_refusal_text(credential: Credential) -> str:
    """For the credential's owner, when a page or an action would use it: nothing is sent, and what to do."""
    when = f" on {credential.last_checked_at:%Y-%m-%d %H:%M} UTC" if credential.last_checked_at else ""
    reason = f" ({credential.last_error})" if credential.last_error else ""
    return (
        f"Bitbucket refused your credential for this site{when}{reason}, so bbdash sends nothing with it: replace "
        "it on your credential page (or ask an admin to), or use Check now there if Bitbucket accepts it again."
    )


def note_error(credential: Credential, error: BitbucketError, *, purpose: str) -> bool:
    """Mark ``credential`` refused when ``error`` is Bitbucket refusing it (see the module docstring); True when this
    call changed it. Anything else (a 403, a missing permission on Data Center, a 404, a 5xx) changes nothing."""
    if not isinstance(error, AuthError) or not error.refuses_credential or purpose == "check":
        return False
    return mark_refused(credential, error.message, purpose=purpose, request_id=error.request_id or "")


def mark_refused(credential: Credential, message: str, *, purpose: str, request_id: str = "") -> bool:
    """Record that Bitbucket refused ``credential`` now (one conditional update: a second refusal, or one of a
    credential revoked meanwhile, writes nothing). Audited as ``credential.refused``. True when it changed."""
    now = timezone.now()
    app_password = credential.kind == Credential.Kind.APP_PASSWORD
    status = Status.EXPIRED if app_password else Status.INVALID
    doing = DOING.get(purpose, purpose)
    last_error = f"Bitbucket refused it (401) on {now:%Y-%m-%d %H:%M} UTC while {doing}: {message}".rstrip(": ")
    if app_password:
        last_error += ". " + APP_PASSWORDS_REMOVED
    # One conditional UPDATE, committed at once where it is called (no view runs in a transaction; one that rolls
    # back loses it, and the next 401 marks it again).
    changed = Credential.objects.filter(pk=credential.pk, is_active=True, status__in=_USABLE).update(
        status=status, last_error=last_error, last_checked_at=now
    )
    if not changed:
        return False
    credential.status, credential.last_error, credential.last_checked_at = status, last_error, now
    log.warning(
        "credential %s of user %s refused by %s while %s; marked %s",
        credential.pk,
        credential.owner_id,
        credential.api_url,
        doing,
        status,
    )
    audit.record(
        actor=None,
        action="credential.refused",
        result=AuditEvent.Result.FAILURE,
        subject_user=credential.owner,
        credential_kind=credential.kind,
        target=credential.masked,
        request_id=request_id,
        message=last_error,
        details={"credential_id": credential.pk, "status": status, "purpose": purpose, "site": credential.api_url},
    )
    return True


# -- the daily re-check ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recheck:
    """What the daily re-check found: ``outcome`` is ``valid`` (still accepted), ``refused`` (marked now),
    ``restored`` (refused before, valid again), ``unchanged`` (still refused, or no better after a full check) or
    ``unknown`` (Bitbucket could not be asked; nothing changed)."""

    outcome: str
    message: str = ""


def due_for_recheck(*, now=None, fresh_hours: int = 20):
    """Active credentials the daily re-check asks about: every one, except valid ones checked within
    ``fresh_hours`` (saved or checked by hand today) whose answer is still fresh. Oldest check first."""
    now = now or timezone.now()
    fresh = now - timedelta(hours=fresh_hours)
    return (
        Credential.objects.active()
        .exclude(status=Status.VALID, last_checked_at__gte=fresh)
        .order_by("last_checked_at", "pk")
    )


def recheck(credential: Credential, *, session=None) -> Recheck:
    """Ask Bitbucket once who ``credential`` acts as: a refusal marks it refused (``mark_refused``), an answer
    proves it is accepted; a credential whose status was not ``valid`` then gets the full check
    (``lifecycle.recheck_credential``), which restores it and refreshes its owner's access."""
    from bitbucket_sync.credentials import clients, encryption, lifecycle

    if not credential.is_active or credential.status == Status.REVOKED:
        return Recheck("unchanged", "no longer in use")
    try:
        sites.checked_api_url(credential.api_url)
    except sites.ApiUrlNotAllowed as error:
        return Recheck("unknown", str(error))
    try:
        with clients.client_for(credential, purpose="check", session=session) as client:
            try:
                client.get_current_user()
            except NotFound:
                pass  # Data Center's project and repository tokens: accepted, with no user record to show
            except AuthError as error:
                if error.refuses_credential:
                    request_id = error.request_id or ""
                    changed = mark_refused(credential, error.message, purpose="check", request_id=request_id)
                    return Recheck("refused" if changed else "unchanged", error.message)
                # A 403 (an access token without the account scope): Bitbucket took the credential.
    except encryption.SecretUnreadable as error:
        # The server's key, not Bitbucket: the operator's to fix (``rotate_encryption_key``); the status stays.
        log.warning("daily check of credential %s: %s", credential.pk, error)
        return Recheck("unknown", str(error))
    except BitbucketError as error:
        log.info("daily check of credential %s could not ask Bitbucket: %s", credential.pk, error)
        return Recheck("unknown", str(error))
    if credential.status == Status.VALID:
        Credential.objects.filter(pk=credential.pk).update(last_checked_at=timezone.now())
        return Recheck("valid")
    was_refused = credential.status in REFUSED
    result = lifecycle.recheck_credential(actor=None, credential=credential, session=session)
    if result.valid:
        return Recheck("restored" if was_refused else "valid", result.summary())
    return Recheck("unchanged", result.message)
