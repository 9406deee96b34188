"""Every read a page needs, and who may see what.

A dashboard user sees a workspace, repository or pull request only through the access rows their own Bitbucket
credential produced (`WorkspaceAccess`, `RepositoryAccess`). The `*_for_user` helpers raise Http404 for anything
else, so a page and each of its fragments answer the same; list selectors join through the same rows. Staff get no
more than their own credential allows.

List selectors run a fixed number of queries whatever the number of rows: related rows are joined or prefetched,
counts are correlated subqueries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from bitbucket_sync import browse, webhooks
from bitbucket_sync.browse import LiveReader, LiveReadError  # noqa: F401  (the views catch selectors.LiveReadError)
from bitbucket_sync.client import (
    UnsafePath,
    path_problem,
)
from bitbucket_sync.ledger import HOURLY_BUDGET, requests_in_window
from bitbucket_sync.models import (
    Account,
    Branch,
    Credential,
    Participant,
    Project,
    PullRequest,
    Repository,
    RepositoryAccess,
    RepositoryWatcher,
    RequestLedgerEntry,
    SyncRun,
    WebhookDelivery,
    WebhookSubscription,
    Workspace,
    WorkspaceMembership,
)
from bitbucket_sync.sync.pacing import ManualSync, manual_sync
from bitbucket_sync.webhooks import LiveStatus
from dashboard import rendering

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations  # a dev dependency: only the type checker imports it

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
# Deep OFFSETs are slow on a large inbox and nobody reads page 4,000; filters are the way there.
MAX_PAGE = 2000

OPEN = PullRequest.State.OPEN
CLOSED_STATES = (PullRequest.State.MERGED, PullRequest.State.DECLINED)
ACTIVE_RUN_STATES = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING, SyncRun.Status.PAUSED)


# --- pagination ---------------------------------------------------------------------------------------------------


@dataclass
class Window:
    """One page of rows without a COUNT: one row more than the page is read to know whether a next page exists.

    COUNT(*) over a 100,000-row inbox with its joins costs more than the page itself, and a list ordered by "updated"
    needs only "next" and "previous".
    """

    object_list: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __bool__(self) -> bool:
        return bool(self.object_list)


def page_number(raw: Any) -> int:
    """A page number from the query string; anything unreadable is page 1."""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def window(queryset: QuerySet, *, number: Any = 1, per_page: int = PAGE_SIZE) -> Window:
    number = page_number(number)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Window(object_list=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)


def _count(queryset: QuerySet, group: str) -> Coalesce:
    """A correlated COUNT of `queryset` grouped by `group` (which the caller ties to OuterRef), 0 when none."""
    counted = queryset.order_by().values(group).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# --- who is who ---------------------------------------------------------------------------------------------------


def active_credential(user) -> Credential | None:
    return Credential.objects.filter(owner=user, is_active=True).select_related("account").first()


def account_for_user(user) -> Account | None:
    """The Bitbucket account the user's active credential resolved to when it was checked (None: not linked yet)."""
    credential = active_credential(user)
    return credential.account if credential else None


# --- visibility ---------------------------------------------------------------------------------------------------


def visible_workspaces(user) -> QuerySet[Workspace]:
    return Workspace.objects.live().visible_to(user)


def visible_repositories(user, *, workspace: Workspace | None = None) -> QuerySet[Repository]:
    repositories = Repository.objects.live().visible_to(user)
    if workspace is not None:
        repositories = repositories.filter(workspace=workspace)
    return repositories


def _visible_repository_ids(user, *, workspace: Workspace | None = None) -> QuerySet:
    return visible_repositories(user, workspace=workspace).values("pk")


def visible_pull_requests(user, *, workspace: Workspace | None = None) -> QuerySet[PullRequest]:
    if workspace is None:
        return PullRequest.objects.visible_to(user)
    # The subquery names the workspace too, so the database reads only its repositories' access rows.
    return PullRequest.objects.filter(
        repository__in=_visible_repository_ids(user, workspace=workspace), workspace=workspace
    )


def workspace_for_user(user, *, slug: str) -> Workspace:
    workspace = visible_workspaces(user).filter(slug=slug).first()
    if workspace is None:
        raise Http404("No such workspace, or your Bitbucket credential cannot see it.")
    return workspace


