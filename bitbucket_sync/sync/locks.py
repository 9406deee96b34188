"""The per-workspace sync lock: a conditional UPDATE on the workspace row, with an expiry.

Two syncs of one workspace would list the same repositories twice and race on the same watermarks, so only one
runs at a time. The lock is a column pair on the workspace (`sync_locked_by_run`, `sync_lock_expires_at`) claimed
with ``filter(...).update(...)`` and a row-count check, the way healthchecks claims work: one statement, atomic on
SQLite and PostgreSQL, no Redis needed. It expires so a worker killed while holding it cannot block the workspace
forever; a run's tasks push the expiry on as they work, and a run re-claims its own lock after a crash.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bitbucket_sync.models import Workspace


def lock_seconds() -> int:
    return int(getattr(settings, "BBDASH_SYNC_LOCK_SECONDS", 300))


def claim(*, workspace_id: int, run_id: int, until: datetime | None = None) -> bool:
    """Take the workspace's lock for `run_id` (free, expired, or already this run's); False when another run has it."""
    now = timezone.now()
    claimable = Q(sync_locked_by_run__isnull=True) | Q(sync_lock_expires_at__lt=now) | Q(sync_locked_by_run=run_id)
    expires = until or now + timedelta(seconds=lock_seconds())
    return (
        Workspace.objects.filter(claimable, pk=workspace_id).update(
            sync_locked_by_run=run_id, sync_lock_expires_at=expires
        )
        == 1
    )


def extend(*, workspace_id: int, run_id: int, until: datetime | None = None) -> bool:
    """Push the expiry on while the run works (or to the end of a pause); False when the run no longer holds it."""
    expires = until or timezone.now() + timedelta(seconds=lock_seconds())
    return (
        Workspace.objects.filter(pk=workspace_id, sync_locked_by_run=run_id).update(sync_lock_expires_at=expires) == 1
    )


_last_beat: dict[tuple[int, int], float] = {}


def heartbeat(*, workspace_id: int, run_id: int) -> None:
    """``extend`` from a loop: one UPDATE per fifth of the lock's life at most, not one per page."""
    key = (workspace_id, run_id)
    now = time.monotonic()
    if now - _last_beat.get(key, 0.0) < lock_seconds() / 5:
        return
    _last_beat.clear()  # one run per process at a time: nothing else worth keeping
    _last_beat[key] = now
    extend(workspace_id=workspace_id, run_id=run_id)


def release(*, workspace_id: int, run_id: int) -> None:
    Workspace.objects.filter(pk=workspace_id, sync_locked_by_run=run_id).update(
        sync_locked_by_run=None, sync_lock_expires_at=None
    )


def holder(*, workspace_id: int) -> int | None:
    """The run holding a live lock on the workspace, if any."""
    return (
        Workspace.objects.filter(pk=workspace_id, sync_lock_expires_at__gte=timezone.now())
        .values_list("sync_locked_by_run", flat=True)
        .first()
    )
