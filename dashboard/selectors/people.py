"""A workspace's members and a person's page, counted over what the viewer can see."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Q

from bitbucket_sync.models import Account, Participant, PullRequest, Repository, Workspace, WorkspaceMembership
from dashboard.selectors.pagination import Window, window
from dashboard.selectors.shared import OPEN, count_of, participants_prefetch, waiting_ids
from dashboard.selectors.visibility import visible_repository_ids, visible_workspaces


def member_page(user, *, workspace: Workspace, number: Any = 1, text: str = "") -> Window:
    """Members with their open PRs and the reviews waiting on them, counted over what the user can see."""
    visible_ids = visible_repository_ids(user, workspace=workspace)
    members = (
        WorkspaceMembership.objects.live()
        .filter(workspace=workspace)
        .select_related("account")
        .annotate(
            open_pr_count=count_of(
                PullRequest.objects.filter(
                    author=OuterRef("account"), workspace=workspace, state=OPEN, repository__in=visible_ids
                ),
                "author",
            ),
            waiting_count=count_of(
                Participant.objects.filter(
                    account=OuterRef("account"),
                    role=Participant.Role.REVIEWER,
                    needs_review=True,
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
    visible_ids = visible_repository_ids(user)
    pr_rows = (
        PullRequest.objects.visible_to(user)
        .filter(state=OPEN)
        .select_related("repository", "author")
        .prefetch_related(participants_prefetch(to_attr="reviewer_list", reviewers_only=True))
        .order_by("-updated_on", "-pk")
    )
    return {
        "workspaces": workspaces,
        "open_pull_requests": list(pr_rows.filter(author=person)[:50]),
        "waiting_reviews": list(pr_rows.filter(pk__in=waiting_ids(person))[:50]),
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


def reviewer_candidates(workspace: Workspace, *, me: Account | None) -> list[Account]:
    """Workspace members a pull request can name as reviewers (Bitbucket refuses the author, `me`, as one)."""
    people = Account.objects.filter(memberships__workspace=workspace, memberships__removed_at__isnull=True)
    if me is not None:
        people = people.exclude(pk=me.pk)
    return list(people.order_by("display_name"))
