"""The workspace webhook on Bitbucket: turned on and off with the acting user's own credential, and checked (and
re-created when Bitbucket lost it) with the credential of the user who turned it on."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from django.utils import timezone

from bitbucket_sync import audit, sites
from bitbucket_sync.client import BitbucketError, NotFound, RateLimited, Unavailable
from bitbucket_sync.credentials import clients, health
from bitbucket_sync.models import AuditEvent, Credential, WebhookSubscription, Workspace
from bitbucket_sync.webhooks.health import note_gap

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
    # Build statuses: a status change does not move the pull request's updated_on, so only these bring it quickly.
    "repo:commit_status_created",
    "repo:commit_status_updated",
)
# The same on Bitbucket Data Center, in its event keys (reference §9.1), for a project-level webhook: every
# repository of the project. Data Center has no build status event; statuses keep coming with polling.
DATACENTER_EVENTS = (
    "repo:refs_changed",
    "pr:opened",
    "pr:modified",
    "pr:from_ref_updated",
    "pr:reviewer:updated",
    "pr:reviewer:approved",
    "pr:reviewer:unapproved",
    "pr:reviewer:needs_work",
    "pr:merged",
    "pr:declined",
    "pr:comment:added",
)
DESCRIPTION = "bbdash live updates"


def events_for(workspace: Workspace) -> tuple[str, ...]:
    """The event keys the webhook of `workspace` subscribes to, in its site's words."""
    return DATACENTER_EVENTS if sites.site_kind(workspace.api_url) == "datacenter" else EVENTS


class WebhookError(Exception):
    """Live updates could not be turned on or off; `message` says why in plain words (never a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _active_credential(user, workspace: Workspace) -> Credential | None:
    """The user's credential for the workspace's site (a webhook lives on that site)."""
    if user is None:
        return None
    return Credential.objects.for_site(user, workspace.api_url)


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
        with clients.client_for(credential, purpose="webhook") as client:
            hook = client.create_webhook(
                workspace.key,
                url=subscription.url,
                events=events_for(workspace),
                secret=secret,
                description=DESCRIPTION,
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
    workspace owner's API token, or a workspace access token with the webhook scope; on Data Center a project
    webhook, which needs PROJECT_ADMIN)."""
    credential = _active_credential(actor, workspace)
    if credential is None:
        raise WebhookError(
            "You have no Bitbucket credential for this workspace's site: add one before turning on live updates."
        )
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
        with clients.client_for(credential, purpose="webhook") as client:
            client.delete_webhook(subscription.workspace.key, hook_uuid)
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
        credential = _active_credential(actor, workspace)
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
    credential = _active_credential(subscription.enabled_by, subscription.workspace)
    if credential is None:
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = (
            "The user who turned on live updates has no active Bitbucket credential; turn them off and on again."
        )
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        return subscription
    if health.is_refused(credential):
        # Asked every few minutes by beat: a credential Bitbucket refused is not sent again until it works.
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = (
            "Bitbucket refused the Bitbucket credential of the user who turned on live updates; not checked until it "
            "is replaced."
        )
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        return subscription
    try:
        with clients.client_for(credential, purpose="webhook") as client:
            hooks = {hook.uuid: hook for hook in client.iter_webhooks(subscription.workspace.key)}
    except (RateLimited, Unavailable):
        raise
    except BitbucketError as exc:
        subscription.status = WebhookSubscription.Status.ERROR
        subscription.last_error = f"Bitbucket did not list the workspace webhooks: {exc.message}"
        subscription.save(update_fields=["status", "last_error", "updated_at"])
        return subscription
    hook = hooks.get(subscription.hook_uuid)
    wanted = set(events_for(subscription.workspace))
    if hook is not None and hook.active and hook.url == subscription.url and wanted <= set(hook.events):
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
    note_gap(subscription, "the webhook was missing on Bitbucket and has been re-created")
    with contextlib.suppress(WebhookError):  # the status and the audit log say why
        _create_hook(subscription, credential, actor=None, action="webhook.recreate")
    return subscription
