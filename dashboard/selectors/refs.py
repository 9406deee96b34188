"""Reads of the tags page, branch deletion and the branch clean-up page (all from the mirror, no Bitbucket request).

The repository passed in was already checked as visible to the user (``access.repository_for_user``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from bitbucket_sync.actions import recreatable
from bitbucket_sync.actions.receipts import new_key
from bitbucket_sync.client import records
from bitbucket_sync.models import AuditEvent, Branch, PullRequest, Repository, RepositoryAccess, Tag
from dashboard.selectors.pagination import Window, window

CLEANUP_DEFAULT_DAYS = 90
CLEANUP_LIMIT = 500  # a clean-up page never lists more (a repository with thousands of stale branches: do it twice)


def tag_page(repository: Repository, *, number: Any = 1) -> Window:
    """Live tags, newest first (tag date, else their commit's)."""
    # Nulls last on every database (PostgreSQL sorts them first when descending): an undated tag goes to the end.
    order = (F("tagged_on").desc(nulls_last=True), F("target_date").desc(nulls_last=True), "name")
    return window(Tag.objects.live().filter(repository=repository).order_by(*order), number=number)


def tag_for_user(repository: Repository, name: str) -> Tag:
    tag = Tag.objects.live().filter(repository=repository, name=name).first()
    if tag is None:
        raise Http404("No such tag.")
    return tag


def branch_for_user(repository: Repository, name: str) -> Branch:
    branch = Branch.objects.live().filter(repository=repository, name=name).first()
    if branch is None:
        raise Http404("No such branch.")
    return branch


def open_pull_requests_from(repository: Repository, names: list[str]) -> dict[str, list[PullRequest]]:
    """The open pull requests whose source is each branch (of this repository, not a fork), by branch name."""
    found: dict[str, list[PullRequest]] = {}
    rows = PullRequest.objects.filter(
        repository=repository, state=PullRequest.State.OPEN, source_branch__in=names
    ).order_by("number")
    for pr in rows:
        if pr.source_repository_full_name in ("", repository.full_name):
            found.setdefault(pr.source_branch, []).append(pr)
    return found


@dataclass(frozen=True)
class Candidate:
    """A branch the clean-up page offers, and why."""

    branch: Branch
    reason: str  # "merged", "declined" or "stale"
    pull_request: PullRequest | None = None

    @property
    def name(self) -> str:
        return self.branch.name


def cleanup_candidates(repository: Repository, *, older_than_days: int) -> list[Candidate]:
    """Branches whose newest pull request was merged or declined and whose tip is still that pull request's source
    commit; and branches with no open pull request whose last commit is older than ``older_than_days``. Never the
    main branch, never one with an open pull request."""
    branches = list(
        Branch.objects.live().filter(repository=repository).exclude(name=repository.main_branch).order_by("name")
    )
    names = [b.name for b in branches]
    open_prs = open_pull_requests_from(repository, names)
    closed: dict[str, PullRequest] = {}
    for row in PullRequest.objects.filter(
        repository=repository,
        source_branch__in=names,
        state__in=[PullRequest.State.MERGED, PullRequest.State.DECLINED],
    ).order_by("source_branch", "-updated_on", "-number"):
        if row.source_repository_full_name in ("", repository.full_name):
            closed.setdefault(row.source_branch, row)
    cutoff = timezone.now() - timedelta(days=older_than_days)
    out: list[Candidate] = []
    for branch in branches:
        if branch.name in open_prs:
            continue
        pr = closed.get(branch.name)
        if pr is not None and records.same_commit(pr.source_commit, branch.target_hash):
            out.append(Candidate(branch, pr.state.lower(), pr))
        elif branch.target_date is not None and branch.target_date < cutoff:
            out.append(Candidate(branch, "stale", pr))
        if len(out) >= CLEANUP_LIMIT:
            break
    return out


def branch_deletion_event(user, *, event_id: int) -> AuditEvent:
    """A branch deletion the user may undo: in the part of the audit log they read (staff: all; else their own), and
    on a repository they may still write to; 404 otherwise."""
    events = AuditEvent.objects.filter(pk=event_id, action="branch.delete", result=AuditEvent.Result.SUCCESS)
    if not user.is_staff:
        events = events.filter(actor=user)
    event = events.first()
    if event is None or recreatable_repository(user, event) is None:
        raise Http404("No such audit entry.")
    return event


def recreatable_repository(user, event: AuditEvent) -> Repository | None:
    """The live repository of a deletion event, if the user may write to it."""
    uuid = (event.details or {}).get("repository_uuid")
    if not isinstance(uuid, str):
        return None
    access = (
        RepositoryAccess.objects.filter(user=user, repository__bitbucket_uuid=uuid, repository__removed_at__isnull=True)
        .select_related("repository__workspace")
        .first()
    )
    if access is None or not access.can_write:
        return None
    return access.repository


def recreatable_events(user, events: list[AuditEvent] | QuerySet[AuditEvent]) -> set[int]:
    """Of the audit events shown to ``user``, the ids of branch deletions they may undo (one query)."""
    deletions = [
        e
        for e in events
        if e.action == "branch.delete"
        and e.result == AuditEvent.Result.SUCCESS
        and (user.is_staff or e.actor_id == user.pk)
    ]
    if not deletions:
        return set()
    writable = {
        uuid
        for uuid, permission in RepositoryAccess.objects.filter(
            user=user,
            repository__removed_at__isnull=True,
            repository__bitbucket_uuid__in=[(e.details or {}).get("repository_uuid") for e in deletions],
        ).values_list("repository__bitbucket_uuid", "permission")
        if RepositoryAccess.permits_writing(permission)
    }
    return {e.pk for e in deletions if (e.details or {}).get("repository_uuid") in writable and recreatable(e)}


def with_recreate_keys(user, events: list[AuditEvent]) -> list[AuditEvent]:
    """The events, each the user may undo given a fresh idempotency key for its "Recreate branch" form."""
    undo = recreatable_events(user, events)
    for event in events:
        event.recreate_key = new_key() if event.pk in undo else ""  # type: ignore[attr-defined]
    return events