class _UserPermission(TypedDict):
    permission: str  # the user's read/write/admin, from their RepositoryAccess row


def repository_for_user(user, *, workspace: Workspace, slug: str) -> WithAnnotations[Repository, _UserPermission]:
    repository = (
        visible_repositories(user, workspace=workspace)
        .filter(slug=slug)
        .select_related("workspace", "project")
        .annotate(permission=F("user_access__permission"))
        .first()
    )
    if repository is None:
        raise Http404("No such repository, or your Bitbucket credential cannot see it.")
    return repository


def pull_request_for_user(user, *, repository: Repository, number: int) -> PullRequest:
    """`repository` must come from `repository_for_user`."""
    pull_request = (
        PullRequest.objects.filter(repository=repository, number=number)
        .select_related("author", "closed_by", "repository", "workspace")
        .prefetch_related(_participants_prefetch(to_attr="people"))
        .first()
    )
    if pull_request is None:
        raise Http404("No such pull request in the mirror, or your Bitbucket credential cannot see it.")
    # `people` is the prefetch's to_attr; the page reads the two lists below as attributes of the pull request.
    page_pr = cast(Any, pull_request)
    page_pr.reviewers = [p for p in page_pr.people if p.role == Participant.Role.REVIEWER]
    page_pr.other_participants = [p for p in page_pr.people if p.role != Participant.Role.REVIEWER]
    return pull_request


def person_for_user(user, *, account_id: str) -> Account:
    """A person the user may look at: a member of a workspace the user sees."""
    person = (
        Account.objects.filter(account_id=account_id)
        .filter(
            Exists(
                WorkspaceMembership.objects.live().filter(
                    account=OuterRef("pk"), workspace__in=visible_workspaces(user)
                )
            )
        )
        .first()
    )
    if person is None or not account_id:
        raise Http404("No such person in the workspaces you can see.")
    return person


# --- freshness ----------------------------------------------------------------------------------------------------


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


# --- home ---------------------------------------------------------------------------------------------------------


def workspaces_with_counts(user, *, me: Account | None) -> list[Workspace]:
    """The user's workspaces with repository, open PR and waiting-on-me counts, and the latest sync run."""
    visible_ids = _visible_repository_ids(user)
    open_prs = PullRequest.objects.filter(workspace=OuterRef("pk"), state=OPEN, repository__in=visible_ids)
    workspaces = visible_workspaces(user).annotate(
        repository_count=_count(Repository.objects.filter(workspace=OuterRef("pk"), pk__in=visible_ids), "workspace"),
        open_pr_count=_count(open_prs, "workspace"),
        waiting_count=_count(open_prs.filter(pk__in=_waiting_ids(me)), "workspace") if me else Value(0),
        last_run_status=Subquery(
            SyncRun.objects.filter(workspace=OuterRef("pk")).order_by("-created_at").values("status")[:1]
        ),
    )
    return list(workspaces.order_by("slug"))


def _waiting_ids(me: Account) -> QuerySet:
    return Participant.objects.filter(account=me, role=Participant.Role.REVIEWER, approved=False).values(
        "pull_request_id"
    )


# --- repositories -------------------------------------------------------------------------------------------------

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
    repositories = repositories.annotate(
        open_pr_count=_count(PullRequest.objects.filter(repository=OuterRef("pk"), state=OPEN), "repository")
    )
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


# --- pull requests ------------------------------------------------------------------------------------------------

PULL_REQUEST_SORTS = {
    "updated": ("-updated_on", "-pk"),
    "created": ("-created_on", "-pk"),
    "repository": ("repository__slug", "-updated_on", "-pk"),
}
TABS = ("waiting", "mine", "open", "closed", "all")


def _participants_prefetch(*, to_attr: str, reviewers_only: bool = False) -> Prefetch:
    participants = Participant.objects.select_related("account").order_by("role", "account__display_name", "pk")
    if reviewers_only:
        participants = participants.filter(role=Participant.Role.REVIEWER)
    return Prefetch("participants", queryset=participants, to_attr=to_attr)


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
        pull_requests = pull_requests.filter(state=OPEN, pk__in=_waiting_ids(me)) if me else pull_requests.none()
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
    rows = rows.select_related("author").prefetch_related(
        "repository", _participants_prefetch(to_attr="reviewer_list", reviewers_only=True)
    )
    page = window(rows, number=number)
    if visible is not None:
        page.object_list = [pr for pr in page.object_list if pr.repository_id in visible]
    return page


