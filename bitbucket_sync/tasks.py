"""Thin Celery tasks around the sync services: ids in, the lock, retries and pauses, fan-out per repository; and
the two ways a run is queued, ``request_sync`` (scheduler, command) and ``request_manual_sync`` ("Sync now").

Every task is idempotent and ``acks_late`` (a worker killed mid-task leaves it for another worker: the upserts make
a second run harmless, and a repository is counted done once). A run whose worker died altogether (its messages
lost with it, as the filesystem broker does) is picked up by ``resume_stalled_syncs``, which beat runs every minute:
the run re-claims its own lock once it has expired and goes on with the repositories it has not done.

Waiting is never done by sleeping in a worker: a 429 or a spent budget marks the run paused, says until when, and
re-schedules the same task with a countdown; how long, and when to give up, is ``policy.decide``'s answer.
"""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task, shared_task
from celery.exceptions import Retry, SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from bitbucket_sync import retention, webhooks
from bitbucket_sync.client import BitbucketClient, BitbucketError
from bitbucket_sync.credentials import clients, health
from bitbucket_sync.models import Credential, Repository, SyncRun, Workspace, WorkspaceAccess
from bitbucket_sync.sync import access, engine, locks, merge_preview, pacing, policy
from bitbucket_sync.sync.engine import NoSyncCredential
from bitbucket_sync.sync.policy import UNAVAILABLE_RETRIES, SyncPaused
from bitbucket_sync.webhooks import tasks as webhook_tasks  # noqa: F401  (Celery registers its tasks from here)

log = logging.getLogger("bitbucket_sync.tasks")


# Celery counts every retry of a task in one number; the sync tasks carry their pauses and their failure retries
# apart in these keyword arguments, so a run that waited out many 429s still gets its retries when Bitbucket fails.
PAUSES, FAILURES = "pauses", "failures"


def _jitter(seconds: float) -> float:
    # Tasks of one run paused by the same 429 should not all come back in the same second.
    return seconds + random.uniform(0, min(5.0, seconds / 10))


def _pauses_since_progress(pauses: int, client: BitbucketClient) -> int:
    """The pauses a step has had since it last got anywhere: a step that answered a request before this 429 made
    progress (resumed steps skip what they did), so only pauses in a row, with nothing read between, count towards
    giving up. A long step under a tight limit then goes on for as long as each attempt moves it forward."""
    return 0 if client.request_count > 1 else pauses


def _later(
    task: Task[..., Any], run: SyncRun, decision: policy.Retry | policy.Pause, *, pauses: int, failures: int
) -> Retry:
    """The same task again after the decision's wait; a pause is written on the run, a failure retry counted."""
    if isinstance(decision, policy.Pause):
        engine.mark_paused(run=run, paused=decision)
        pauses += 1
    else:
        engine.note_retry(run_id=run.pk)
        failures += 1
    return task.retry(countdown=_jitter(decision.seconds), kwargs={PAUSES: pauses, FAILURES: failures})


def request_sync(
    *,
    workspace: Workspace,
    kind: str = SyncRun.Kind.INCREMENTAL,
    trigger: str = SyncRun.Trigger.MANUAL,
    user=None,
    credential: Credential | None = None,
) -> SyncRun:
    """Queue a sync of the workspace, or return the one already queued or running (never two at once).

    It reads with the workspace's sync credential, or with ``credential`` (``bitbucket_sync --as``)."""
    with transaction.atomic():
        existing = SyncRun.objects.filter(workspace=workspace, status__in=engine.ACTIVE).order_by("created_at").first()
        if existing is not None:
            return existing
        run = SyncRun.objects.create(
            workspace=workspace,
            kind=kind,
            trigger=trigger,
            triggered_by=user if user is not None and user.is_authenticated else None,
            credential_id=credential.pk if credential is not None else workspace.sync_credential_id,
        )
        transaction.on_commit(lambda: sync_workspace_task.delay(run.pk))
    return run


