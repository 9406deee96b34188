"""The attention inbox: whose turn it is on every pull request the user sees, across their workspaces.

Membership of a tab is never decided here: `bitbucket_sync.turns` stores whose turn it is (`PullRequest.turn`) and
where each pull request sits in each reviewer's inbox (`Participant.attention`, "due" or "waiting"), and the tabs
read those columns through their indexes, newest change first:

- review: I am a reviewer due on the pull request (never a draft);
- returned: my pull request, the author's turn;
- ready: my pull request, every merge condition green;
- waiting: open, not a draft, I am its author or a reviewer, and it is not my turn;
- open: every open pull request.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bitbucket_sync import turns
from bitbucket_sync.models import Account, Participant, PullRequest, Repository, RepositoryAccess, SavedView
from dashboard.selectors.pagination import PAGE_SIZE, Window, page_number
from dashboard.selectors.shared import OPEN, Me, my_accounts, participants_prefetch
from dashboard.selectors.suggestions import people_in_scope
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


def _reviewing(rows: QuerySet[PullRequest], me: list[Account], attention: str) -> QuerySet[PullRequest]:
    """Pull requests where one of `me` is a reviewer with this `attention`, newest change first: read in order from the
    participant index (account, attention, -pull_request_updated_on), not gathered and sorted."""
    return rows.filter(participants__account__in=me, participants__attention=attention).order_by(
        "-participants__pull_request_updated_on", "-pk"
    )


def _tab_parts(tab: str, *, me: Me, scope: Scope) -> list[QuerySet[PullRequest]]:
    """A tab's pull requests in the user's scope, as one or two ordered querysets (newest change first) that each
    read an index in order: "waiting" is my pull requests on the reviewers' turn and the ones I wait on as a reviewer.
    """
    if scope.empty:
        return [PullRequest.objects.none()]
    rows = PullRequest.objects.filter(scope.condition)
    newest = ("-updated_on", "-pk")
    if tab == "open":
        return [rows.filter(state=OPEN).order_by(*newest)]
    mine = my_accounts(me)  # one account per site: a pull request names at most one of them
    if not mine:
        return [rows.none()]
    if tab == "review":
        return [_reviewing(rows, mine, turns.DUE)]
    if tab == "returned":
        return [rows.filter(author__in=mine, turn=turns.AUTHOR).order_by(*newest)]
    if tab == "ready":
        return [rows.filter(author__in=mine, turn=turns.READY).order_by(*newest)]
    if tab == "waiting":
        return [
            rows.filter(author__in=mine, turn=turns.REVIEWERS).order_by(*newest),
            _reviewing(rows, mine, turns.WAITING),
        ]
    raise ValueError(f"unknown tab {tab!r}")


def tab_rows(tab: str, *, me: Me, scope: Scope) -> QuerySet[PullRequest]:
    """A tab's pull requests in the user's scope, unordered (for counts and membership)."""
    parts = [part.order_by() for part in _tab_parts(tab, me=me, scope=scope)]
    if len(parts) == 1:
        return parts[0]
    return PullRequest.objects.filter(pk__in=parts[0].values("pk")) | PullRequest.objects.filter(
        pk__in=parts[1].values("pk")
    )


def _filtered(rows: QuerySet[PullRequest], *, scope: Scope, filters: dict) -> QuerySet[PullRequest]:
    """The filters (each may be absent). Slugs and account ids are looked up first (one small query each) so the
    big query compares indexed ids."""
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
    return rows


def attention_rows(*, me: Me, scope: Scope, filters: dict) -> QuerySet[PullRequest]:
    """The tab's rows with the filters applied, newest change first (one queryset; the page reads each part of a
    tab in index order instead)."""
    rows = tab_rows(filters.get("tab") or "review", me=me, scope=scope)
    return _filtered(rows, scope=scope, filters=filters).order_by("-updated_on", "-pk")


def _account_pks(account_id: str) -> list[int]:
    return list(Account.objects.filter(account_id=account_id).values_list("pk", flat=True))


def attention_page(*, me: Me, scope: Scope, filters: dict, number: Any = 1) -> Window:
    """One page of a tab, newest change first. Each part of the tab gives the ids of its first rows up to the end of
    the page (one query each, read in index order); the page's rows are then read with their authors, repositories
    and reviewers (three queries). Each row gets `approvals` (of its reviewers) and `turn_help` (the rule in words,
    for the hover)."""
    number = page_number(number)
    end = number * PAGE_SIZE + 1
    keys: set[tuple] = set()
    for part in _tab_parts(filters.get("tab") or "review", me=me, scope=scope):
        keys.update(_filtered(part, scope=scope, filters=filters).values_list("updated_on", "pk")[:end])
    ids = [pk for _, pk in sorted(keys, reverse=True)[(number - 1) * PAGE_SIZE : end]]
    rows = {
        pr.pk: pr
        for pr in PullRequest.objects.filter(pk__in=ids)
        .select_related("author", "workspace")
        .prefetch_related("repository", participants_prefetch(to_attr="reviewer_list", reviewers_only=True))
    }
    # A repository created (or hidden) after the scope was read is in neither list: its rows are dropped.
    # `reviewer_list` is the prefetch's to_attr; `approvals` and `turn_help` are set here for the template.
    page: list[Any] = [rows[pk] for pk in ids if pk in rows and rows[pk].repository_id in scope.repositories]
    explanations = turns.turn_explanations()
    for pr in page:
        pr.approvals = sum(1 for p in pr.reviewer_list if p.approved)
        reasons = "; ".join(pr.turn_reasons or [])
        rule = explanations.get(pr.turn, "")
        pr.turn_help = f"{reasons}. Rule: {rule}" if reasons and rule else reasons or rule
    return Window(object_list=page[:PAGE_SIZE], number=number, per_page=PAGE_SIZE, has_next=len(ids) > PAGE_SIZE)


def attention_counts(*, me: Me, scope: Scope) -> dict[str, int]:
    """How many pull requests wait in the tabs that are the user's to act on (one query each)."""
    # Counted over the visible repositories by name: a page drops rows of a repository created after the scope was
    # read, a count could not.
    strict = replace(scope, condition=Q(repository_id__in=sorted(scope.repositories)))
    return {tab: tab_rows(tab, me=me, scope=strict).count() if me else 0 for tab in COUNTED_TABS}


def tab_explanations() -> dict[str, str]:
    """Each tab's rule in words, from `turns.whose_turn`'s docstring."""
    explanations = turns.turn_explanations()
    out = {tab: explanations.get(key, "") for tab, (_, key) in TABS.items()}
    out["waiting"] = (
        "Open pull requests you wrote or review that wait on someone else. The reviewers' turn: " + out["waiting"]
    )
    out["open"] = "Every open pull request in the repositories your Bitbucket credential sees."
    return out


def attention_filter_choices(user, *, scope: Scope) -> dict:
    """What the filter form may name: workspaces and repositories in scope, and the members of those workspaces (a
    QuerySet, read only to check a person filter that is set)."""
    return {
        "workspaces": [(slug, slug) for slug in sorted(scope.workspaces.values())],
        "repositories": sorted(scope.repositories.values()),
        "people": people_in_scope(user),
    }


def saved_views(user) -> list[SavedView]:
    return list(SavedView.objects.filter(user=user).order_by("name"))