def pull_request_filter_choices(user, *, workspace: Workspace, repository: Repository | None = None) -> dict:
    """Repositories and people for the inbox's filter form (two queries)."""
    repositories = []
    if repository is None:
        repositories = list(
            visible_repositories(user, workspace=workspace).order_by("slug").values_list("slug", "name")
        )
    people = list(
        Account.objects.filter(memberships__workspace=workspace, memberships__removed_at__isnull=True)
        .exclude(account_id="")
        .order_by("display_name", "pk")
        .values_list("account_id", "display_name")
    )
    return {"repositories": repositories, "people": people}


# --- people -------------------------------------------------------------------------------------------------------


def member_page(user, *, workspace: Workspace, number: Any = 1, text: str = "") -> Window:
    """Members with their open PRs and the reviews waiting on them, counted over what the user can see."""
    visible_ids = _visible_repository_ids(user, workspace=workspace)
    members = (
        WorkspaceMembership.objects.live()
        .filter(workspace=workspace)
        .select_related("account")
        .annotate(
            open_pr_count=_count(
                PullRequest.objects.filter(
                    author=OuterRef("account"), workspace=workspace, state=OPEN, repository__in=visible_ids
                ),
                "author",
            ),
            waiting_count=_count(
                Participant.objects.filter(
                    account=OuterRef("account"),
                    role=Participant.Role.REVIEWER,
                    approved=False,
                    pull_request__workspace=workspace,
                    pull_request__state=OPEN,
                    pull_request__repository__in=visible_ids,
                ),
                "account",
            ),
        )
        .order_by("account__display_name", "account__pk")
    )
    if text:
        members = members.filter(Q(account__display_name__icontains=text) | Q(account__nickname__icontains=text))
    return window(members, number=number, per_page=100)


def person_profile(user, *, person: Account) -> dict:
    """A person's workspaces, open PRs, reviews waiting on them and watched repositories, as far as the user sees."""
    workspaces = list(
        visible_workspaces(user)
        .filter(memberships__account=person, memberships__removed_at__isnull=True)
        .order_by("slug")
    )
    visible_ids = _visible_repository_ids(user)
    pr_rows = (
        PullRequest.objects.visible_to(user)
        .filter(state=OPEN)
        .select_related("repository", "author")
        .prefetch_related(_participants_prefetch(to_attr="reviewer_list", reviewers_only=True))
        .order_by("-updated_on", "-pk")
    )
    return {
        "workspaces": workspaces,
        "open_pull_requests": list(pr_rows.filter(author=person)[:50]),
        "waiting_reviews": list(pr_rows.filter(pk__in=_waiting_ids(person))[:50]),
        "watching": list(
            Repository.objects.filter(
                pk__in=visible_ids,
                watchers__account=person,
                watchers__removed_at__isnull=True,
            )
            .select_related("workspace")
            .order_by("full_name")[:200]
        ),
    }


# --- sync status --------------------------------------------------------------------------------------------------


@dataclass
class Budget:
    used: int
    total: int = HOURLY_BUDGET

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.total)) if self.total else 0

    @property
    def left(self) -> int:
        return max(0, self.total - self.used)


@dataclass
class WorkspaceSync:
    workspace: Workspace
    runs: list[SyncRun] = field(default_factory=list)
    budget: Budget | None = None
    # Whether the viewer may press "Sync now" (the pacing of manual runs), and from when.
    manual: ManualSync = field(default_factory=lambda: ManualSync(allowed=True))

    @property
    def latest(self) -> SyncRun | None:
        return self.runs[0] if self.runs else None

    @property
    def active(self) -> bool:
        return self.latest is not None and self.latest.status in ACTIVE_RUN_STATES

    @property
    def polling(self) -> bool:
        """Queued and running runs change by the second; a paused one waits for the rate limit and is polled too."""
        return self.active


