"""The home page's list of workspaces with their counts (their freshness is ``staleness``)."""

from __future__ import annotations

from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from bitbucket_sync.models import PullRequest, Repository, SyncRun, Workspace
from dashboard.selectors.shared import OPEN, Me, count_of, waiting_ids
from dashboard.selectors.visibility import visible_repository_ids, visible_workspaces


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
