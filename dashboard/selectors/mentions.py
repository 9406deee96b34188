"""Mentions: the names behind `@{account_id}` in a page's Markdown, and the members a comment box suggests for `@`.

Both stay inside one workspace's live members: a page names only people the viewer could open (a person's page
needs a membership in a workspace the viewer sees), and the suggestions never reach another workspace.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from bitbucket_sync.models import Account, Workspace, WorkspaceMembership
from dashboard import rendering

SUGGESTION_LIMIT = 8
MAX_QUERY_LENGTH = 100


def _members(workspace: Workspace | int) -> QuerySet[Account]:
    return members_of(WorkspaceMembership.objects.live().filter(workspace=workspace))


def members_of(memberships: QuerySet[WorkspaceMembership]) -> QuerySet[Account]:
    """The people (with an account id) holding one of `memberships`: live members of the workspaces they name."""
    return Account.objects.filter(Exists(memberships.filter(account=OuterRef("pk")))).exclude(account_id="")


def mention_names(workspace: Workspace | int, texts: Iterable[str]) -> dict[str, str]:
    """Display names by account id for every member of `workspace` that `texts` mention: one query for a whole page
    (none when nothing is mentioned). Ids of non-members are left out, so they render as an unknown user."""
    ids = rendering.mentioned_account_ids(texts)
    if not ids:
        return {}
    rows = _members(workspace).filter(account_id__in=ids).values_list("account_id", "display_name", "nickname")
    return {
        account_id: display_name or nickname for account_id, display_name, nickname in rows if display_name or nickname
    }


def member_suggestions(workspace: Workspace, text: str, *, limit: int = SUGGESTION_LIMIT) -> list[Account]:
    """Up to `limit` members of `workspace` matching `text` (`matching_people`)."""
    return matching_people(_members(workspace), text, limit=limit)


def matching_people(people: QuerySet[Account], text: str, *, limit: int) -> list[Account]:
    """Up to `limit` of `people` whose display name or nickname contains `text` (case-insensitive): names starting
    with it first, then a later word of the name starting with it, then the rest; alphabetical within each."""
    text = text.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return []
    starts = Q(display_name__istartswith=text) | Q(nickname__istartswith=text)
    word_starts = Q(display_name__icontains=f" {text}")
    return list(
        people.filter(Q(display_name__icontains=text) | Q(nickname__icontains=text))
        .annotate(
            rank=Case(
                When(starts, then=Value(0)),
                When(word_starts, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "display_name", "nickname", "pk")[:limit]
    )
