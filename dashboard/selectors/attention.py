"""The attention inbox: whose turn it is on every pull request the user sees, across their workspaces.

Membership of a tab is never decided here: `bitbucket_sync.turns` stores whose turn it is (`PullRequest.turn`) and
which reviewers are due (`Participant.needs_review`), and the tabs read those columns through their indexes:

- review: I am a reviewer due on the pull request (needs_review; never a draft);
- returned: my pull request, the author's turn;
- ready: my pull request, every merge condition green;
- waiting: open, not a draft, I am its author or a reviewer, and it is not my turn;
- open: every open pull request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bitbucket_sync import turns
from bitbucket_sync.models import Account, Participant, PullRequest, Repository, RepositoryAccess, SavedView
from dashboard.selectors.pagination import Window, window
from dashboard.selectors.shared import OPEN, participants_prefetch
from dashboard.selectors.visibility import visible_workspaces

# tab: (label, the explanation's key in turns.turn_explanations()).
TABS = {
    "review": ("Needs my review", "due"),
    "returned": ("Returned to me", turns.AUTHOR),
    "ready": ("Ready to merge", turns.READY),
    "waiting": ("Waiting on others", turns.REVIEWERS),
    "open": ("All open", ""),
}
COUNTED_TABS = ("review", "returned", "ready")
SORTS = {"updated": ("-updated_on", "-pk"), "waiting": ("turn_since", "pk")}
NO_BUILDS = "none"


@dataclass
class Scope:
    """The workspaces and repositories the user sees (read once per request), and the condition that keeps a query to
    them. `condition` is phrased by the shorter list, as the workspace inbox does: "not one of these few hidden
    repositories" lets the database walk an index in date order and stop after a page."""

    workspaces: dict[int, str] = field(default_factory=dict)  # pk: slug
    repositories: dict[int, str] = field(default_factory=dict)  # pk: full name, visible only
    condition: Q = field(default_factory=Q)

    @property
    def empty(self) -> bool:
        return not self.repositories


def scope_for(user) -> Scope:
    """Two queries: the visible workspaces, then their repositories with whether the user's credential sees each."""
    workspaces = dict(visible_workspaces(user).order_by("slug").values_list("pk", "slug"))
    if not workspaces:
        return Scope()
    rows = Repository.objects.filter(workspace_id__in=list(workspaces)).annotate(
        seen=Exists(RepositoryAccess.objects.filter(user=user, repository=OuterRef("pk")))
    )
    visible: dict[int, str] = {}
    hidden: list[int] = []
    for pk, full_name, seen, removed_at in rows.order_by("full_name").values_list(
        "pk", "full_name", "seen", "removed_at"
    ):
        if seen and removed_at is None:
            visible[pk] = full_name
        else:
            hidden.append(pk)
    if len(hidden) <= len(visible):
        condition = Q(workspace_id__in=sorted(workspaces))
        if hidden:
            condition &= ~Q(repository_id__in=sorted(hidden))
    else:
        condition = Q(repository_id__in=sorted(visible))
    return Scope(workspaces=workspaces, repositories=visible, condition=condition)


def _due_ids(me: Account) -> QuerySet:
    return Participant.objects.filter(account=me, needs_review=True).values("pull_request_id")


def tab_rows(tab: str, *, me: Account | None, scope: Scope) -> QuerySet[PullRequest]:
    """A tab's pull requests in the user's scope, unordered and unfiltered."""
    if scope.empty:
        return PullRequest.objects.none()
    rows = PullRequest.objects.filter(scope.condition)
    if tab == "open":
        return rows.filter(state=OPEN)
    if me is None:
        return rows.none()
    if tab == "review":
        return rows.filter(state=OPEN, draft=False, pk__in=_due_ids(me))
    if tab == "returned":
        return rows.filter(author=me, turn=turns.AUTHOR)
    if tab == "ready":
        return rows.filter(author=me, turn=turns.READY)
    if tab == "waiting":
        reviewing = Participant.objects.filter(account=me, role=Participant.Role.REVIEWER, needs_review=False)
        return rows.filter(
            Q(author=me, turn=turns.REVIEWERS)
            | (
                Q(pk__in=reviewing.values("pull_request_id"), turn__in=[turns.AUTHOR, turns.REVIEWERS, turns.READY])
                & ~Q(author=me)
            ),
            state=OPEN,
            draft=False,
        )
    raise ValueError(f"unknown tab {tab!r}")


