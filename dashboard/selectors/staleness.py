"""How fresh a workspace's mirror is, and when it is stale, since when and why: the one place that decides it.

Every page inside a workspace shows a banner when its data is stale (``templates/_freshness.html``, rendered by the
``freshness_banner`` tag in ``base.html``); the home page, the inbox and a person's page list the stale workspaces
among those the viewer sees. The decision reads the workspace row (its ``synced_at`` and its sync lock) and at most
two sync runs, the latest and the latest finished, in one query, whatever the number of workspaces: it never asks
Bitbucket, the broker or a worker. A worker's signs of life are already in the database: a running sync pushes its
workspace lock's expiry on as it works (``bitbucket_sync.sync.locks.heartbeat``), so a lock that expired while its
run still says running means the worker stopped answering; a run still queued long after it was created was never
picked up. ``resume_stalled_syncs`` (beat, every minute) reads the same signs to continue such runs.

The reasons, the first that applies wins:

* ``stalled``: the worker of the active run stopped answering (its lock expired, with a little grace for beat to
  hand it to another worker);
* ``waiting``: a run queued and never picked up by a worker;
* ``paused``: the sync waits for Bitbucket's rate limit or the hourly budget (it resumes by itself);
* ``failed``: the latest finished run failed outright, so the workspace was not stamped as synced;
* ``never``: the workspace has never been synced;
* ``overdue``: no successful sync within twice the schedule's interval (``BBDASH_SYNC_INTERVAL_MINUTES``) and a grace.

A run that finished with errors about single repositories still stamped the workspace: the rest is fresh, and the
errors are on the sync page for those who may see those repositories.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from bitbucket_sync.models import Credential, SyncRun, Workspace

STALLED, WAITING, PAUSED, FAILED, NEVER, OVERDUE = "stalled", "waiting", "paused", "failed", "never", "overdue"

# Beat looks for stalled runs every minute and a resumed task needs a moment to be picked up: a lock expired for less
# than this is a run changing hands, not a stopped worker.
WORKER_GRACE = timedelta(minutes=2)
# A sync takes a while after its beat; a workspace is overdue once two intervals and this have gone by without one.
OVERDUE_GRACE = timedelta(minutes=5)

_ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING, SyncRun.Status.PAUSED)
_FINISHED = (SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED)
_REFUSED = (Credential.Status.INVALID, Credential.Status.EXPIRED, Credential.Status.REVOKED)


def interval_minutes() -> int:
    return int(getattr(settings, "BBDASH_SYNC_INTERVAL_MINUTES", 5))


def overdue_after() -> timedelta:
    """How old the last successful sync may be before the mirror is older than its schedule allows."""
    return 2 * timedelta(minutes=interval_minutes()) + OVERDUE_GRACE


def _lock_seconds() -> int:
    return int(getattr(settings, "BBDASH_SYNC_LOCK_SECONDS", 300))


def waiting_after() -> timedelta:
    """How long a queued run may wait for a worker: a lock's life (a busy worker frees a slot within it) and grace."""
    return timedelta(seconds=_lock_seconds()) + WORKER_GRACE


@dataclass
class Freshness:
    workspace: Workspace
    synced_at: datetime | None
    last_run: SyncRun | None
    paused_until: datetime | None = None
    running: bool = False
    # Empty while fresh; else one of the reasons above.
    reason: str = ""
    # When the staleness began: the last sign of life of a stopped worker, when a waiting run was queued, the data's
    # own time (the last successful sync) otherwise; None when there is none.
    since: datetime | None = None
    # When the failed run ended, and what it said (the run's message, as the sync page shows it).
    failed_at: datetime | None = None
    detail: str = ""
    # The failed run's credential was refused by Bitbucket (marked invalid, expired or revoked, or a 401).
    credential_refused: bool = False
    # The pause is the hourly budget bbdash keeps (not a 429 from Bitbucket).
    paused_for_budget: bool = False
    interval_minutes: int = 5

    @property
    def paused(self) -> bool:
        return self.last_run is not None and self.last_run.status == SyncRun.Status.PAUSED

    @property
    def stale(self) -> bool:
        return bool(self.reason)

    @property
    def error(self) -> bool:
        """Stale for a reason that needs someone (a stopped worker, a failure), not one that passes by itself."""
        return self.reason in (STALLED, WAITING, FAILED)


def _lock_dead(workspace: Workspace, run: SyncRun, now: datetime) -> bool:
    expires = workspace.sync_lock_expires_at
    return workspace.sync_locked_by_run != run.pk or expires is None or expires < now - WORKER_GRACE


