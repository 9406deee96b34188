"""Pacing of "Sync now": one manual run per workspace every ``BBDASH_MANUAL_SYNC_MINUTES``; staff may override.

Every run spends the sync credential's hourly allowance, which the whole workspace shares, so a person's click must
not be able to start run after run. ``manual_sync`` is the one decision (the page shows it, the view enforces it
through ``bitbucket_sync.tasks.request_manual_sync``, which queues the run); the run itself keeps the budget reserve
like a scheduled one (``check_budget``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from bitbucket_sync.models import SyncRun, Workspace


@dataclass(frozen=True)
class ManualSync:
    """Whether `user` may start a sync of a workspace now; if not, from when, and whether they may override."""

    allowed: bool
    next_at: datetime | None = None
    may_override: bool = False

    @property
    def refusal(self) -> str:
        if self.allowed or self.next_at is None:
            return ""
        local = timezone.localtime(self.next_at)  # the viewer's zone (said by name): this is shown at request time
        return (
            f"A sync of this workspace was started by hand less than {interval_minutes()} minutes ago: "
            f"next manual sync possible at {local:%H:%M} {local.tzname()}."
        )


def interval_minutes() -> int:
    return int(settings.BBDASH_MANUAL_SYNC_MINUTES)


def manual_sync(*, user, last_manual_at: datetime | None, now: datetime | None = None) -> ManualSync:
    """The pacing decision, from when the workspace's last manual run was created."""
    if last_manual_at is None:
        return ManualSync(allowed=True)
    next_at = last_manual_at + timedelta(minutes=interval_minutes())
    if (now or timezone.now()) >= next_at:
        return ManualSync(allowed=True)
    return ManualSync(allowed=False, next_at=next_at, may_override=bool(getattr(user, "is_staff", False)))


def last_manual_at(workspace: Workspace) -> datetime | None:
    return (
        SyncRun.objects.filter(workspace=workspace, trigger=SyncRun.Trigger.MANUAL)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


class ManualSyncRefused(Exception):
    def __init__(self, decision: ManualSync) -> None:
        super().__init__(decision.refusal)
        self.decision = decision


class SyncCredentialRefused(ManualSyncRefused):
    """ "Sync now" cannot run: Bitbucket refused the workspace's sync credential (``credentials.health``)."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, message)
        self.decision = ManualSync(allowed=False)
