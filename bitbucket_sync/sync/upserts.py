"""Records -> rows: idempotent upserts keyed on Bitbucket identity, one at a time or a page at a time.

The single-object functions (``upsert_pull_request``...) are what actions and webhooks call after a write or a
delivery; the ``*_page`` functions are what the sync calls with a page of a listing, so one page costs a handful of
queries however many objects it holds. Every function returns or counts what it created and updated, so a sync run
can say what it did. A row is only written when something about it changed: a second sync of an unchanged
workspace writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from bitbucket_sync import conflicts, sites, turns
from bitbucket_sync.client import records
from bitbucket_sync.models import (
    Account,
    Branch,
    BranchRestriction,
    Participant,
    Project,
    PullRequest,
    Repository,
    RepositoryWatcher,
    Workspace,
    WorkspaceMembership,
)


@dataclass
class Counts:
    """What an upsert did to one kind of row."""

    created: int = 0
    updated: int = 0
    removed: int = 0

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.removed += other.removed

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "removed": self.removed}

    def __bool__(self) -> bool:
        return bool(self.created or self.updated or self.removed)


@dataclass
class Stats:
    """Counts per kind of row (``pull_requests``, ``branches``...), as a sync run stores them."""

    kinds: dict[str, Counts] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Counts:
        return self.kinds.setdefault(kind, Counts())

    def add(self, other: Stats) -> None:
        for kind, counts in other.kinds.items():
            self[kind].add(counts)

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {kind: counts.as_dict() for kind, counts in sorted(self.kinds.items()) if counts}


def _account_kind(record_type: str) -> str:
    return record_type if record_type in Account.Kind.values else Account.Kind.USER


def _account_values(record: records.Account) -> dict:
    return {
        "account_id": record.account_id or "",
        "kind": _account_kind(record.type),
        "display_name": record.display_name[:255],
        "nickname": (record.nickname or "")[:255],
        "avatar_url": (record.avatar_url or "")[:500],
    }


def _changed(row, values: dict) -> bool:
    return any(getattr(row, name) != value for name, value in values.items())


def _apply(row, values: dict) -> None:
    for name, value in values.items():
        setattr(row, name, value)


# -- accounts ---------------------------------------------------------------------------------------------------


def upsert_account(record: records.Account) -> Account:
    """The account row for a Bitbucket account (user, app user or team), created or refreshed."""
    return upsert_accounts([record])[record.uuid]


def upsert_accounts(account_records: Iterable[records.Account], *, counts: Counts | None = None) -> dict[str, Account]:
    """Account rows for many records at once, by uuid. Embedded accounts are all alike, so the last one wins."""
    by_uuid = {r.uuid: r for r in account_records}
    if not by_uuid:
        return {}
    now = timezone.now()
    existing = {a.bitbucket_uuid: a for a in Account.objects.filter(bitbucket_uuid__in=by_uuid)}
    to_create, to_update = [], []
    for uuid, record in by_uuid.items():
        values = _account_values(record)
        row = existing.get(uuid)
        if row is None:
            to_create.append(Account(bitbucket_uuid=uuid, synced_at=now, **values))
        elif _changed(row, values):
            _apply(row, values)
            row.synced_at = now
            to_update.append(row)
    if to_create:
        # A concurrent task may create the same account between our read and this write: ignore_conflicts keeps
        # both tasks going, and the rows are read back below.
        Account.objects.bulk_create(to_create, ignore_conflicts=True)
        existing.update({a.bitbucket_uuid: a for a in Account.objects.filter(bitbucket_uuid__in=by_uuid)})
    if to_update:
        Account.objects.bulk_update(to_update, [*_account_values(next(iter(by_uuid.values()))), "synced_at"])
    if counts is not None:
        counts.created += len(to_create)
        counts.updated += len(to_update)
    return existing


# -- workspaces, projects, repositories ---------------------------------------------------------------------------


def upsert_workspace(record: records.Workspace, *, api_url: str) -> tuple[Workspace, bool]:
    """The workspace row for a record (``/user/workspaces`` or ``/workspaces/{slug}``) read through the site
    ``api_url``; True when it was created.

    A slug belongs to one workspace at a time: a live row that still holds this slug under another uuid (the old
    workspace was deleted or renamed on Bitbucket) gives it up and is marked removed until seen again. Neither that
    row nor the workspace's own may belong to another site (``sites.SiteMismatch``, nothing written); a row of no
    site yet is claimed by this one.
    """
    site = sites.normalise_api_url(api_url)
    handle = sites.workspace_handle(record.slug, site)
    values: dict[str, Any] = {"slug": handle, "key": record.slug, "removed_at": None}
    if record.name is not None:
        values["name"] = record.name[:255]
    if record.is_private is not None:
        values["is_private"] = record.is_private
    if record.html_url:
        values["html_url"] = record.html_url[:500]
    if record.avatar_url:
        values["avatar_url"] = record.avatar_url[:500]
    with transaction.atomic():
        row = Workspace.objects.select_for_update().filter(bitbucket_uuid=record.uuid).first()
        if row is not None:
            sites.require_same_site(row_site=row.api_url, api_url=site, what=f"Workspace {row.slug}")
            if not row.api_url:
                values["api_url"] = site
        holders = Workspace.objects.filter(slug=handle).exclude(bitbucket_uuid=record.uuid)
        for holder_site in holders.values_list("api_url", flat=True):
            sites.require_same_site(row_site=holder_site, api_url=site, what=f"The workspace named {handle!r}")
        holders.update(slug=_freed_slug(handle), removed_at=timezone.now())
        if row is None:
            return Workspace.objects.create(
                bitbucket_uuid=record.uuid, api_url=site, **{"name": record.slug, **values}
            ), True
        if _changed(row, values):
            _apply(row, values)
            row.save(update_fields=list(values))
    return row, False


def _freed_slug(slug: str) -> str:
    # Workspace slugs are unique even among removed rows; a removed row keeps a marked copy of its old slug.
    return f"{slug[:200]}~removed-{timezone.now():%Y%m%d%H%M%S%f}"


def _require_same_site(row_workspace_id: int, workspace: Workspace, what: str) -> None:
    """A row of another workspace is moved (or renamed) into ``workspace`` only when both belong to one site."""
    if row_workspace_id != workspace.pk:
        other = Workspace.objects.values_list("api_url", flat=True).get(pk=row_workspace_id)
        sites.require_same_site(row_site=other, api_url=workspace.api_url, what=what)


def upsert_projects(*, workspace: Workspace, project_records: Iterable[records.Project], counts: Counts | None = None):
    """Project rows for a workspace's projects, by uuid."""
    by_uuid = {p.uuid: p for p in project_records}
    existing = {p.bitbucket_uuid: p for p in Project.objects.filter(bitbucket_uuid__in=by_uuid)}
    for project in existing.values():
        _require_same_site(project.workspace_id, workspace, f"Project {project.key}")
    now = timezone.now()
    for uuid, record in by_uuid.items():
        values = {
            "workspace_id": workspace.pk,
            "key": record.key[:64],
            "name": record.name[:255],
            "description": record.description,
            "is_private": bool(record.is_private),
            "removed_at": None,
        }
        row = existing.get(uuid)
        if row is None:
            existing[uuid] = Project.objects.create(bitbucket_uuid=uuid, synced_at=now, **values)
            if counts is not None:
                counts.created += 1
        elif _changed(row, values):
            _apply(row, values)
            row.synced_at = now
            row.save()
            if counts is not None:
                counts.updated += 1
    return existing