def request_manual_sync(*, workspace: Workspace, user, override: bool = False) -> SyncRun:
    """ "Sync now": the active run if there is one, else a new manual run when the pacing allows it (or staff
    override); raises ``pacing.ManualSyncRefused`` otherwise, and ``pacing.SyncCredentialRefused`` (one of those)
    when Bitbucket refused the workspace's sync credential."""
    with transaction.atomic():
        # Two clicks at once must not both pass the check: the workspace row serialises them.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).values_list("pk", flat=True).first()
        active = SyncRun.objects.filter(workspace=workspace, status__in=engine.ACTIVE).order_by("created_at").first()
        if active is not None:
            return active
        sync_credential = workspace.sync_credential_id
        credential = Credential.objects.filter(pk=sync_credential).first() if sync_credential else None
        if health.is_refused(credential):
            assert credential is not None  # is_refused says so
            raise pacing.SyncCredentialRefused(health.refusal_text(credential, viewer=user))
        decision = pacing.manual_sync(user=user, last_manual_at=pacing.last_manual_at(workspace))
        if not decision.allowed and not (override and decision.may_override):
            raise pacing.ManualSyncRefused(decision)
        return request_sync(
            workspace=workspace, kind=SyncRun.Kind.INCREMENTAL, trigger=SyncRun.Trigger.MANUAL, user=user
        )


# The listing is a few pages of repositories and members: minutes would mean Bitbucket is hanging.
# No Celery cap on the sync steps' retries: `policy.decide` bounds the failures and the pauses in a row, and a step
# that keeps making progress under a tight rate limit may pause more often in all than either bound.
@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=300, time_limit=360)
def sync_workspace_task(self, run_id: int, pauses: int = 0, failures: int = 0) -> None:
    """Begin a sync run (or resume it): claim the lock, list repositories and members, fan out per repository."""
    run = SyncRun.objects.select_related("workspace", "credential").filter(pk=run_id).first()
    if run is None or run.workspace is None:
        return
    if not engine.begin_run(run=run):
        log.info("sync run %s not started: %s", run_id, run.message or run.status)
        return
    try:
        client = engine.sync_client(run)
    except NoSyncCredential as exc:
        engine.finish_run(run_id=run_id, failure=str(exc))
        return
    try:
        if run.repositories_total:
            # Resumed after a crash: the listing was done; go on with what is left.
            pending = list(
                Repository.objects.live()
                .filter(workspace=run.workspace)
                .exclude(synced_in_run=run_id)
                .values_list("pk", flat=True)
            )
        else:
            pending = engine.sync_workspace_listing(run=run, client=client)
    except (SyncPaused, BitbucketError) as exc:
        pauses = _pauses_since_progress(pauses, client)
        decision = policy.decide(exc, pauses=pauses, failures=failures)
        if isinstance(decision, policy.Fail):
            engine.fail_listing(run=run, error=decision.error)
            return
        raise _later(self, run, decision, pauses=pauses, failures=failures) from None
    finally:
        client.close()
    engine.mark_resumed(run=run)
    if not pending:
        _finish(run_id)
        return
    for repository_id in pending:
        sync_repository_task.delay(repository_id, run_id)


# One repository: a few pages of pull requests, branches and watchers; a 100,000-PR repository is 2,000 pages, which
# the soft limit allows at Bitbucket's usual pace. The hard limit follows 60 s later.
@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=1800, time_limit=1860)
def sync_repository_task(self, repository_id: int, run_id: int, pauses: int = 0, failures: int = 0) -> None:
    """Sync one repository within a run, then end the run if it was the last."""
    run = SyncRun.objects.select_related("workspace", "credential").filter(pk=run_id).first()
    repository = Repository.objects.select_related("workspace").filter(pk=repository_id).first()
    if run is None or repository is None or run.status not in engine.ACTIVE:
        return  # removed after the message was queued, or the run already ended
    if repository.synced_in_run == run_id:
        return  # done already (a redelivered or duplicated message)
    assert run.workspace_id is not None  # every sync run is created for a workspace
    held = locks.extend(workspace_id=run.workspace_id, run_id=run_id)
    if not held and not locks.claim(workspace_id=run.workspace_id, run_id=run_id):
        engine.finish_run(run_id=run_id, failure="Stopped: another sync of the workspace took over its lock.")
        return
    engine.mark_resumed(run=run)
    try:
        client = engine.sync_client(run)
    except NoSyncCredential as exc:
        engine.finish_run(run_id=run_id, failure=str(exc))
        return
    try:
        engine.sync_repository(run=run, repository=repository, client=client)
    except SoftTimeLimitExceeded:
        # Its marks did not move, so the next run lists it again from where the last complete listing ended.
        timeout = TimeoutError("took longer than the task's time limit; the next sync tries again")
        if engine.record_repository_failure(run_id=run_id, repository=repository, exc=timeout):
            _finish(run_id)
        return
    except Exception as exc:
        pauses = _pauses_since_progress(pauses, client)
        decision = policy.decide(exc, pauses=pauses, failures=failures)
        if not isinstance(decision, policy.Fail):
            raise _later(self, run, decision, pauses=pauses, failures=failures) from None
        if not isinstance(exc, BitbucketError | SyncPaused):
            # A bug must not leave the run waiting for this repository forever: it is written on the run and counted.
            log.exception("sync of %s in run %s failed", repository.full_name, run_id)
        if engine.record_repository_failure(run_id=run_id, repository=repository, exc=decision.error):
            _finish(run_id)
        return
    finally:
        client.close()
    if engine.finish_repository(run_id=run_id, repository_id=repository_id):
        _finish(run_id)


