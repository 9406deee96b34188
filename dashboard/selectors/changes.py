"""What the "changed since" poll compares: a token for the state of what the user can see in a scope.

The pull requests the user sees always count. A page that shows more says so (`shows`, from the poller's include):
`repositories` (a workspace's repository list), `members` (a workspace's members), `repository` (one repository's
overview: its row and its watchers), `workspaces` (the home page's counts and freshness); a person's page passes the
person. Each adds one query, over rows whose `synced_at` moves only when they change (`removed_at` when they go).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import Count, Max, OuterRef, Q, Subquery

from bitbucket_sync.models import (
    Account,
    Branch,
    PullRequest,
    Repository,
    RepositoryWatcher,
    SyncRun,
    Workspace,
    WorkspaceMembership,
)
from dashboard.selectors.shared import count_of
from dashboard.selectors.visibility import visible_pull_requests, visible_repository_ids, visible_workspaces

# What a page may show besides the pull requests, and the scope each needs (see the module's docstring).
WORKSPACE_SHOWS = ("repositories", "members")
REPOSITORY_SHOWS = ("repository",)
EVERYWHERE_SHOWS = ("workspaces",)


def mirror_version(
    user, *, workspace: Workspace, repository: Repository | None = None, shows: str = ""
) -> tuple[str, datetime | None]:
    """An opaque token for the scope's current state, and the newest time a row in it was written.

    The sync and the webhooks set a pull request's `synced_at` whenever they change the row, so the newest one the
    user can see stands for the whole scope: read from the (workspace, -synced_at) index, it costs the same for a
    hundred pull requests as for a hundred thousand.
    """
    pull_requests = visible_pull_requests(user, workspace=workspace).filter(synced_at__isnull=False)
    if repository is not None:
        pull_requests = pull_requests.filter(repository=repository)
    newest = pull_requests.order_by("-synced_at").values_list("synced_at", flat=True).first()
    parts: list = [newest]
    if repository is not None:
        # A branch deleted by a push only gets removed_at; one repository's branches are few enough to aggregate.
        branches = Branch.objects.filter(repository=repository).aggregate(
            synced=Max("synced_at"), removed=Max("removed_at"), live=Count("id", filter=Q(removed_at__isnull=True))
        )
        parts += [branches["synced"], branches["removed"], branches["live"]]
        newest = _newest(newest, branches["synced"], branches["removed"])
    if shows == "repositories":
        more, *times = _repositories(user, workspace)
        parts.append(more)
        newest = _newest(newest, *times)
    elif shows == "members":
        more, *times = _members(workspace)
        parts.append(more)
        newest = _newest(newest, *times)
    elif shows == "repository" and repository is not None:
        more, *times = _repository(repository)
        parts.append(more)
        newest = _newest(newest, *times)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"v{digest}", newest


def mirror_version_everywhere(user, *, shows: str = "", person: Account | None = None) -> tuple[str, datetime | None]:
    """`mirror_version` over every workspace the user sees (the attention inbox): the newest write of each workspace,
    read from its (workspace, -synced_at) index, and the newest of those (one query). `shows="workspaces"` (the home
    page) adds each workspace's own freshness, latest sync run and repository count; `person` (a person's page) adds
    their memberships and the repositories they watch, as far as the user sees (one query more)."""
    newest_in = (
        PullRequest.objects.filter(
            workspace=OuterRef("pk"), repository__in=visible_repository_ids(user), synced_at__isnull=False
        )
        .order_by("-synced_at")
        .values("synced_at")[:1]
    )
    workspaces = visible_workspaces(user).annotate(newest=Subquery(newest_in))
    rows: list[tuple]
    if shows == "workspaces":
        rows = list(
            workspaces.annotate(
                run=Subquery(
                    SyncRun.objects.filter(workspace=OuterRef("pk")).order_by("-created_at").values("status")[:1]
                ),
                repository_count=count_of(
                    Repository.objects.live().filter(workspace=OuterRef("pk"), pk__in=visible_repository_ids(user)),
                    "workspace",
                ),
            ).values_list("pk", "newest", "synced_at", "run", "repository_count")
        )
    else:
        rows = list(workspaces.values_list("pk", "newest"))
    newest = _newest(*(t for row in rows for t in row[1:3] if isinstance(t, datetime)))
    parts: list = sorted(rows)
    if person is not None:
        more, *times = _person(user, person)
        parts.append(more)
        newest = _newest(newest, *times)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"v{digest}", newest


def _newest(*times: datetime | None) -> datetime | None:
    return max((t for t in times if t is not None), default=None)


def _repositories(user, workspace: Workspace) -> tuple:
    """A workspace's repository list: the rows the user may see (renamed, described, archived, added, gone)."""
    seen = Repository.objects.filter(workspace=workspace, user_access__user=user).aggregate(
        synced=Max("synced_at"), removed=Max("removed_at"), live=Count("id", filter=Q(removed_at__isnull=True))
    )
    return (seen["live"], seen["synced"], seen["removed"]), seen["synced"], seen["removed"]


def _members(workspace: Workspace) -> tuple:
    """A workspace's members: who belongs, with which role, under which name (the workspace is the user's)."""
    seen = WorkspaceMembership.objects.filter(workspace=workspace).aggregate(
        synced=Max("synced_at"),
        removed=Max("removed_at"),
        live=Count("id", filter=Q(removed_at__isnull=True)),
        named=Max("account__synced_at"),
    )
    parts = (workspace.members_state, seen["live"], seen["synced"], seen["removed"], seen["named"])
    return parts, seen["synced"], seen["removed"], seen["named"]


def _repository(repository: Repository) -> tuple:
    """A repository's overview: its own row (loaded already) and who watches it."""
    seen = RepositoryWatcher.objects.filter(repository=repository).aggregate(
        synced=Max("synced_at"), removed=Max("removed_at"), live=Count("id", filter=Q(removed_at__isnull=True))
    )
    parts = (repository.synced_at, seen["live"], seen["synced"], seen["removed"])
    return parts, repository.synced_at, seen["synced"], seen["removed"]


def _person(user, person: Account) -> tuple:
    """A person's page: their name, the workspaces the user sees them in and the repositories the user sees them
    watch (one query: two aggregates as subqueries of the person's row)."""
    memberships = WorkspaceMembership.objects.filter(account=OuterRef("pk"), workspace__in=visible_workspaces(user))
    watching = RepositoryWatcher.objects.filter(account=OuterRef("pk"), repository__in=visible_repository_ids(user))
    row = (
        Account.objects.filter(pk=person.pk)
        .annotate(
            member_synced=_max_of(memberships, "synced_at"),
            member_removed=_max_of(memberships, "removed_at"),
            member_live=count_of(memberships.filter(removed_at__isnull=True), "account"),
            watch_synced=_max_of(watching, "synced_at"),
            watch_removed=_max_of(watching, "removed_at"),
            watch_live=count_of(watching.filter(removed_at__isnull=True), "account"),
        )
        .values_list(
            "synced_at",
            "member_synced",
            "member_removed",
            "member_live",
            "watch_synced",
            "watch_removed",
            "watch_live",
        )
        .first()
    ) or ()
    return row, *(t for t in row if isinstance(t, datetime))


def _max_of(queryset, field: str) -> Subquery:
    """The newest `field` of `queryset` (correlated to the outer row by the caller)."""
    return Subquery(queryset.exclude(**{f"{field}__isnull": True}).order_by(f"-{field}").values(field)[:1])