def _project_for(workspace: Workspace, record: records.Repository) -> Project | None:
    """The repository's project row; the listing embeds only the project's uuid and key, so a new one is made from
    those (its name is filled in by a project listing, or stays the key)."""
    if not record.project_uuid:
        return None
    project = Project.objects.filter(bitbucket_uuid=record.project_uuid).first()
    if project is not None:
        _require_same_site(project.workspace_id, workspace, f"Project {project.key}")
    if project is None:
        project, _ = Project.objects.get_or_create(
            bitbucket_uuid=record.project_uuid,
            defaults={
                "workspace": workspace,
                "key": (record.project_key or "")[:64],
                "name": (record.project_key or "")[:255],
                "synced_at": timezone.now(),
            },
        )
    elif record.project_key and project.key != record.project_key:
        project.key = record.project_key[:64]
        project.save(update_fields=["key"])
    return project


def _repository_values(workspace: Workspace, record: records.Repository, project: Project | None) -> dict:
    values = {
        "workspace_id": workspace.pk,
        "project_id": project.pk if project else None,
        "slug": record.slug[:255],
        "name": record.name[:255],
        "full_name": record.full_name[:511],
        "description": record.description,
        "is_private": record.is_private,
        "language": (record.language or "")[:64],
        "main_branch": (record.mainbranch or "")[:255],
        "html_url": (record.html_url or "")[:500],
        "archived": record.archived,
        "created_on": record.created_on,
        "updated_on": record.updated_on,
        "removed_at": None,
    }
    if record.mainbranch is None and workspace.api_url and sites.site_kind(workspace.api_url) == "datacenter":
        # Data Center's repository listing does not name the default branch (its branch listing does: the engine's
        # sync_branches keeps it), so an answer without one leaves the mirror's as it is.
        del values["main_branch"]
    return values


