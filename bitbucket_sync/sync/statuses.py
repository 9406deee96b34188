"""Build statuses of open pull requests: read on their own cadence, stored per pull request by key.

A status change does not move a pull request's ``updated_on`` (reference §19.4), so the ``updated_on`` listing never
notices a build finishing. Instead:

* a full sync reads every open pull request's statuses (``GET {pr}/statuses``, one request each);
* an incremental sync re-reads them for open pull requests whose source commit changed since they were read
  (``statuses_synced_for != source_commit``), and for those with a build in progress, at most once every
  ``BBDASH_STATUS_POLL_MINUTES``;
* the ``repo:commit_status_created/updated`` webhooks apply single statuses within seconds
  (``bitbucket_sync.webhooks.applying``, through ``apply_status``).

Rows for keys a pull request no longer lists are deleted only by ``store_statuses``, after a complete listing of that
pull request's statuses: a read that fails raises before anything is stored. ``PullRequest.build_state`` is
``turns.build_summary`` of the rows; ``statuses_synced_for`` says which source commit they were read for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from bitbucket_sync import turns
from bitbucket_sync.client import BitbucketClient, Unsupported, records
from bitbucket_sync.models import BuildStatus, PullRequest, Repository, SyncRun
from bitbucket_sync.sync import locks
from bitbucket_sync.sync.upserts import Counts, Stats

OPEN = PullRequest.State.OPEN
INPROGRESS = BuildStatus.State.INPROGRESS


def poll_minutes() -> int:
    """Minutes between two reads of a pull request whose build is still running (``BBDASH_STATUS_POLL_MINUTES``)."""
    return max(1, int(getattr(settings, "BBDASH_STATUS_POLL_MINUTES", 5)))


def statuses_due(
    *, repository: Repository, full: bool, run_started: datetime | None = None, now: datetime | None = None
) -> QuerySet[PullRequest]:
    """The repository's open pull requests whose statuses a sync reads now.

    Full: all of them, except those already read since ``run_started`` (a step resumed after a pause does not read
    them again). Incremental: those whose source commit moved since the statuses were read, and those with a build
    in progress read more than ``poll_minutes`` ago.
    """
    open_prs = PullRequest.objects.filter(repository=repository, state=OPEN)
    moved = ~Q(statuses_synced_for=F("source_commit")) | Q(statuses_synced_at__isnull=True)
    if full:
        if run_started is None:
            return open_prs.order_by("number")
        return open_prs.filter(moved | Q(statuses_synced_at__lt=run_started)).order_by("number")
    poll_before = (now or timezone.now()) - timedelta(minutes=poll_minutes())
    running = BuildStatus.objects.filter(pull_request=OuterRef("pk"), state=INPROGRESS)
    return open_prs.filter(moved | Q(Exists(running), statuses_synced_at__lte=poll_before)).order_by("number")


def sync_statuses(
    *,
    run: SyncRun,
    repository: Repository,
    client: BitbucketClient,
    full: bool,
    stats: Stats,
    budget: Callable[[SyncRun], None] | None = None,
) -> int:
    """Read and store the statuses of the repository's due pull requests; returns how many were read.

    ``budget`` (the engine's ``check_budget``) is asked before each read, so a repository with many open pull
    requests pauses at the credential's share of the hourly budget and resumes with the ones not read yet. Failures
    (429, 5xx) propagate to the step's caller like the pull request listing's; what was stored before stays.
    """
    due = list(
        statuses_due(repository=repository, full=full, run_started=run.started_at).only(
            "pk", "number", "source_commit", "statuses_synced_for", "build_state", "repository_id"
        )
    )
    ws, slug = repository.workspace.key, repository.slug
    changed: list[int] = []
    try:
        for pr in due:
            if budget is not None:
                budget(run)
            try:
                found = list(client.iter_pull_request_statuses(ws, slug, pr.number))
            except Unsupported:
                break  # this Bitbucket's builds are not read through bbdash: the state stays unknown
            if store_statuses(pull_request=pr, status_records=found, counts=stats["statuses"]):
                changed.append(pr.pk)
            locks.heartbeat(workspace_id=repository.workspace_id, run_id=run.pk)
    finally:
        # Whose turn follows the statuses read so far, even when a 429 or the budget stops the step.
        turns.refresh_turns(changed)
    return len(due)


STORED = ("state", "name", "description", "url", "refname", "commit_hash", "created_on", "updated_on")


def _values(record: records.BuildStatus) -> dict:
    return {
        "state": record.state,
        "name": record.name[:1000],
        "description": record.description,
        "url": record.url,
        "refname": (record.refname or "")[:255],
        "commit_hash": record.commit[:40],
        "created_on": record.created_on,
        "updated_on": record.updated_on,
    }


def store_statuses(
    *,
    pull_request: PullRequest,
    status_records: Sequence[records.BuildStatus],
    counts: Counts | None = None,
    now: datetime | None = None,
) -> bool:
    """Make the pull request's statuses what a complete listing says (rows for unlisted keys deleted), with its
    ``build_state`` and the commit they were read for; True when anything a page or a rule reads changed (and then
    the pull request's ``synced_at`` moves, as for any change of the row).

    The commit is the pull request's source commit as the mirror knows it, unless the statuses name another one
    (the source moved on Bitbucket after the mirror last read the pull request): then theirs, so the next
    incremental sync reads them again once the pull request itself is fresh.
    """
    counts = counts if counts is not None else Counts()
    now = now or timezone.now()
    latest: dict[str, records.BuildStatus] = {}
    for record in status_records:
        key = record.key[:255]
        if key not in latest or (record.updated_on or now) >= (latest[key].updated_on or now):
            latest[key] = record
    read_for = pull_request.source_commit
    listed_commits = {r.commit for r in latest.values()}
    if listed_commits and not any(records.same_commit(c, read_for) for c in listed_commits):
        read_for = sorted(listed_commits)[0][:40]
    with transaction.atomic():
        existing = {s.key: s for s in BuildStatus.objects.select_for_update().filter(pull_request=pull_request)}
        to_create, to_update = [], []
        for key, record in latest.items():
            values = _values(record)
            row = existing.get(key)
            if row is None:
                to_create.append(BuildStatus(pull_request=pull_request, key=key, synced_at=now, **values))
            elif any(getattr(row, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(row, name, value)
                row.synced_at = now
                to_update.append(row)
        gone = [row.pk for key, row in existing.items() if key not in latest]
        if gone:
            BuildStatus.objects.filter(pk__in=gone).delete()
        if to_create:
            BuildStatus.objects.bulk_create(to_create, ignore_conflicts=True)
        if to_update:
            BuildStatus.objects.bulk_update(to_update, [*STORED, "synced_at"])
        counts.created += len(to_create)
        counts.updated += len(to_update)
        counts.removed += len(gone)
        build_state = turns.build_summary(r.state for r in latest.values())
        changed = bool(to_create or to_update or gone)
        changed |= build_state != pull_request.build_state or read_for != pull_request.statuses_synced_for
        values = {"build_state": build_state, "statuses_synced_for": read_for, "statuses_synced_at": now}
        if changed:
            values["synced_at"] = now  # open pages poll "changed since" on it: a finished build shows live
        PullRequest.objects.filter(pk=pull_request.pk).update(**values)
        for name, value in values.items():
            setattr(pull_request, name, value)
    return changed


def apply_status(*, pull_request: PullRequest, record: records.BuildStatus, now: datetime | None = None) -> bool:
    """One status as a webhook delivers it, for a pull request whose source commit it is on: upsert its key and
    recompute ``build_state``; True when a row changed. Nothing else is deleted (a delivery is not a listing) but
    rows of another commit, which a pull request's list never shows with its tip's.

    A delivery older than the row (``updated_on``) is ignored: deliveries can arrive out of order."""
    now = now or timezone.now()
    key = record.key[:255]
    values = _values(record)
    if records.same_commit(record.commit, pull_request.source_commit):
        values["commit_hash"] = pull_request.source_commit  # the listing's form, so the next read changes nothing
    with transaction.atomic():
        rows = list(BuildStatus.objects.select_for_update().filter(pull_request=pull_request))
        stale = [r.pk for r in rows if r.commit_hash and not records.same_commit(r.commit_hash, record.commit)]
        row = next((r for r in rows if r.key == key and r.pk not in stale), None)
        if row is not None and row.updated_on and record.updated_on and record.updated_on < row.updated_on:
            return False
        if stale:
            BuildStatus.objects.filter(pk__in=stale).delete()
        if row is None:
            BuildStatus.objects.create(pull_request=pull_request, key=key, synced_at=now, **values)
        elif any(getattr(row, name) != value for name, value in values.items()):
            BuildStatus.objects.filter(pk=row.pk).update(synced_at=now, **values)
        elif not stale:
            return False
        states = BuildStatus.objects.filter(pull_request=pull_request).values_list("state", flat=True)
        build_state = turns.build_summary(states)
        PullRequest.objects.filter(pk=pull_request.pk).update(build_state=build_state, synced_at=now)
        pull_request.build_state, pull_request.synced_at = build_state, now
    return True