def attention_rows(*, me: Account | None, scope: Scope, filters: dict) -> QuerySet[PullRequest]:
    """The tab's rows with the filters applied (each may be absent), ordered. Slugs and account ids are looked up
    first (one small query each) so the big query compares indexed ids."""
    rows = tab_rows(filters.get("tab") or "review", me=me, scope=scope)
    if slug := filters.get("workspace"):
        rows = rows.filter(workspace_id__in=[pk for pk, s in scope.workspaces.items() if s == slug])
    if full_name := filters.get("repository"):
        rows = rows.filter(repository_id__in=[pk for pk, n in scope.repositories.items() if n == full_name])
    if author := filters.get("author"):
        rows = rows.filter(author_id__in=_account_pks(author))
    if reviewer := filters.get("reviewer"):
        rows = rows.filter(
            pk__in=Participant.objects.filter(
                account_id__in=_account_pks(reviewer), role=Participant.Role.REVIEWER
            ).values("pull_request_id")
        )
    if (days := filters.get("age")) not in (None, ""):
        rows = rows.filter(turn_since__lte=timezone.now() - timedelta(days=int(days)))
    if build := filters.get("build"):
        rows = rows.filter(build_state="" if build == NO_BUILDS else build)
    return rows.order_by(*SORTS.get(filters.get("sort") or "updated", SORTS["updated"]))


def _account_pks(account_id: str) -> list[int]:
    return list(Account.objects.filter(account_id=account_id).values_list("pk", flat=True))


def attention_page(*, me: Account | None, scope: Scope, filters: dict, number: Any = 1) -> Window:
    """One page of a tab (three queries: the rows with their authors, their repositories, their reviewers). Each row
    gets `approvals` (of its reviewers) and `turn_help` (the rule in words, for the hover)."""
    rows = (
        attention_rows(me=me, scope=scope, filters=filters)
        .select_related("author")
        .prefetch_related("repository", participants_prefetch(to_attr="reviewer_list", reviewers_only=True))
    )
    page = window(rows, number=number)
    # A repository created (or hidden) after the scope was read is in neither list: its rows are dropped.
    page.object_list = [pr for pr in page.object_list if pr.repository_id in scope.repositories]
    explanations = turns.turn_explanations()
    for pr in page.object_list:
        pr.approvals = sum(1 for p in pr.reviewer_list if p.approved)
        reasons = "; ".join(pr.turn_reasons or [])
        rule = explanations.get(pr.turn, "")
        pr.turn_help = f"{reasons}. Rule: {rule}" if reasons and rule else reasons or rule
    return page


def attention_counts(*, me: Account | None, scope: Scope) -> dict[str, int]:
    """How many pull requests wait in the tabs that are the user's to act on (one query each)."""
    return {tab: tab_rows(tab, me=me, scope=scope).count() if me else 0 for tab in COUNTED_TABS}


def tab_explanations() -> dict[str, str]:
    """Each tab's rule in words, from `turns.whose_turn`'s docstring."""
    explanations = turns.turn_explanations()
    out = {tab: explanations.get(key, "") for tab, (_, key) in TABS.items()}
    out["waiting"] = "Open pull requests you wrote or review that wait on someone else: " + out["waiting"]
    out["open"] = "Every open pull request in the repositories your Bitbucket credential sees."
    return out


def attention_filter_choices(user, *, scope: Scope) -> dict:
    """Workspaces, repositories and people for the filter form (one query: the people)."""
    people = list(
        Account.objects.filter(
            memberships__workspace_id__in=list(scope.workspaces), memberships__removed_at__isnull=True
        )
        .exclude(account_id="")
        .order_by("display_name", "account_id")
        .values_list("account_id", "display_name")
        .distinct()
    )
    return {
        "workspaces": [(slug, slug) for slug in sorted(scope.workspaces.values())],
        "repositories": sorted((n, n) for n in scope.repositories.values()),
        "people": people,
    }


def saved_views(user) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name"))