def upsert_repository(*, workspace: Workspace, record: records.Repository) -> Repository:
    """The repository row for a record, keyed by uuid: a renamed repository keeps its row, pull requests and marks."""
    repository, _ = upsert_repository_counted(workspace=workspace, record=record)
    return repository


def upsert_repository_counted(*, workspace: Workspace, record: records.Repository) -> tuple[Repository, str | None]:
    """``upsert_repository`` that also says what happened: ``"created"``, ``"updated"`` or None (unchanged)."""
    project = _project_for(workspace, record)
    values = _repository_values(workspace, record, project)
    with transaction.atomic():
        # The slug is unique among live repositories. Another live row still holding it (deleted on Bitbucket and a
        # new one made under the same name, or two repositories that swapped names) is marked removed here; if it
        # still exists under another name the same listing brings it back.
        Repository.objects.live().filter(workspace=workspace, slug=values["slug"]).exclude(
            bitbucket_uuid=record.uuid
        ).update(removed_at=timezone.now())
        row = Repository.objects.select_for_update().filter(bitbucket_uuid=record.uuid).first()
        if row is not None:
            _require_same_site(row.workspace_id, workspace, f"Repository {row.full_name}")
        now = timezone.now()
        if row is None:
            row = Repository.objects.create(bitbucket_uuid=record.uuid, synced_at=now, **values)
            return row, "created"
        if not _changed(row, values):
            return row, None
        if row.full_name != values["full_name"]:
            # A rename does not touch the pull requests' updated_on, so the incremental listing will not bring them
            # back: their embedded source repository name is brought along here.
            PullRequest.objects.filter(repository=row, source_repository_full_name=row.full_name).update(
                source_repository_full_name=values["full_name"]
            )
        _apply(row, values)
        row.synced_at = now
        row.save(update_fields=[*values, "synced_at"])
        return row, "updated"


def mark_repositories_removed(*, workspace: Workspace, seen_uuids: set[str]) -> int:
    """After a complete repository listing: every live repository of the workspace it did not name is removed."""
    return (
        Repository.objects.live()
        .filter(workspace=workspace)
        .exclude(bitbucket_uuid__in=seen_uuids)
        .update(removed_at=timezone.now())
    )


# -- branches ------------------------------------------------------------------------------------------------------


def _branch_values(record: records.Branch, author: Account | None) -> dict:
    target = record.target
    return {
        "target_hash": target.hash[:40],
        "target_date": target.date,
        "target_message": target.message,
        "target_author_raw": (target.author.raw if target.author else "")[:500],
        "target_author_id": author.pk if author else None,
        "removed_at": None,
    }


def upsert_branch(*, repository: Repository, record: records.Branch) -> Branch:
    """The branch row for a record (a branch that was removed and made again is live again)."""
    rows, _ = upsert_branches_page(repository=repository, branch_records=[record])
    return rows[record.name]


def upsert_branches_page(
    *, repository: Repository, branch_records: Sequence[records.Branch]
) -> tuple[dict[str, Branch], Counts]:
    """Branch rows for a page of a branch listing, by name."""
    counts = Counts()
    authors = upsert_accounts(
        (r.target.author.user for r in branch_records if r.target.author and r.target.author.user),
    )
    names = [r.name for r in branch_records]
    existing = {b.name: b for b in Branch.objects.filter(repository=repository, name__in=names)}
    now = timezone.now()
    to_create, to_update = [], []
    for record in branch_records:
        user = record.target.author.user if record.target.author else None
        values = _branch_values(record, authors.get(user.uuid) if user else None)
        row = existing.get(record.name)
        if row is None:
            row = Branch(repository=repository, name=record.name[:255], synced_at=now, **values)
            existing[record.name] = row
            to_create.append(row)
        elif _changed(row, values):
            _apply(row, values)
            row.synced_at = now
            to_update.append(row)
    if to_create:
        Branch.objects.bulk_create(to_create, ignore_conflicts=True)
        existing.update({b.name: b for b in Branch.objects.filter(repository=repository, name__in=names)})
    if to_update:
        Branch.objects.bulk_update(to_update, [*_branch_values(branch_records[0], None), "synced_at"])
    counts.created, counts.updated = len(to_create), len(to_update)
    # Open pull requests into a branch that moved have a new destination tip: their conflicts are unknown again.
    conflicts.destination_moved(repository=repository, tips={b.name: b.target_hash for b in to_update})
    return existing, counts


