"""A workspace's freshness and the home page's list of workspaces with their counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from bitbucket_sync.models import PullRequest, Repository, SyncRun, Workspace
from dashboard.selectors.shared import OPEN, Me, count_of, waiting_ids
from dashboard.selectors.visibility import visible_repository_ids, visible_workspaces


@dataclass
class Freshness:
    synced_at: Any
    last_run: SyncRun | None
    paused_until: Any = None
    running: bool = False

    @property
    def paused(self) -> bool:
        return self.last_run is not None and self.last_run.status == SyncRun.Status.PAUSED


def freshness(workspace: Workspace) -> Freshness:
    """How fresh the workspace's mirror is and whether its sync is paused for Bitbucket's rate limit (one query)."""
    run = SyncRun.objects.filter(workspace=workspace).order_by("-created_at").first()
    return Freshness(
        synced_at=workspace.synced_at,
        last_run=run,
        paused_until=run.paused_until if run else None,
        running=bool(run and run.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)),
    )


def workspaces_with_counts(user, *, me: Me) -> list[Workspace]:
    """The user's workspaces with repository, open PR and waiting-on-me counts, and the latest sync run."""
    visible_ids = visible_repository_ids(user)
    open_prs = PullRequest.objects.filter(workspace=OuterRef("pk"), state=OPEN, repository__in=visible_ids)
    repositories = Repository.objects.filter(workspace=OuterRef("pk"), pk__in=visible_ids)
    # The repositories' stored open counts, added up: counting the open pull requests grows with the mirror.
    open_count = repositories.order_by().values("workspace").annotate(n=Sum("open_pull_request_count")).values("n")
    workspaces = visible_workspaces(user).annotate(
        repository_count=count_of(repositories, "workspace"),
        open_pr_count=Coalesce(Subquery(open_count, output_field=IntegerField()), Value(0)),
        waiting_count=count_of(open_prs.filter(pk__in=waiting_ids(me)), "workspace") if me else Value(0),
        last_run_status=Subquery(
            SyncRun.objects.filter(workspace=OuterRef("pk")).order_by("-created_at").values("status")[:1]
        ),
    )
    return list(workspaces.order_by("slug"))