def _finish(run_id: int) -> None:
    run = engine.finish_run(run_id=run_id)
    if run is None:
        return
    assert run.workspace is not None  # every sync run is created for a workspace
    for user_id in engine.users_to_refresh(workspace=run.workspace):
        sync_user_access_task.delay(user_id)
    check_conflicts_task.delay(run.workspace.pk)


# Two requests per pull request whose tips moved, stopped by the budget reserve: minutes at most.
@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def check_conflicts_task(workspace_id: int) -> dict[str, int]:
    """After a sync: read the merge preview of the open pull requests whose tips moved, with the sync credential,
    while its budget stays above the reserve. Bitbucket refusing now (429, 5xx) just leaves them to the next pass."""
    workspace = Workspace.objects.select_related("sync_credential").filter(pk=workspace_id).first()
    if workspace is None or workspace.sync_credential is None or not workspace.sync_credential.is_active:
        return {}
    if health.is_refused(workspace.sync_credential):
        return {}
    credential = workspace.sync_credential
    with clients.client_for(credential, purpose="sync") as client:
        try:
            outcome = merge_preview.check_moved_pull_requests(workspace=workspace, client=client, credential=credential)
        except BitbucketError as exc:
            log.info("merge previews of %s stopped: %s", workspace.key, exc)
            return {}
    return {"checked": outcome.checked, "conflicted": outcome.conflicted, "deferred": outcome.deferred}