def mark_branch_removed(*, repository: Repository, name: str) -> None:
    """A branch deleted on Bitbucket (by an action or a push): its row stays, marked removed."""
    Branch.objects.live().filter(repository=repository, name=name).update(removed_at=timezone.now())


def mark_branches_removed(*, repository: Repository, seen_names: set[str]) -> int:
    """After a complete branch listing: every live branch it did not name is removed."""
    return (
        Branch.objects.live()
        .filter(repository=repository)
        .exclude(name__in=seen_names)
        .update(removed_at=timezone.now())
    )


# -- pull requests -------------------------------------------------------------------------------------------------


def _pull_request_values(repository: Repository, record: records.PullRequest, accounts: dict[str, Account]) -> dict:
    def account_id(account: records.Account | None) -> int | None:
        return accounts[account.uuid].pk if account is not None else None

    return {
        "workspace_id": repository.workspace_id,
        "title": record.title[:1000],
        "description": record.description,
        "state": record.state,
        "draft": record.draft,
        "author_id": account_id(record.author),
        "source_branch": record.source.branch[:255],
        "source_commit": (record.source.commit or "")[:40],
        "source_repository_full_name": (record.source.repository.full_name if record.source.repository else "")[:511],
        "destination_branch": record.destination.branch[:255],
        "destination_commit": (record.destination.commit or "")[:40],
        "close_source_branch": record.close_source_branch,
        "merge_commit": (record.merge_commit or "")[:40],
        "closed_by_id": account_id(record.closed_by),
        "reason": record.reason,
        "comment_count": max(record.comment_count, 0),
        "task_count": max(record.task_count, 0),
        "html_url": (record.html_url or "")[:500],
        "created_on": record.created_on,
        "updated_on": record.updated_on,
    }


def _people(record: records.PullRequest) -> list[records.Account]:
    people = [a for a in (record.author, record.closed_by) if a is not None]
    people += record.reviewers or ()
    people += [p.user for p in record.participants or ()]
    return people


def _participant_values(record: records.PullRequest, accounts: dict[str, Account]) -> dict[int, dict[str, Any]] | None:
    """Participant rows a record describes, by account pk; None when the record did not carry people at all.

    Bitbucket lists reviewers (who were asked) apart from participants (who took part, with their role and review
    state); someone asked who has not acted yet is only in ``reviewers``.
    """
    if record.reviewers is None and record.participants is None:
        return None
    rows: dict[int, dict[str, Any]] = {}
    for reviewer in record.reviewers or ():
        rows[accounts[reviewer.uuid].pk] = {
            "role": Participant.Role.REVIEWER,
            "approved": False,
            "state": "",
            "participated_on": None,
        }
    for p in record.participants or ():
        pk = accounts[p.user.uuid].pk
        role = Participant.Role.REVIEWER if pk in rows or p.role == "REVIEWER" else Participant.Role.PARTICIPANT
        state = p.state if p.state in Participant.ReviewState.values else ""
        if p.approved and not state:
            state = Participant.ReviewState.APPROVED
        rows[pk] = {"role": role, "approved": p.approved, "state": state, "participated_on": p.participated_on}
    return rows


def upsert_pull_request(*, repository: Repository, record: records.PullRequest) -> PullRequest:
    """The pull request row for a record (``number`` is Bitbucket's id); its participants are replaced with the
    record's when it carries reviewers or participants."""
    rows, _ = upsert_pull_requests_page(repository=repository, pr_records=[record])
    return rows[record.id]


