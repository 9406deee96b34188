"""The request ledger: every request made with a credential is written down, so the hourly budget is known.

Bitbucket allows about 1,000 requests an hour per user on `/2.0/repositories/*` (a rolling window) and tells a
client nothing about what is left, so bbdash counts for itself. Entries are kept ``BBDASH_LEDGER_DAYS`` days
(``bitbucket_sync.retention``). Every count of the budget (the sync's pacing, the status and credential pages) starts
from ``charged``, which reads only the window, through the (credential, family, at) index.
"""

from collections.abc import Callable
from datetime import timedelta

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from bitbucket_sync.client import RequestRecord
from bitbucket_sync.models import Credential, RequestLedgerEntry

# Bitbucket's documented allowance for /2.0/repositories/* per user and hour.
HOURLY_BUDGET = 1000
# The endpoints charged to it (``endpoint_family``), and its rolling window.
BUDGET_FAMILY = "repositories"
BUDGET_WINDOW = timedelta(hours=1)
LAST_USED_RESOLUTION = timedelta(minutes=1)


def recorder(credential: Credential, *, purpose: str) -> Callable[[RequestRecord], None]:
    """An `on_request` hook for the client that writes each request to the ledger of `credential`."""
    # "Last used" is shown to the minute: refreshing it once a minute, not on every request, halves the writes a
    # sync makes.
    last_touched: list = [None]

    def record(request: RequestRecord) -> None:
        RequestLedgerEntry.objects.create(
            credential=credential,
            at=request.at,
            method=request.method,
            family=request.family,
            path=request.path[:1000],
            status=request.status,
            elapsed_ms=round(request.elapsed_ms),
            request_id=request.request_id or "",
            purpose=purpose,
            rate_limit=request.rate_limit,
        )
        if last_touched[0] is None or request.at - last_touched[0] >= LAST_USED_RESOLUTION:
            Credential.objects.filter(pk=credential.pk).update(last_used_at=request.at)
            last_touched[0] = request.at

    return record


def charged(*, family: str | None = BUDGET_FAMILY, window: timedelta = BUDGET_WINDOW) -> QuerySet[RequestLedgerEntry]:
    """The entries of every credential within the rolling window, by default those charged to the hourly budget
    (``family=None``: every family)."""
    entries = RequestLedgerEntry.objects.filter(at__gte=timezone.now() - window)
    return entries if family is None else entries.filter(family=family)


def requests_in_window(
    credential: Credential, *, family: str | None = BUDGET_FAMILY, window: timedelta = BUDGET_WINDOW
) -> int:
    """Requests made with `credential` in the rolling window (by default those charged to the hourly budget)."""
    return charged(family=family, window=window).filter(credential=credential).count()


def requests_in_window_by_credential(credential_ids: set[int]) -> dict[int, int]:
    """`requests_in_window` of several credentials in one query (a page's query count must not grow with them);
    a credential without requests is left out."""
    if not credential_ids:
        return {}
    rows = charged().filter(credential_id__in=credential_ids).values("credential_id").annotate(n=Count("pk")).order_by()
    return {row["credential_id"]: row["n"] for row in rows}


def requests_in_window_of_each(*, family: str = BUDGET_FAMILY, window: timedelta = BUDGET_WINDOW) -> Coalesce:
    """`requests_in_window` as an annotation of a query over credentials (a correlated count; 0 when none).

    The window is in the subquery's WHERE, so only the last hour's entries are read, however long the ledger is."""
    counted = (
        charged(family=family, window=window)
        .filter(credential=OuterRef("pk"))
        .order_by()
        .values("credential")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
