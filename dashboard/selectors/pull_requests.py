"""The pull request inbox of a workspace or a repository: tabs, filters, sorts and one page of it."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from bitbucket_sync.models import Account, Participant, PullRequest, Repository, RepositoryAccess, Workspace
from dashboard.selectors.pagination import Window, window
from dashboard.selectors.shared import CLOSED_STATES, OPEN, participants_prefetch, waiting_ids
from dashboard.selectors.suggestions import people_in_scope
from dashboard.selectors.visibility import visible_repositories

PULL_REQUEST_SORTS = {
    "updated": ("-updated_on", "-pk"),
    "created": ("-created_on", "-pk"),
    "repository": ("repository__slug", "-updated_on", "-pk"),
}
TABS = ("waiting", "mine", "open", "closed", "all")


def _inbox_visibility(user, *, workspace: Workspace) -> tuple[Q, set[int]]:
    """The condition that keeps a workspace's inbox to the repositories the user sees, and their ids (one query).

    Phrased by the shorter list: most people see most of a workspace, and "not one of these few hidden
    repositories" lets the database walk the (workspace, state, updated_on) index in order and stop after a page,
    where "one of these 2,000" makes it gather every matching pull request and sort them. A repository created after
    this list was read is in neither list: the page drops its rows (`pull_request_page`).
    """
    rows = Repository.objects.filter(workspace=workspace).annotate(
        seen=Exists(RepositoryAccess.objects.filter(user=user, repository=OuterRef("pk")))
    )
    visible: set[int] = set()
    hidden: list[int] = []
    for pk, seen, removed_at in rows.values_list("pk", "seen", "removed_at"):
        if seen and removed_at is None:
            visible.add(pk)
        else:
            hidden.append(pk)
    if len(hidden) <= len(visible):
        return (~Q(repository_id__in=hidden) if hidden else Q()), visible
    return Q(repository_id__in=sorted(visible)), visible


def pull_requests_filtered(
    user, *, workspace: Workspace, filters: dict, me: Account | None, repository: Repository | None = None
) -> tuple[QuerySet[PullRequest], set[int] | None]:
    """The inbox's rows for a tab and filters (any of them may be absent), newest change first unless sorted, and
    the ids of the repositories they may come from (None for one repository's list).

    `workspace` comes from `workspace_for_user` and `repository` from `repository_for_user`: both visible already.
    """
    visible: set[int] | None = None
    if repository is not None:
        pull_requests = PullRequest.objects.filter(repository=repository)
    else:
        condition, visible = _inbox_visibility(user, workspace=workspace)
        pull_requests = PullRequest.objects.filter(condition, workspace=workspace)
    tab = filters.get("tab") or "open"
    if tab == "waiting":
        pull_requests = pull_requests.filter(state=OPEN, pk__in=waiting_ids(me)) if me else pull_requests.none()
    elif tab == "mine":
        pull_requests = pull_requests.filter(author=me) if me else pull_requests.none()
    elif tab == "open":
        pull_requests = pull_requests.filter(state=OPEN)
    elif tab == "closed":
        pull_requests = pull_requests.filter(state__in=CLOSED_STATES)
    if state := filters.get("state"):
        pull_requests = pull_requests.filter(state=state)
    # Slugs and account ids are looked up first (one small query each) so the big query filters on indexed ids:
    # a join to compare a slug makes the database walk the whole inbox in date order until a page is found.
    if repository is None and (repo_slug := filters.get("repository")):
        ids = list(visible_repositories(user, workspace=workspace).filter(slug=repo_slug).values_list("pk", flat=True))
        pull_requests = pull_requests.filter(repository_id__in=ids)
    if author := filters.get("author"):
        pull_requests = pull_requests.filter(author_id__in=_account_pks(author))
    if reviewer := filters.get("reviewer"):
        pull_requests = pull_requests.filter(
            pk__in=Participant.objects.filter(
                account_id__in=_account_pks(reviewer), role=Participant.Role.REVIEWER
            ).values("pull_request_id")
        )
    if destination := filters.get("destination"):
        pull_requests = pull_requests.filter(destination_branch=destination)
    if text := filters.get("q"):
        pull_requests = pull_requests.filter(Q(title__icontains=text) | Q(description__icontains=text))
    if (draft := filters.get("draft")) in ("yes", "no"):
        pull_requests = pull_requests.filter(draft=draft == "yes")
    sort = PULL_REQUEST_SORTS.get(filters.get("sort") or "updated", PULL_REQUEST_SORTS["updated"])
    return pull_requests.order_by(*sort), visible


def _account_pks(account_id: str) -> list[int]:
    return list(Account.objects.filter(account_id=account_id).values_list("pk", flat=True))


def pull_request_page(
    user,
    *,
    workspace: Workspace,
    filters: dict,
    me: Account | None,
    repository: Repository | None = None,
    number: Any = 1,
) -> Window:
    """One page of the inbox (four queries: the visible repositories, the rows with their authors, the rows'
    repositories, their reviewers)."""
    rows, visible = pull_requests_filtered(user, workspace=workspace, filters=filters, me=me, repository=repository)
    # Repositories are fetched by id afterwards rather than joined: with the join, SQLite's planner walks every
    # repository and sorts all their pull requests, instead of reading the inbox index in order and stopping.
    rows = rows.select_related("author", "workspace").prefetch_related(
        "repository", participants_prefetch(to_attr="reviewer_list", reviewers_only=True)
    )
    page = window(rows, number=number)
    if visible is not None:
        page.object_list = [pr for pr in page.object_list if pr.repository_id in visible]
    return page


def pull_request_filter_choices(user, *, workspace: Workspace, repository: Repository | None = None) -> dict:
    """What the inbox's filter form may name: the workspace's repositories the user sees and its members (QuerySets,
    read only to check a filter that is set; the boxes suggest from `dashboard.views.suggest`)."""
    return {
        "repositories": visible_repositories(user, workspace=workspace) if repository is None else None,
        "people": people_in_scope(user, workspace=workspace),
    }