def upsert_pull_requests_page(
    *, repository: Repository, pr_records: Sequence[records.PullRequest], stats: Stats | None = None
) -> tuple[dict[int, PullRequest], Counts]:
    """Pull request rows (and their participants and people) for a page of a listing, by number."""
    stats = stats if stats is not None else Stats()
    counts = stats["pull_requests"]
    before = Counts(counts.created, counts.updated)
    # A listing can name the same PR twice when it moved between pages while being read; the newest one wins.
    latest: dict[int, records.PullRequest] = {}
    for record in pr_records:
        if record.id not in latest or record.updated_on >= latest[record.id].updated_on:
            latest[record.id] = record
    accounts = upsert_accounts((a for r in latest.values() for a in _people(r)), counts=stats["accounts"])
    now = timezone.now()
    with transaction.atomic():
        existing = {pr.number: pr for pr in PullRequest.objects.filter(repository=repository, number__in=list(latest))}
        to_create, to_update = [], []
        fields: list[str] = []
        for number, record in latest.items():
            values = _pull_request_values(repository, record, accounts)
            row = existing.get(number)
            # A conflict read holds for one pair of tips: when either moved, the answer is unknown again.
            values.update(
                conflicts.values_for_upsert(
                    row, source_commit=values["source_commit"], destination_commit=values["destination_commit"]
                )
            )
            fields = list(values)
            if row is None:
                row = PullRequest(repository=repository, number=number, synced_at=now, **values)
                existing[number] = row
                to_create.append(row)
            elif _changed(row, values):
                _apply(row, values)
                row.synced_at = now
                to_update.append(row)
        if to_create:
            PullRequest.objects.bulk_create(to_create, ignore_conflicts=True)
            existing.update(
                {pr.number: pr for pr in PullRequest.objects.filter(repository=repository, number__in=list(latest))}
            )
        if to_update:
            PullRequest.objects.bulk_update(to_update, [*fields, "synced_at"])
        counts.created += len(to_create)
        counts.updated += len(to_update)
        moved = _replace_participants(existing, latest, accounts, stats["participants"])
        # Whose turn follows the rows that changed (an unchanged page writes nothing).
        moved.update(existing[pr.number].pk for pr in [*to_create, *to_update])
        turns.refresh_turns(moved)
    return existing, Counts(counts.created - before.created, counts.updated - before.updated)


def _replace_participants(
    rows: dict[int, PullRequest],
    latest: dict[int, records.PullRequest],
    accounts: dict[str, Account],
    counts: Counts,
) -> set[int]:
    """Make the participant rows what the records say; returns the pks of the pull requests whose rows changed."""
    wanted: dict[int, dict[int, dict[str, Any]]] = {}
    for number, record in latest.items():
        people = _participant_values(record, accounts)
        if people is not None:
            wanted[rows[number].pk] = people
    if not wanted:
        return set()
    current: dict[tuple[int, int], Participant] = {
        (p.pull_request_id, p.account_id): p for p in Participant.objects.filter(pull_request_id__in=list(wanted))
    }
    to_create, to_update, to_delete = [], [], []
    for pr_pk, people in wanted.items():
        for account_pk, values in people.items():
            row = current.get((pr_pk, account_pk))
            if row is None:
                to_create.append(Participant(pull_request_id=pr_pk, account_id=account_pk, **values))
            elif _changed(row, values):
                _apply(row, values)
                to_update.append(row)
    for (pr_pk, account_pk), row in current.items():
        if account_pk not in wanted[pr_pk]:
            to_delete.append(row.pk)
    if to_delete:
        Participant.objects.filter(pk__in=to_delete).delete()
    if to_create:
        Participant.objects.bulk_create(to_create, ignore_conflicts=True)
    if to_update:
        Participant.objects.bulk_update(to_update, ["role", "approved", "state", "participated_on"])
    counts.created += len(to_create)
    counts.updated += len(to_update)
    counts.removed += len(to_delete)
    moved = {row.pull_request_id for row in [*to_create, *to_update]}
    deleted = set(to_delete)
    moved.update(pr_pk for (pr_pk, _), row in current.items() if row.pk in deleted)
    return moved


# -- people of a workspace or repository ---------------------------------------------------------------------------


def upsert_memberships_page(
    *, workspace: Workspace, member_records: Sequence[records.WorkspaceMember], stats: Stats
) -> set[int]:
    """Membership rows for a page of a member listing; returns the account pks it named."""
    accounts = upsert_accounts((m.user for m in member_records), counts=stats["accounts"])
    by_pk = {accounts[m.user.uuid].pk: m for m in member_records}
    existing = {m.account_id: m for m in WorkspaceMembership.objects.filter(workspace=workspace, account_id__in=by_pk)}
    now = timezone.now()
    counts = stats["members"]
    for pk, member in by_pk.items():
        values: dict[str, Any] = {"removed_at": None}
        if member.permission:
            values["permission"] = member.permission[:32]
        row = existing.get(pk)
        if row is None:
            WorkspaceMembership.objects.get_or_create(
                workspace=workspace, account_id=pk, defaults={"synced_at": now, **values}
            )
            counts.created += 1
        elif _changed(row, values):
            _apply(row, values)
            row.synced_at = now
            row.save()
            counts.updated += 1
    return set(by_pk)


