"""Query pieces more than one area's selectors use: correlated counts, the review queue, the participants."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, IntegerField, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from bitbucket_sync.models import Account, Participant, PullRequest

OPEN = PullRequest.State.OPEN
CLOSED_STATES = (PullRequest.State.MERGED, PullRequest.State.DECLINED)


def count_of(queryset: QuerySet, group: str) -> Coalesce:
    """A correlated COUNT of `queryset` grouped by `group` (which the caller ties to OuterRef), 0 when none."""
    counted = queryset.order_by().values(group).annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


# "Me": the viewer's Bitbucket account on one site, or all of them (one per site they hold a credential for) where a
# page spans workspaces of several sites.
Me = Account | Sequence[Account] | None


def my_accounts(me: Me) -> list[Account]:
    """`me` as a list of accounts (empty: not linked to any)."""
    if me is None:
        return []
    return [me] if isinstance(me, Account) else list(me)


def waiting_ids(me: Me) -> QuerySet:
    """The pull requests waiting on the review of `me` (any of its accounts): `bitbucket_sync.turns` marks the
    reviewers due (no review on the current source commit; never on a draft or a closed pull request)."""
    return Participant.objects.filter(
        account__in=my_accounts(me), role=Participant.Role.REVIEWER, needs_review=True
    ).values("pull_request_id")


def participants_prefetch(*, to_attr: str, reviewers_only: bool = False) -> Prefetch:
    participants = Participant.objects.select_related("account").order_by("role", "account__display_name", "pk")
    if reviewers_only:
        participants = participants.filter(role=Participant.Role.REVIEWER)
    return Prefetch("participants", queryset=participants, to_attr=to_attr)
