"""Whether webhooks keep a workspace fresh (`live_status`), and so how often the scheduler polls it (`poll_due`); lost
deliveries are noted as a gap (`note_gap`) until a sync has caught up."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bitbucket_sync import sites
from bitbucket_sync.models import PullRequest, Repository, SyncRun, WebhookSubscription, Workspace

logger = logging.getLogger(__name__)


# Bitbucket's clock and ours: an `updated_on` this close to our last delivery is not "activity after it".
CLOCK_TOLERANCE = timedelta(minutes=1)


def poll_minutes() -> int:
    return int(getattr(settings, "BBDASH_WEBHOOK_POLL_MINUTES", 60))


def silence_minutes() -> int:
    return int(getattr(settings, "BBDASH_WEBHOOK_SILENCE_MINUTES", 30))


def note_gap(subscription: WebhookSubscription, reason: str, *, repository_uuid: str = "") -> None:
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
        # Data Center gives a repository no dates (the mirror's `updated_on` is when a sync read it): only its pull
        # requests' show activity there.
        repositories_dated = sites.site_kind(workspace.api_url) != "datacenter"
        active = PullRequest.objects.filter(workspace=workspace, updated_on__gt=after).exists() or (
            repositories_dated and Repository.objects.live().filter(workspace=workspace, updated_on__gt=after).exists()
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