def mark_memberships_removed(*, workspace: Workspace, seen_account_pks: set[int]) -> int:
    """After a complete member listing: every live membership it did not name is removed."""
    return (
        WorkspaceMembership.objects.live()
        .filter(workspace=workspace)
        .exclude(account_id__in=seen_account_pks)
        .update(removed_at=timezone.now())
    )


def upsert_watchers_page(
    *, repository: Repository, watcher_records: Sequence[records.Account], stats: Stats
) -> set[int]:
    """Watcher rows for a page of a watcher listing; returns the account pks it named."""
    accounts = upsert_accounts(watcher_records, counts=stats["accounts"])
    pks = {accounts[r.uuid].pk for r in watcher_records}
    existing = {w.account_id: w for w in RepositoryWatcher.objects.filter(repository=repository, account_id__in=pks)}
    now = timezone.now()
    counts = stats["watchers"]
    for pk in pks:
        row = existing.get(pk)
        if row is None:
            RepositoryWatcher.objects.get_or_create(repository=repository, account_id=pk, defaults={"synced_at": now})
            counts.created += 1
        elif row.removed_at is not None:
            row.removed_at = None
            row.synced_at = now
            row.save(update_fields=["removed_at", "synced_at"])
            counts.updated += 1
    return pks


def mark_watchers_removed(*, repository: Repository, seen_account_pks: set[int]) -> int:
    """After a complete watcher listing: every live watcher it did not name is removed."""
    return (
        RepositoryWatcher.objects.live()
        .filter(repository=repository)
        .exclude(account_id__in=seen_account_pks)
        .update(removed_at=timezone.now())
    )


def newest(values: Iterable[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


# -- branch restrictions -------------------------------------------------------------------------------------------


def _restriction_values(record: records.BranchRestriction) -> dict:
    return {
        "kind": record.kind[:64],
        "branch_match_kind": record.branch_match_kind[:32],
        "pattern": record.pattern[:255],
        "branch_type": record.branch_type[:32],
        "value": record.value,
        "users": list(record.users),
        "groups": list(record.groups),
    }


def replace_branch_restrictions(
    *, repository: Repository, restriction_records: Sequence[records.BranchRestriction], counts: Counts
) -> bool:
    """After a complete listing: the repository's rules become exactly the listed ones, and its rules are "read".
    Returns True when anything changed (the rules, or whether they were known)."""
    now = timezone.now()
    before = Counts(counts.created, counts.updated, counts.removed)
    with transaction.atomic():
        existing = {r.bitbucket_id: r for r in BranchRestriction.objects.filter(repository=repository)}
        for record in restriction_records:
            values = _restriction_values(record)
            row = existing.pop(record.id, None)
            if row is None:
                BranchRestriction.objects.create(repository=repository, bitbucket_id=record.id, synced_at=now, **values)
                counts.created += 1
            elif _changed(row, values):
                _apply(row, values)
                row.synced_at = now
                row.save()
                counts.updated += 1
        if existing:
            counts.removed += BranchRestriction.objects.filter(pk__in=[r.pk for r in existing.values()]).delete()[0]
        known = repository.restrictions_state == "read"
        Repository.objects.filter(pk=repository.pk).update(restrictions_state="read", restrictions_synced_at=now)
    repository.restrictions_state, repository.restrictions_synced_at = "read", now
    return not known or bool(
        Counts(counts.created - before.created, counts.updated - before.updated, counts.removed - before.removed)
    )


def forbid_branch_restrictions(*, repository: Repository, counts: Counts) -> bool:
    """The credential may not read the rules (not a repository admin): they are unknown, and rows an earlier
    credential read are dropped rather than shown as current. Returns True when that changed anything."""
    now = timezone.now()
    with transaction.atomic():
        removed = BranchRestriction.objects.filter(repository=repository).delete()[0]
        counts.removed += removed
        was = repository.restrictions_state
        Repository.objects.filter(pk=repository.pk).update(restrictions_state="forbidden", restrictions_synced_at=now)
    repository.restrictions_state, repository.restrictions_synced_at = "forbidden", now
    return bool(removed) or was != "forbidden"