# Two listings per workspace the user belongs to.
@shared_task(bind=True, acks_late=True, max_retries=UNAVAILABLE_RETRIES, soft_time_limit=120, time_limit=180)
def sync_user_access_task(self, user_id: int) -> None:
    """Rebuild what the user may see from their own credential (after a credential is saved, and each cycle)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return
    try:
        access.sync_user_access(user=user)
    except BitbucketError as exc:
        # No run to write pauses on: Celery's one count of retries stands for both, bounded by `max_retries`.
        retries = self.request.retries
        decision = policy.decide(exc, pauses=retries, failures=retries)
        if not isinstance(decision, policy.Fail):
            raise self.retry(countdown=_jitter(decision.seconds)) from None
        # A revoked or expired credential: the credentials page shows the credential's own status; keep the rows.
        log.warning("access sync for user %s failed: %s", user_id, exc)


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)  # a few queries and enqueues
def sync_all_workspaces(kind: str = SyncRun.Kind.INCREMENTAL) -> int:
    """Beat: queue a sync of every workspace that has a sync credential; returns how many were queued or running.

    A workspace whose sync credential Bitbucket refused is not synced (each request would be refused again): a
    skipped run says why on the sync page, written once until something changes (``skip_refused``)."""
    count = 0
    for workspace in Workspace.objects.live().filter(sync_credential__isnull=False).select_related("sync_credential"):
        if health.is_refused(workspace.sync_credential):
            skip_refused(workspace=workspace, kind=kind)
            continue
        if kind == SyncRun.Kind.INCREMENTAL and not webhooks.poll_due(workspace=workspace):
            continue  # webhooks keep it fresh; polled at BBDASH_WEBHOOK_POLL_MINUTES as the safety net
        request_sync(workspace=workspace, kind=kind, trigger=SyncRun.Trigger.SCHEDULE)
        count += 1
    # Users with a credential but no access rows yet (a new credential, or a first workspace) are refreshed too;
    # the others are refreshed when a sync of one of their workspaces ends. A refused credential is not asked.
    with_rows = WorkspaceAccess.objects.values_list("user_id", flat=True)
    waiting = Credential.objects.active().exclude(owner_id__in=with_rows).exclude(status__in=health.REFUSED)
    for owner_id in waiting.values_list("owner_id", flat=True).distinct():
        sync_user_access_task.delay(owner_id)
    return count


def skip_refused(*, workspace: Workspace, kind: str) -> SyncRun | None:
    """Record a scheduled sync not run because Bitbucket refused the workspace's sync credential: a skipped run with
    the reason, unless the latest run already says exactly that (one row, not one every few minutes)."""
    assert workspace.sync_credential is not None  # the caller found it refused
    message = health.refusal_text(workspace.sync_credential)
    latest = SyncRun.objects.filter(workspace=workspace).order_by("-created_at", "-pk").first()
    if latest is not None and latest.status == SyncRun.Status.SKIPPED and latest.message == message:
        return None
    if latest is not None and latest.status in engine.ACTIVE:
        return None  # the running one stops at its next step and says why itself
    log.info("sync of %s skipped: its sync credential %s was refused", workspace.slug, workspace.sync_credential_id)
    now = timezone.now()
    return SyncRun.objects.create(
        workspace=workspace,
        kind=kind,
        trigger=SyncRun.Trigger.SCHEDULE,
        credential=workspace.sync_credential,
        status=SyncRun.Status.SKIPPED,
        finished_at=now,
        message=message,
    )


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)  # a few queries and enqueues
def resume_stalled_syncs() -> list[int]:
    """Beat, every minute: runs whose worker died (lock expired while active) are continued where they stopped."""
    resumed = []
    for run in engine.stalled_runs():
        log.warning("resuming stalled sync run %s of %s", run.pk, run.workspace)
        sync_workspace_task.delay(run.pk)
        resumed.append(run.pk)
    return resumed


# Each kind is deleted in bounded batches (see bitbucket_sync.retention): seconds, even with a backlog.
@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def prune_history() -> dict[str, int]:
    """Beat, hourly: forget old ledger entries, sync runs, action receipts and webhook deliveries."""
    deleted = retention.prune_history()
    log.info("pruned history: %s", deleted)
    return deleted


# -- credential health -----------------------------------------------------------------------------------------------


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)  # one query and one enqueue per credential
def recheck_credentials() -> int:
    """Beat, daily (``BBDASH_CREDENTIAL_CHECK_HOUR``): ask Bitbucket about every active credential not checked in the
    last day, one task each, spaced ``BBDASH_CREDENTIAL_CHECK_SPACING_SECONDS`` apart so a server with many users
    is not asked all at once. Each costs one request (who it acts as), and the full check (4 to 6) only when its
    state changed. Returns how many were queued."""
    spacing = max(0, int(getattr(settings, "BBDASH_CREDENTIAL_CHECK_SPACING_SECONDS", 5)))
    ids = list(health.due_for_recheck().values_list("pk", flat=True))
    for index, credential_id in enumerate(ids):
        recheck_credential_task.apply_async(args=(credential_id,), countdown=index * spacing)
    return len(ids)


# One request, or a full check (a handful) when the credential's state changed.
@shared_task(acks_late=True, soft_time_limit=120, time_limit=180)
def recheck_credential_task(credential_id: int) -> str:
    """Re-check one credential (``health.recheck``): refused ones are marked, ones accepted again restored."""
    credential = Credential.objects.select_related("owner").filter(pk=credential_id, is_active=True).first()
    if credential is None:
        return "gone"
    outcome = health.recheck(credential)
    if outcome.outcome not in ("valid", "unchanged"):
        log.info("daily check of credential %s: %s %s", credential_id, outcome.outcome, outcome.message)
    return outcome.outcome