def _last_sign_of_life(workspace: Workspace, run: SyncRun) -> datetime | None:
    """The lock's expiry minus its life is the worker's last heartbeat, while the lock is still this run's."""
    if workspace.sync_locked_by_run == run.pk and workspace.sync_lock_expires_at is not None:
        beat = workspace.sync_lock_expires_at - timedelta(seconds=_lock_seconds())
        if run.paused_until is not None:
            beat = min(beat, run.paused_until)  # a pause pushes the lock past its end: the worker was due back then
        return beat
    return run.started_at or run.created_at


def _refused(run: SyncRun) -> bool:
    credential = run.credential
    if credential is not None and credential.status in _REFUSED:
        return True
    return "-> 401" in run.message  # the client's error text names the status (bitbucket_sync.client.errors)


def decide(
    *, workspace: Workspace, latest: SyncRun | None, finished: SyncRun | None, now: datetime | None = None
) -> Freshness:
    """The workspace's freshness from its row, its latest run and its latest finished run (the two may be one)."""
    now = now or timezone.now()
    active = latest is not None and latest.status in _ACTIVE
    result = Freshness(
        workspace=workspace,
        synced_at=workspace.synced_at,
        last_run=latest,
        paused_until=latest.paused_until if latest is not None else None,
        running=bool(latest is not None and latest.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)),
        interval_minutes=interval_minutes(),
    )
    if active:
        assert latest is not None
        if latest.status == SyncRun.Status.QUEUED and latest.started_at is None:
            if latest.created_at < now - waiting_after():
                result.reason, result.since = WAITING, latest.created_at
                return result
        elif _lock_dead(workspace, latest, now):
            result.reason, result.since = STALLED, _last_sign_of_life(workspace, latest)
            return result
        elif latest.status == SyncRun.Status.PAUSED:
            result.reason, result.since = PAUSED, workspace.synced_at
            result.paused_for_budget = latest.message.startswith("Hourly request budget")  # engine.check_budget
            return result
    if finished is not None and finished.status == SyncRun.Status.FAILED:
        # finish_run stamps synced_at with the run's own finished_at unless the run failed outright.
        synced, ended = workspace.synced_at, finished.finished_at
        if synced is None or ended is None or synced < ended:
            result.reason, result.since = FAILED, workspace.synced_at
            # The template ends the sentence itself: a message may or may not end with a full stop.
            result.failed_at, result.detail = finished.finished_at or finished.created_at, finished.message.rstrip(". ")
            result.credential_refused = _refused(finished)
            return result
    if workspace.synced_at is None:
        result.reason, result.since = NEVER, None
    elif workspace.synced_at < now - overdue_after():
        result.reason, result.since = OVERDUE, workspace.synced_at
    return result


def _runs():
    return SyncRun.objects.exclude(status=SyncRun.Status.SKIPPED).order_by("-created_at")


def freshness(workspace: Workspace) -> Freshness:
    """How fresh the workspace's mirror is, and if stale since when and why (one query)."""
    runs = list(_runs().filter(workspace=workspace).select_related("credential")[:2])
    latest = runs[0] if runs else None
    finished = next((run for run in runs if run.status in _FINISHED), None)
    return decide(workspace=workspace, latest=latest, finished=finished)


def freshness_of(workspaces: Iterable[Workspace]) -> dict[int, Freshness]:
    """Each workspace's freshness, by id, in one query however many there are. The caller passes only workspaces
    the viewer may see (``visible_workspaces``)."""
    by_id = {workspace.pk: workspace for workspace in workspaces}
    if not by_id:
        return {}
    of_workspace = _runs().filter(workspace=OuterRef("pk")).values("pk")
    ids = Workspace.objects.filter(pk__in=list(by_id)).annotate(
        latest_id=Subquery(of_workspace[:1]), finished_id=Subquery(of_workspace.filter(status__in=_FINISHED)[:1])
    )
    runs = SyncRun.objects.filter(
        Q(pk__in=ids.values("latest_id")) | Q(pk__in=ids.values("finished_id"))
    ).select_related("credential")
    latest: dict[int, SyncRun] = {}
    finished: dict[int, SyncRun] = {}
    for run in sorted(runs, key=lambda r: r.created_at):  # the newest last, so it wins
        assert run.workspace_id is not None  # the subqueries pick runs of these workspaces
        latest[run.workspace_id] = run
        if run.status in _FINISHED:
            finished[run.workspace_id] = run
    return {
        pk: decide(workspace=workspace, latest=latest.get(pk), finished=finished.get(pk))
        for pk, workspace in by_id.items()
    }


def stale_workspaces(workspaces: Iterable[Workspace]) -> list[Freshness]:
    """The stale ones among the given (visible) workspaces, in their order, each with its reason."""
    return [state for state in freshness_of(workspaces).values() if state.stale]
