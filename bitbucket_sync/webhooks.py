"""Live updates through Bitbucket webhooks: registration, signature checks, applying deliveries, and health.

One workspace-level webhook per workspace (Bitbucket: `POST /workspaces/{ws}/hooks`, owners only, every repository
of the workspace). Each delivery is signed with the subscription's secret (`X-Hub-Signature: sha256=<HMAC-SHA256 of
the raw body>`), recorded once per `X-Request-UUID` and applied by a task: a pull request event upserts that pull
request, a push updates the branches it names when it starts at the mirror's tip (else the branch is read from
Bitbucket, so a replayed or late body never moves a branch back or deletes it). Polling stays the safety net: while
deliveries flow, the scheduler polls at the slower `BBDASH_WEBHOOK_POLL_MINUTES`; when they stop or a gap shows,
`live_status` says so and polling returns to normal.

Nothing here trusts a payload for who may see what: a delivery only touches repositories the mirror already has in
the subscription's workspace, and access rows come from each user's own credential as always.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bitbucket_sync import audit, encryption
from bitbucket_sync.client import BitbucketError, BitbucketSchemaError, NotFound, RateLimited, Unavailable, records
from bitbucket_sync.models import (
    AuditEvent,
    Branch,
    Credential,
    PullRequest,
    Repository,
    SyncRun,
    WebhookDelivery,
    WebhookSubscription,
    Workspace,
)
from bitbucket_sync.sync import upserts

logger = logging.getLogger(__name__)

# What the dashboard shows changes of: pull requests (with their reviews) and branches.
EVENTS = (
    "repo:push",
    "pullrequest:created",
    "pullrequest:updated",
    "pullrequest:approved",
    "pullrequest:unapproved",
    "pullrequest:changes_request_created",
    "pullrequest:changes_request_removed",
    "pullrequest:fulfilled",
    "pullrequest:rejected",
    "pullrequest:comment_created",
)
PULL_REQUEST_EVENTS = frozenset(e for e in EVENTS if e.startswith("pullrequest:"))
DESCRIPTION = "bbdash live updates"
# Bitbucket may silently drop payloads over 256 KB; twice that is room enough and refuses anything abusive.
MAX_BODY_BYTES = 512 * 1024
# Bitbucket's clock and ours: an `updated_on` this close to our last delivery is not "activity after it".
CLOCK_TOLERANCE = timedelta(minutes=1)


class WebhookError(Exception):
    """Live updates could not be turned on or off; `message` says why in plain words (never a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- settings --------------------------------------------------------------------------------------------------------


def poll_minutes() -> int:
    return int(getattr(settings, "BBDASH_WEBHOOK_POLL_MINUTES", 60))


def silence_minutes() -> int:
    return int(getattr(settings, "BBDASH_WEBHOOK_SILENCE_MINUTES", 30))


def log_size() -> int:
    return int(getattr(settings, "BBDASH_WEBHOOK_LOG_SIZE", 500))


# -- signatures ------------------------------------------------------------------------------------------------------


def sign(*, secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` value Bitbucket sends for `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(*, secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the HMAC-SHA256 of the raw `body` under `secret` (compared in constant time)."""
    if not secret or not header:
        return False
    return hmac.compare_digest(sign(secret=secret, body=body).encode(), header.strip().encode("utf-8", "replace"))


# -- registration ----------------------------------------------------------------------------------------------------


def _active_credential(user) -> Credential | None:
    if user is None:
        return None
    return Credential.objects.filter(owner=user, is_active=True).first()


def _audit(*, actor, action: str, result: str, subscription: WebhookSubscription, message: str, **extra: Any) -> None:
    audit.record(
        actor=actor,
        action=action,
        result=result,
        subject_user=subscription.enabled_by,
        workspace_slug=subscription.workspace.slug,
        target=subscription.hook_uuid,
        message=message,
        **extra,
    )


def _create_hook(subscription: WebhookSubscription, credential: Credential, *, actor, action: str) -> None:
    """Create the workspace webhook with a fresh secret. The secret is saved (committed) before Bitbucket knows the
    hook, so no delivery can arrive that the receiver cannot check."""
    secret = secrets.token_urlsafe(32)
    subscription.set_secret(secret)
    subscription.save(update_fields=["secret_encrypted", "updated_at"])
    workspace = subscription.workspace
    try:
        with credential.client(purpose="webhook") as client:
            hook = client.create_webhook(
                workspace.slug, url=subscription.url, events=EVENTS, secret=secret, description=DESCRIPTION
            )
    except BitbucketError as exc:
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = f"Bitbucket refused to create the webhook: {exc.message}"
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        _audit(
            actor=actor,
            action=action,
            result=AuditEvent.Result.FAILURE,
            subscription=subscription,
            message=subscription.last_error,
            credential_kind=credential.kind,
            request_id=exc.request_id or "",
        )
        raise WebhookError(subscription.last_error) from None
    now = timezone.now()
    subscription.hook_uuid = hook.uuid
    subscription.events = list(hook.events)
    subscription.status = WebhookSubscription.Status.ACTIVE
    subscription.last_error = ""
    subscription.checked_at = now
    # Only these fields: the receiver may be writing last_delivery_at or a gap at the same moment.
    subscription.save(update_fields=["hook_uuid", "events", "status", "last_error", "checked_at", "updated_at"])
    _audit(
        actor=actor,
        action=action,
        result=AuditEvent.Result.SUCCESS,
        subscription=subscription,
        message=f"Webhook {hook.uuid} delivers {len(hook.events)} events to {subscription.url}",
        credential_kind=credential.kind,
    )


def enable_live_updates(*, workspace: Workspace, url: str, actor) -> WebhookSubscription:
    """Turn live updates on: one workspace webhook to `url`, created with the acting user's own credential (a
    workspace owner's API token, or a workspace access token with the webhook scope)."""
    credential = _active_credential(actor)
    if credential is None:
        raise WebhookError("You have no Bitbucket credential: add one before turning on live updates.")
    subscription, _ = WebhookSubscription.objects.select_related("workspace").get_or_create(workspace=workspace)
    if subscription.enabled and subscription.status == WebhookSubscription.Status.ACTIVE and subscription.url == url:
        return subscription
    # A hook left from before (another URL, or one whose deletion failed) goes first: two hooks would deliver twice.
    stale_hook = subscription.hook_uuid
    now = timezone.now()
    subscription.enabled = True
    subscription.enabled_by = actor
    subscription.enabled_at = now
    subscription.url = url
    subscription.gap_detected_at = None
    subscription.gap_reason = ""
    subscription.gap_repository_uuid = ""
    subscription.save()
    if stale_hook:
        _delete_hook(subscription, credential, hook_uuid=stale_hook, actor=actor)
        subscription.hook_uuid = ""
        subscription.save(update_fields=["hook_uuid", "updated_at"])
    _create_hook(subscription, credential, actor=actor, action="webhook.create")
    return subscription


def _delete_hook(subscription: WebhookSubscription, credential: Credential, *, hook_uuid: str, actor) -> None:
    try:
        with credential.client(purpose="webhook") as client:
            client.delete_webhook(subscription.workspace.slug, hook_uuid)
    except NotFound:
        pass  # already gone on Bitbucket: the outcome asked for
    except BitbucketError as exc:
        message = f"Bitbucket refused to delete webhook {hook_uuid}: {exc.message}"
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = message
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        _audit(
            actor=actor,
            action="webhook.delete",
            result=AuditEvent.Result.FAILURE,
            subscription=subscription,
            message=message,
            credential_kind=credential.kind,
            request_id=exc.request_id or "",
        )
        raise WebhookError(message) from None
    _audit(
        actor=actor,
        action="webhook.delete",
        result=AuditEvent.Result.SUCCESS,
        subscription=subscription,
        message=f"Webhook {hook_uuid} deleted",
        credential_kind=credential.kind,
    )


def disable_live_updates(*, workspace: Workspace, actor) -> WebhookSubscription | None:
    """Turn live updates off and delete the webhook on Bitbucket (with the acting user's credential). Deliveries
    are refused from now on, even if the deletion fails (the page then says so and the button tries again)."""
    subscription = WebhookSubscription.objects.select_related("workspace").filter(workspace=workspace).first()
    if subscription is None:
        return None
    subscription.enabled = False
    subscription.save(update_fields=["enabled", "updated_at"])
    if subscription.hook_uuid:
        credential = _active_credential(actor)
        if credential is None:
            raise WebhookError("You have no Bitbucket credential to delete the webhook with.")
        _delete_hook(subscription, credential, hook_uuid=subscription.hook_uuid, actor=actor)
    subscription.hook_uuid = ""
    subscription.status = WebhookSubscription.Status.OFF
    subscription.last_error = ""
    subscription.secret_encrypted = ""
    subscription.save()
    return subscription


def check_subscription(*, subscription_id: int) -> WebhookSubscription | None:
    """Ask Bitbucket whether the webhook is still there (as the user who turned it on) and re-create it when
    Bitbucket lost it (deleted in its settings, or deactivated after failing deliveries)."""
    subscription = (
        WebhookSubscription.objects.select_related("workspace", "enabled_by").filter(pk=subscription_id).first()
    )
    if subscription is None or not subscription.enabled:
        return subscription
    credential = _active_credential(subscription.enabled_by)
    if credential is None:
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = (
            "The user who turned on live updates has no active Bitbucket credential; turn them off and on again."
        )
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        return subscription
    try:
        with credential.client(purpose="webhook") as client:
            hooks = {hook.uuid: hook for hook in client.iter_webhooks(subscription.workspace.slug)}
    except (RateLimited, Unavailable):
        raise
    except BitbucketError as exc:
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = f"Bitbucket did not list the workspace webhooks: {exc.message}"
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        return subscription
    hook = hooks.get(subscription.hook_uuid)
    if hook is not None and hook.active and hook.url == subscription.url and set(EVENTS) <= set(hook.events):
        subscription.status = WebhookSubscription.Status.ACTIVE
        subscription.last_error = ""
        subscription.checked_at = timezone.now()
        subscription.save(update_fields=["status", "last_error", "checked_at", "updated_at"])
        return subscription
    subscription.status = WebhookSubscription.Status.MISSING
    subscription.last_error = (
        "Bitbucket no longer has the webhook; re-creating it."
        if hook is None
        else "Bitbucket's webhook was changed or deactivated; re-creating it."
    )
    subscription.save(update_fields=["status", "last_error", "updated_at"])
    if hook is not None:
        try:
            _delete_hook(subscription, credential, hook_uuid=hook.uuid, actor=None)
        except WebhookError:
            return subscription
    # Deliveries may have been lost while the hook was gone: the next normal poll catches up before polling slows.
    _note_gap(subscription, "the webhook was missing on Bitbucket and has been re-created")
    with contextlib.suppress(WebhookError):  # the status and the audit log say why
        _create_hook(subscription, credential, actor=None, action="webhook.recreate")
    return subscription


# -- receiving -------------------------------------------------------------------------------------------------------


# Checked against when the workspace is unknown, live updates are off or the secret cannot be read, so every refusal
# costs the same query, decryption and HMAC as a wrong signature. Random per process: nothing can be signed with it.
_DUMMY_SECRET = secrets.token_urlsafe(32)


@cache
def _dummy_token(keys: tuple[str, ...]) -> str:
    """The dummy secret encrypted under `keys` (the cache key: a rotation encrypts it again)."""
    return encryption.encrypt(_DUMMY_SECRET)


def verified_subscription(*, workspace_uuid: str, body: bytes, signature: str | None) -> WebhookSubscription | None:
    """The enabled subscription of the workspace `workspace_uuid` (with braces) when `signature` is its secret's
    HMAC of `body`, else None. An unknown workspace, live updates off, an unreadable secret and a wrong signature
    take the same steps, so neither the receiver's answer nor its timing tells them apart."""
    subscription = (
        WebhookSubscription.objects.select_related("workspace")
        .filter(workspace__bitbucket_uuid__iexact=workspace_uuid, enabled=True)
        .exclude(secret_encrypted="")
        .first()
    )
    token = (
        subscription.secret_encrypted
        if subscription is not None
        else _dummy_token(tuple(settings.BBDASH_ENCRYPTION_KEYS))
    )
    try:
        secret = encryption.decrypt(token)
    except encryption.SecretUnreadable:
        logger.error(
            "the webhook secret of workspace %s cannot be decrypted; turn live updates off and on", workspace_uuid
        )
        subscription, secret = None, _DUMMY_SECRET
    if not verify_signature(secret=secret, body=body, header=signature):
        return None
    return subscription


def record_delivery(
    *,
    subscription: WebhookSubscription,
    request_uuid: str,
    event: str,
    payload: dict,
    hook_uuid: str = "",
    attempt: int = 1,
    body_size: int = 0,
) -> tuple[WebhookDelivery, bool]:
    """Record a verified delivery once: `(delivery, True)` the first time, `(delivery, False)` for a redelivery of
    the same `X-Request-UUID` (counted, not recorded or applied again)."""
    now = timezone.now()
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        repository = {}
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                workspace_id=subscription.workspace_id,
                request_uuid=request_uuid[:64],
                hook_uuid=hook_uuid[:64],
                event=event[:64],
                attempt=max(1, min(attempt, 1000)),
                received_at=now,
                repository_full_name=str(repository.get("full_name") or "")[:511],
                body_size=body_size,
                payload=payload,
            )
    except IntegrityError:
        WebhookDelivery.objects.filter(workspace_id=subscription.workspace_id, request_uuid=request_uuid).update(
            redeliveries=F("redeliveries") + 1
        )
        existing = WebhookDelivery.objects.get(workspace_id=subscription.workspace_id, request_uuid=request_uuid)
        return existing, False
    WebhookSubscription.objects.filter(pk=subscription.pk).update(last_delivery_at=now)
    if delivery.attempt > 1:
        # Bitbucket retries only after failed attempts: while we could not answer, other events may have run out of
        # attempts and are lost.
        _note_gap(subscription, f"Bitbucket had to retry a delivery (attempt {delivery.attempt})")
    return delivery, True


def prune_deliveries(*, workspace_id: int, keep: int | None = None) -> int:
    """Keep the newest `keep` deliveries of a workspace (BBDASH_WEBHOOK_LOG_SIZE)."""
    keep = log_size() if keep is None else keep
    cutoff = (
        WebhookDelivery.objects.filter(workspace_id=workspace_id)
        .order_by("-received_at", "-id")
        .values_list("received_at", "id")[keep : keep + 1]
    )
    row = list(cutoff)
    if not row:
        return 0
    received_at, pk = row[0]
    deleted, _ = (
        WebhookDelivery.objects.filter(workspace_id=workspace_id)
        .filter(received_at__lte=received_at)
        .exclude(received_at=received_at, id__gt=pk)
        .delete()
    )
    return deleted


def stale_deliveries(*, older_than: timedelta = timedelta(minutes=2)) -> list[int]:
    """Deliveries still queued well after they arrived: their apply task was lost (the broker was down)."""
    cutoff = timezone.now() - older_than
    queued = WebhookDelivery.objects.filter(result=WebhookDelivery.Result.QUEUED, received_at__lt=cutoff)
    return list(queued.values_list("pk", flat=True)[:1000])


# -- applying --------------------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    result: str
    message: str
    target: str = ""


def _ignored(message: str, target: str = "") -> _Outcome:
    return _Outcome(WebhookDelivery.Result.IGNORED, message, target)


def apply_delivery(*, delivery_id: int) -> WebhookDelivery | None:
    """Apply a recorded delivery to the mirror, once. Raises `RateLimited`/`Unavailable` (the task retries later);
    any other failure is written on the delivery."""
    delivery = WebhookDelivery.objects.select_related("workspace").filter(pk=delivery_id).first()
    if delivery is None or delivery.result != WebhookDelivery.Result.QUEUED:
        return delivery  # pruned, or applied by an earlier run of the same task
    try:
        outcome = _apply(delivery)
    except (RateLimited, Unavailable):
        raise
    except BitbucketError as exc:  # includes a payload that does not parse (BitbucketSchemaError)
        logger.warning("webhook delivery %s (%s) failed: %s", delivery.request_uuid, delivery.event, exc)
        outcome = _Outcome(WebhookDelivery.Result.FAILED, str(exc))
    if delivery.result == WebhookDelivery.Result.QUEUED:
        _finish(delivery, outcome)
    prune_deliveries(workspace_id=delivery.workspace_id)
    return delivery


def _finish(delivery: WebhookDelivery, outcome: _Outcome) -> None:
    """Write the outcome on the delivery; called inside the transaction that changed the mirror, if any, so the log
    never says "queued" about a change already visible."""
    delivery.result = outcome.result
    delivery.message = outcome.message
    delivery.target = outcome.target[:511]
    delivery.applied_at = timezone.now()
    if outcome.result != WebhookDelivery.Result.FAILED:
        delivery.payload = None
    delivery.save(update_fields=["result", "message", "target", "applied_at", "payload"])


def _apply(delivery: WebhookDelivery) -> _Outcome:
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    event = delivery.event
    if event not in EVENTS:
        logger.info("webhook event %s for %s ignored: bbdash does not apply it", event, delivery.workspace.slug)
        return _ignored(f"bbdash does not apply {event} events")
    subscription = WebhookSubscription.objects.filter(workspace=delivery.workspace).first()
    repository = _repository(delivery, payload, subscription)
    if isinstance(repository, _Outcome):
        return repository
    if event == "repo:push":
        return _apply_push(delivery, payload, repository, subscription)
    return _apply_pull_request(delivery, payload, repository, subscription)


def _repository(
    delivery: WebhookDelivery, payload: dict, subscription: WebhookSubscription | None
) -> Repository | _Outcome:
    data = payload.get("repository")
    uuid = data.get("uuid") if isinstance(data, dict) else None
    if not isinstance(uuid, str) or not uuid:
        raise BitbucketSchemaError("missing required field 'repository.uuid'", endpoint=_endpoint(delivery))
    repository = Repository.objects.filter(bitbucket_uuid=uuid).select_related("workspace").first()
    if repository is not None and repository.workspace_id != delivery.workspace_id:
        # Signed with this workspace's secret but naming another workspace's repository: never cross over.
        logger.warning("webhook delivery %s names a repository of another workspace", delivery.request_uuid)
        return _ignored("the repository belongs to another workspace")
    if repository is None or repository.removed_at is not None:
        if subscription is not None:
            _note_gap(
                subscription,
                f"an event for {delivery.repository_full_name or uuid}, which the mirror lacks",
                repository_uuid=uuid,
            )
        return _ignored("the mirror does not have this repository yet; a sync will bring it")
    return repository


def _endpoint(delivery: WebhookDelivery) -> str:
    return f"webhook {delivery.event}"


def _apply_pull_request(
    delivery: WebhookDelivery, payload: dict, repository: Repository, subscription: WebhookSubscription | None
) -> _Outcome:
    record = records.PullRequest.from_json(payload.get("pullrequest"), endpoint=_endpoint(delivery))
    target = f"#{record.id}"
    existing = PullRequest.objects.filter(repository=repository, number=record.id).first()
    if existing is not None and existing.updated_on > record.updated_on:
        return _ignored(f"older than the mirror's pull request #{record.id} (delivered out of order)", target)
    if existing is None and delivery.event != "pullrequest:created" and subscription is not None:
        _note_gap(
            subscription,
            f"an event for pull request {repository.full_name}#{record.id}, which the mirror lacks",
            repository_uuid=repository.bitbucket_uuid,
        )
    note = ""
    if record.reviewers is None or record.participants is None:
        # A condensed pull request (no reviewers/participants): read that one pull request in full.
        credential = repository.workspace.sync_credential
        if credential is not None:
            with credential.client(purpose="webhook") as client:
                record = client.get_pull_request(repository.workspace.slug, repository.slug, record.id)
            note = " (read in full from Bitbucket)"
        else:
            note = " (participants unchanged: the workspace has no sync credential to read them with)"
    with transaction.atomic():
        _, counts = upserts.upsert_pull_requests_page(repository=repository, pr_records=[record])
        verb = "created" if counts.created else ("updated" if counts.updated else "unchanged")
        outcome = _Outcome(
            WebhookDelivery.Result.APPLIED,
            f"Pull request {repository.full_name}#{record.id} {verb} ({record.state.lower()}){note}",
            target,
        )
        _finish(delivery, outcome)
    return outcome


@dataclass(frozen=True)
class _BranchChange:
    """One branch of a push: `old` is the tip it moved from ("" when the push created it), `new` where it is now
    (None when the push deleted it)."""

    name: str
    old: str
    new: records.Branch | None


def _branch_changes(delivery: WebhookDelivery, payload: dict) -> list[_BranchChange]:
    push = payload.get("push")
    changes = push.get("changes") if isinstance(push, dict) else None
    if not isinstance(changes, list):
        raise BitbucketSchemaError("missing required field 'push.changes'", endpoint=_endpoint(delivery))
    found: list[_BranchChange] = []
    for change in changes:
        if not isinstance(change, dict):
            continue
        new, old = change.get("new"), change.get("old")
        if isinstance(new, dict) and new.get("type") == "branch":
            record = records.Branch.from_json(new, endpoint=_endpoint(delivery))
            found.append(_BranchChange(record.name, _target_hash(old), record))
        elif new is None and isinstance(old, dict) and old.get("type") == "branch" and isinstance(old.get("name"), str):
            found.append(_BranchChange(old["name"], _target_hash(old), None))
    return found


def _starts_at(change: _BranchChange, tip: str | None) -> bool:
    """Whether the mirror's tip (None: no live branch) is where `change` starts, or already where it ends. Only then
    is the payload applied as it stands: a signed body replayed under a new request UUID, or delivered late, starts
    elsewhere and must not move the branch back or delete it."""
    if tip is None:
        # A creation, or a deletion of what the mirror no longer has (nothing to do).
        return not change.old or change.new is None
    if change.new is not None and _same_commit(tip, change.new.target.hash):
        return True  # already there: polled first, or applied before
    return bool(change.old) and _same_commit(tip, change.old)


def _live_tips(repository: Repository, names: list[str]) -> dict[str, str]:
    rows = Branch.objects.select_for_update().live().filter(repository=repository, name__in=names)
    return dict(rows.values_list("name", "target_hash"))


def _read_branches(repository: Repository, names: list[str]) -> dict[str, records.Branch | None] | None:
    """Where each branch is on Bitbucket now (None: Bitbucket has no such branch), one request each with the
    workspace's sync credential; None when the workspace has no sync credential."""
    credential = repository.workspace.sync_credential
    if credential is None:
        return None
    found: dict[str, records.Branch | None] = {}
    with credential.client(purpose="webhook") as client:
        for name in names:
            try:
                found[name] = client.get_branch(repository.workspace.slug, repository.slug, name)
            except NotFound:
                found[name] = None
    return found


def _apply_push(
    delivery: WebhookDelivery, payload: dict, repository: Repository, subscription: WebhookSubscription | None
) -> _Outcome:
    changes = _branch_changes(delivery, payload)
    if not changes:
        return _ignored("the push named no branch (tags are not mirrored)")
    names = [change.name for change in changes]
    done: list[str] = []
    unsure: list[_BranchChange] = []
    with transaction.atomic():
        tips = _live_tips(repository, names)
        for change in changes:
            if not _starts_at(change, tips.get(change.name)):
                unsure.append(change)
            elif change.new is None:
                upserts.mark_branch_removed(repository=repository, name=change.name)
                done.append(f"{change.name} deleted")
            else:
                upserts.upsert_branch(repository=repository, record=change.new)
                done.append(f"{change.name} → {change.new.target.hash[:12]}")
        if not unsure:
            return _push_applied(delivery, repository, done, names)
    # Read outside any transaction: no row stays locked while Bitbucket answers.
    current = _read_branches(repository, [change.name for change in unsure])
    with transaction.atomic():
        tips = _live_tips(repository, [change.name for change in unsure])
        for change in unsure:
            tip = tips.get(change.name)
            if current is None:
                done.append(f"{change.name} kept (not pushed from the mirror's tip; no sync credential to check it)")
                if subscription is not None:
                    _note_gap(
                        subscription,
                        f"a push to {repository.full_name}:{change.name} that could not be checked",
                        repository_uuid=repository.bitbucket_uuid,
                    )
                continue
            record = current[change.name]
            now = record.target.hash if record is not None else None
            unchanged = tip == now or bool(tip and now and _same_commit(tip, now))
            if record is None:
                upserts.mark_branch_removed(repository=repository, name=change.name)
                done.append(f"{change.name} deleted (read from Bitbucket)")
            else:
                upserts.upsert_branch(repository=repository, record=record)
                verb = "kept at" if unchanged else "→"
                done.append(f"{change.name} {verb} {record.target.hash[:12]} (read from Bitbucket)")
            if subscription is not None and not unchanged:
                # The mirror was not where Bitbucket is, nor where this push started: a delivery was lost.
                _note_gap(
                    subscription,
                    f"a push to {repository.full_name}:{change.name} from a tip the mirror lacks",
                    repository_uuid=repository.bitbucket_uuid,
                )
        return _push_applied(delivery, repository, done, names)


def _push_applied(delivery: WebhookDelivery, repository: Repository, done: list[str], names: list[str]) -> _Outcome:
    outcome = _Outcome(WebhookDelivery.Result.APPLIED, f"{repository.full_name}: " + ", ".join(done), ", ".join(names))
    _finish(delivery, outcome)
    return outcome


def _target_hash(ref: Any) -> str:
    if isinstance(ref, dict) and isinstance(ref.get("target"), dict):
        value = ref["target"].get("hash")
        return value if isinstance(value, str) else ""
    return ""


def _same_commit(a: str, b: str) -> bool:
    # Bitbucket sends full hashes in pushes but 12-character ones in some embedded objects.
    shortest = min(len(a), len(b))
    return shortest >= 7 and a[:shortest] == b[:shortest]


# -- health and reconciliation -----------------------------------------------------------------------------------------


def _note_gap(subscription: WebhookSubscription, reason: str, *, repository_uuid: str = "") -> None:
    """Deliveries were lost: polling returns to normal until a sync that starts from now has finished.

    A reason that names a repository (or its branch) says which in `repository_uuid`, so the note is read only by
    people who may see that repository."""
    now = timezone.now()
    fields = {"gap_detected_at": now, "gap_reason": reason[:255], "gap_repository_uuid": repository_uuid[:64]}
    WebhookSubscription.objects.filter(pk=subscription.pk).update(**fields)
    for name, value in fields.items():
        setattr(subscription, name, value)
    logger.info("live updates for workspace %s: gap detected (%s)", subscription.workspace_id, reason)


class LiveState:
    OFF = "off"
    STARTING = "starting"
    HEALTHY = "healthy"
    SILENT = "silent"
    GAP = "gap"
    FAILING = "failing"


@dataclass(frozen=True)
class LiveStatus:
    state: str
    message: str
    since: datetime | None = None
    # The repository (Bitbucket uuid) `message` names, and the same message without the name, for viewers who may
    # not see that repository (the selectors choose).
    repository_uuid: str = ""
    message_unnamed: str = ""

    def without_names(self) -> LiveStatus:
        return replace(self, message=self.message_unnamed, repository_uuid="", message_unnamed="")

    @property
    def healthy(self) -> bool:
        return self.state == LiveState.HEALTHY

    @property
    def on(self) -> bool:
        return self.state != LiveState.OFF


def live_status(*, workspace: Workspace, subscription: WebhookSubscription | None = None, now=None) -> LiveStatus:
    """Whether webhooks keep `workspace` fresh right now (then polling may slow down), and if not, why."""
    now = now or timezone.now()
    if subscription is None:
        subscription = WebhookSubscription.objects.filter(workspace=workspace).first()
    if subscription is None or not subscription.enabled:
        return LiveStatus(LiveState.OFF, "Live updates are off: polling keeps the mirror fresh.")
    if subscription.status != WebhookSubscription.Status.ACTIVE:
        return LiveStatus(
            LiveState.FAILING,
            f"Live updates are not working ({subscription.get_status_display().lower()}): polling at the normal "
            f"cadence. {subscription.last_error}".strip(),
        )
    if subscription.gap_detected_at is not None:
        repaired = SyncRun.objects.filter(
            workspace=workspace, status=SyncRun.Status.SUCCEEDED, started_at__gte=subscription.gap_detected_at
        ).exists()
        if not repaired:
            until = "polling at the normal cadence until a sync has caught up."
            return LiveStatus(
                LiveState.GAP,
                f"Some deliveries were lost ({subscription.gap_reason}): {until}",
                subscription.gap_detected_at,
                repository_uuid=subscription.gap_repository_uuid,
                message_unnamed=f"Some deliveries were lost: {until}",
            )
    reference = subscription.last_delivery_at or subscription.enabled_at or subscription.created_at
    if now - reference > timedelta(minutes=silence_minutes()):
        after = reference + CLOCK_TOLERANCE
        active = (
            PullRequest.objects.filter(workspace=workspace, updated_on__gt=after).exists()
            or Repository.objects.live().filter(workspace=workspace, updated_on__gt=after).exists()
        )
        if active:
            return LiveStatus(
                LiveState.SILENT,
                f"No delivery for over {silence_minutes()} minutes while Bitbucket shows activity: polling at the "
                "normal cadence.",
                reference,
            )
    if subscription.last_delivery_at is None:
        return LiveStatus(
            LiveState.STARTING,
            "The webhook is registered; no delivery has arrived yet. Polling at the normal cadence until one does.",
            subscription.enabled_at,
        )
    return LiveStatus(
        LiveState.HEALTHY,
        f"Deliveries are arriving: polling slowed to every {poll_minutes()} minutes as a safety net.",
        subscription.last_delivery_at,
    )


def poll_due(*, workspace: Workspace, now=None) -> bool:
    """For the scheduler, on each of its ticks: poll `workspace` now? Always, unless webhooks are healthy; then only
    once BBDASH_WEBHOOK_POLL_MINUTES have passed since its last sync that did not fail."""
    now = now or timezone.now()
    if not live_status(workspace=workspace, now=now).healthy:
        return True
    last = (
        SyncRun.objects.filter(workspace=workspace)
        .exclude(status__in=(SyncRun.Status.FAILED, SyncRun.Status.SKIPPED))
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last is None or now - last >= timedelta(minutes=poll_minutes())
