"""A workspace's repositories (filtered, sorted, paged), a repository's counts, branches and watchers."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, Subquery, Value, When

from bitbucket_sync.models import Branch, Project, PullRequest, Repository, RepositoryWatcher, Workspace
from dashboard.selectors.pagination import Window, window
from dashboard.selectors.shared import OPEN
from dashboard.selectors.visibility import visible_repositories

REPOSITORY_SORTS = {
    "name": ("slug",),
    "updated": (F("updated_on").desc(nulls_last=True), "slug"),
    "open_prs": ("-open_pr_count", "slug"),
}


def repository_page(user, *, workspace: Workspace, filters: dict, number: Any = 1) -> Window:
    repositories = visible_repositories(user, workspace=workspace).select_related("project")
    if text := filters.get("q"):
        repositories = repositories.filter(Q(name__icontains=text) | Q(description__icontains=text))
    if language := filters.get("language"):
        repositories = repositories.filter(language__iexact=language)
    if project := filters.get("project"):
        repositories = repositories.filter(project__key=project)
    # The stored count (kept with whose turn, after every pull request write): counting each repository's open
    # pull requests to sort 2,000 of them reads every open pull request of the workspace.
    repositories = repositories.annotate(open_pr_count=F("open_pull_request_count"))
    sort = REPOSITORY_SORTS.get(filters.get("sort") or "name", REPOSITORY_SORTS["name"])
    return window(repositories.order_by(*sort), number=number)


def repository_filter_choices(user, *, workspace: Workspace) -> dict:
    """Languages and projects of the repositories the user sees, for the filter form (two queries)."""
    visible = visible_repositories(user, workspace=workspace)
    languages = sorted(
        {lang for lang in visible.exclude(language="").values_list("language", flat=True).distinct() if lang}
    )
    projects = list(
        Project.objects.live().filter(repositories__in=visible).distinct().order_by("key").values_list("key", "name")
    )
    return {"languages": languages, "projects": projects}


def repository_summary(repository: Repository) -> dict:
    """Counts for the repository page (one query)."""
    return Repository.objects.filter(pk=repository.pk).aggregate(
        open_prs=Count("pull_requests", filter=Q(pull_requests__state=OPEN), distinct=True),
        branches=Count("branches", filter=Q(branches__removed_at__isnull=True), distinct=True),
        watchers=Count("watchers", filter=Q(watchers__removed_at__isnull=True), distinct=True),
    )


def branch_page(repository: Repository, *, number: Any = 1, text: str = "") -> Window:
    """Branches, main first, each with the newest pull request whose source it is."""
    branches = Branch.objects.live().filter(repository=repository).select_related("target_author")
    if text:
        branches = branches.filter(name__icontains=text)
    # An open pull request of the branch wins over closed ones, then the newest.
    open_first = (
        PullRequest.objects.filter(repository=OuterRef("repository"), source_branch=OuterRef("name"))
        .annotate(is_open=Case(When(state=OPEN, then=Value(1)), default=Value(0), output_field=IntegerField()))
        .order_by("-is_open", "-updated_on")
    )
    rows = branches.annotate(
        pr_number=Subquery(open_first.values("number")[:1]),
        pr_state=Subquery(open_first.values("state")[:1]),
        pr_title=Subquery(open_first.values("title")[:1]),
        is_main=Case(When(name=repository.main_branch, then=Value(1)), default=Value(0), output_field=IntegerField()),
    ).order_by("-is_main", F("target_date").desc(nulls_last=True), "name")
    return window(rows, number=number)


def watcher_page(repository: Repository, *, number: Any = 1) -> Window:
    watchers = (
        RepositoryWatcher.objects.live()
        .filter(repository=repository)
        .select_related("account")
        .order_by("account__display_name", "account__pk")
    )
    return window(watchers, number=number, per_page=100)


def branch_names(repository: Repository) -> list[str]:
    """The repository's live branch names from the mirror, the main branch first (one query)."""
    names = list(Branch.objects.live().filter(repository=repository).order_by("name").values_list("name", flat=True))
    if repository.main_branch in names:
        names.remove(repository.main_branch)
        names.insert(0, repository.main_branch)
    return names
