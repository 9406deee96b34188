"""What the "changed since" poll compares: a token for the state of what the user can see in a scope."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db.models import Count, Max, OuterRef, Q, Subquery

from bitbucket_sync.models import Branch, PullRequest, Repository, Workspace
from dashboard.selectors.visibility import visible_pull_requests, visible_repository_ids, visible_workspaces


def mirror_version(user, *, workspace: Workspace, repository: Repository | None = None) -> tuple[str, datetime | None]:
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
        newest = max((t for t in (newest, branches["synced"], branches["removed"]) if t is not None), default=None)
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
    return f"v{digest}", newest


def mirror_version_everywhere(user) -> tuple[str, datetime | None]:
    """`mirror_version` over every workspace the user sees (the attention inbox): the newest write of each workspace,
    read from its (workspace, -synced_at) index, and the newest of those (one query)."""
    newest_in = (
        PullRequest.objects.filter(
            workspace=OuterRef("pk"), repository__in=visible_repository_ids(user), synced_at__isnull=False
        )
        .order_by("-synced_at")
        .values("synced_at")[:1]
    )
    rows = list(visible_workspaces(user).annotate(newest=Subquery(newest_in)).values_list("pk", "newest"))
    newest = max((t for _, t in rows if t is not None), default=None)
    digest = hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]
    return f"v{digest}", newest