def _budgets(credential_ids: set[int]) -> dict[int, int]:
    """Requests charged to the hourly repositories budget, per credential, in one query.

    Same window and family as `ledger.requests_in_window`, grouped so the page's query count does not grow with the
    number of workspaces.
    """
    if not credential_ids:
        return {}
    since = timezone.now() - timedelta(hours=1)
    rows = (
        RequestLedgerEntry.objects.filter(credential_id__in=credential_ids, at__gte=since, family="repositories")
        .values("credential_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["credential_id"]: row["n"] for row in rows}


def workspace_syncs(user, *, workspace: Workspace | None = None, runs: int = 5) -> list[WorkspaceSync]:
    """Each visible workspace with its last runs and its sync credential's use of the hourly budget (3 queries)."""
    workspaces = visible_workspaces(user).order_by("slug")
    if workspace is not None:
        workspaces = workspaces.filter(pk=workspace.pk)
    last_manual = SyncRun.objects.filter(workspace=OuterRef("pk"), trigger=SyncRun.Trigger.MANUAL).order_by(
        "-created_at"
    )
    rows = list(
        workspaces.annotate(last_manual_at=Subquery(last_manual.values("created_at")[:1])).prefetch_related(
            Prefetch(
                "sync_runs",
                queryset=SyncRun.objects.order_by("-created_at", "-pk")[:runs],
                to_attr="recent_runs",
            )
        )
    )
    used = _budgets({w.sync_credential_id for w in rows if w.sync_credential_id})
    _errors_visible_to(user, [run for w in rows for run in w.recent_runs])
    return [
        WorkspaceSync(
            workspace=w,
            runs=w.recent_runs,
            budget=Budget(used=used.get(w.sync_credential_id, 0)) if w.sync_credential_id else None,
            manual=manual_sync(user=user, last_manual_at=w.last_manual_at),
        )
        for w in rows
    ]


def _errors_visible_to(user, runs: list[SyncRun]) -> None:
    """Set each run's `visible_errors` (those `user` may read) and `hidden_errors` (how many others).

    An error about a repository names it (and Bitbucket's message names its path): it is shown only to users who may
    see that repository. Errors written before they carried a `repository_id` are matched by their `where`, which
    was the repository's full name. One query, and none when no run has an error."""
    ids = {e["repository_id"] for run in runs for e in run.errors if e.get("repository_id") is not None}
    names = {e["where"] for run in runs for e in run.errors if e.get("repository_id") is None and e.get("where")}
    visible_ids: set[int] = set()
    visible_names: set[str] = set()
    if ids or names:
        rows = visible_repositories(user).filter(Q(pk__in=ids) | Q(full_name__in=names)).values_list("pk", "full_name")
        for pk, full_name in rows:
            visible_ids.add(pk)
            visible_names.add(full_name)
    for run in runs:
        shown = []
        for error in run.errors:
            if error.get("repository_id") is not None:
                allowed = error["repository_id"] in visible_ids
            else:
                allowed = not error.get("where") or error["where"] in visible_names
            if allowed:
                shown.append(error)
        run.visible_errors = shown  # type: ignore[attr-defined]
        run.hidden_errors = len(run.errors) - len(shown)  # type: ignore[attr-defined]


def live_status(user, *, workspace: Workspace, subscription: WebhookSubscription | None = None) -> LiveStatus:
    """The live-updates state of `workspace` as `user` may read it: a note naming a repository (or its branch) that
    their credential cannot see comes without the name."""
    status = webhooks.live_status(workspace=workspace, subscription=subscription)
    if status.repository_uuid and not (
        visible_repositories(user, workspace=workspace).filter(bitbucket_uuid=status.repository_uuid).exists()
    ):
        return status.without_names()
    return status


def webhook_deliveries(user, *, workspace: Workspace, limit: int) -> list[WebhookDelivery]:
    """The workspace's latest deliveries that `user` may read: one about a repository their credential cannot see
    (its name, the branches and pull request it carried) is left out."""
    names = visible_repositories(user, workspace=workspace).values("full_name")
    deliveries = WebhookDelivery.objects.filter(workspace=workspace).filter(
        Q(repository_full_name="") | Q(repository_full_name__in=names)
    )
    return list(deliveries.defer("payload")[:limit])


def own_budget(user) -> tuple[Credential | None, Budget | None]:
    credential = active_credential(user)
    if credential is None:
        return None, None
    return credential, Budget(used=requests_in_window(credential))


# --- live reads through the user's own credential -----------------------------------------------------------------
# Read and cached by `bitbucket_sync.browse` (each entry keyed by the credential that read it); here they become pages.

_HEX = re.compile(r"[0-9a-f]{7,40}")


@contextmanager
def browse_client(user) -> Iterator[LiveReader]:
    """The user's own client for live reads, closed after use; LiveReadError with the reason when there is none.

    A path, ref or slug the client refuses (it could step out of the repository) is a 404, as it is in the URL."""
    try:
        with browse.live_reader(active_credential(user)) as reader:
            yield reader
    except UnsafePath as exc:
        logger.warning("live read for user %s refused before sending: %s", user.pk, exc)
        raise Http404("No such path.") from None


@dataclass
class SourceLocation:
    ref: str
    path: str
    commit: str = ""
    is_branch: bool = False


def split_ref_and_path(repository: Repository, rest: str) -> SourceLocation:
    """`feature/x/docs/a.md` into ref and path: branch names hold slashes, so the longest mirrored branch wins.

    Http404 for an empty, `.` or `..` segment in any spelling (`%2f` reaches here decoded): one would step out of the
    repository once the request URL is normalised. A directory's trailing slash is the only one allowed."""
    rest = rest.removesuffix("/")
    if not rest:
        return SourceLocation(ref=repository.main_branch or "", path="", is_branch=True)
    if path_problem(rest):
        raise Http404("No such path.")
    segments = rest.split("/")
    prefixes = ["/".join(segments[:i]) for i in range(1, len(segments) + 1)]
    names = set(Branch.objects.live().filter(repository=repository, name__in=prefixes).values_list("name", flat=True))
    for i in range(len(prefixes), 0, -1):
        if prefixes[i - 1] in names:
            return SourceLocation(ref=prefixes[i - 1], path="/".join(segments[i:]), is_branch=True)
    ref = segments[0]
    return SourceLocation(ref=ref, path="/".join(segments[1:]), is_branch=not _HEX.fullmatch(ref))


@dataclass
class Source:
    location: SourceLocation
    is_dir: bool
    entries: list = field(default_factory=list)
    file: Any = None  # rendering.FileView
    size: int | None = None


def source_at(user, *, repository: Repository, location: SourceLocation) -> Source:
    """A directory listing or a file at a branch or commit, read live and cached by commit hash."""
    with browse_client(user) as reader:
        read = browse.read_source(
            reader,
            repository=repository,
            ref=location.ref,
            path=location.path,
            is_branch=location.is_branch,
            max_file_bytes=rendering.MAX_FILE_BYTES,
        )
    location.commit = read.commit
    if read.is_dir:
        return Source(location=location, is_dir=True, entries=read.entries)
    if read.content is None:
        too_big = rendering.file_view(b"", path=location.path, size=read.size)
        return Source(location=location, is_dir=False, file=too_big)
    return Source(
        location=location, is_dir=False, file=rendering.file_view(read.content, path=location.path), size=read.size
    )


def pull_request_diff(user, *, pull_request: PullRequest) -> dict:
    """The PR's diffstat and diff split per file, highlighted; cached by its source and destination commits.

    The diff is read only up to `rendering.MAX_DIFF_BYTES` (the page shows no more), and only that much is cached."""
    with browse_client(user) as reader:
        diffstat, raw = browse.read_pull_request_diff(
            reader, pull_request=pull_request, max_bytes=rendering.MAX_DIFF_BYTES
        )
    files, truncated = rendering.parse_diff(raw, truncated=raw.truncated)
    return {
        "diffstat": [(stat, rendering.file_anchor(stat.path)) for stat in diffstat],
        "files": files,
        "truncated": truncated,
    }


def pull_request_commits(user, *, pull_request: PullRequest) -> list:
    with browse_client(user) as reader:
        return browse.read_pull_request_commits(reader, pull_request=pull_request)


def pull_request_discussion(user, *, pull_request: PullRequest) -> dict:
    """Comments (threaded by parent) and the activity feed, newest activity first."""
    with browse_client(user) as reader:
        comments, activity = browse.read_pull_request_discussion(reader, pull_request=pull_request)
    return {
        "comments": [(c, rendering.markdown(c.content)) for c in comments if not c.deleted],
        "activity": [a for a in activity if a.kind != "comment"],
    }
