"""The request ledger counts every request; "last used" is refreshed once a minute, not on every request."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from bitbucket_sync import ledger
from bitbucket_sync.client import RequestRecord
from bitbucket_sync.models import Credential, RequestLedgerEntry
from tests.factories import credential


def _request(at: datetime, family: str = "repositories") -> RequestRecord:
    return RequestRecord(
        method="GET",
        family=family,
        path="/repositories/acme/api/pullrequests",
        status=200,
        elapsed_ms=12.4,
        at=at,
        rate_limit=None,
        request_id="req-1",
    )


@pytest.mark.django_db
def test_recorder_writes_every_request_and_touches_last_used_once_a_minute(browse_encryption_key):
    cred = credential(get_user_model().objects.create_user("erin"))
    record = ledger.recorder(cred, purpose="sync")
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    for second in (0, 10, 50):
        record(_request(start + timedelta(seconds=second)))
    assert RequestLedgerEntry.objects.filter(credential=cred).count() == 3
    assert Credential.objects.get(pk=cred.pk).last_used_at == start

    record(_request(start + timedelta(seconds=61)))
    assert Credential.objects.get(pk=cred.pk).last_used_at == start + timedelta(seconds=61)
    entry = RequestLedgerEntry.objects.filter(credential=cred).first()
    assert (entry.purpose, entry.status, entry.elapsed_ms, entry.request_id) == ("sync", 200, 12, "req-1")


@pytest.mark.django_db
def test_requests_in_window_counts_only_the_repositories_budget_of_the_last_hour(browse_encryption_key):
    from django.utils import timezone

    cred = credential(get_user_model().objects.create_user("frank"))
    record = ledger.recorder(cred, purpose="sync")
    now = timezone.now()
    record(_request(now - timedelta(minutes=5)))
    record(_request(now - timedelta(minutes=6), family="workspaces"))
    record(_request(now - timedelta(minutes=61)))
    assert ledger.requests_in_window(cred) == 1
    assert ledger.requests_in_window(cred, family=None) == 2


@pytest.mark.django_db
def test_budget_counts_of_one_credential_several_and_each_agree(browse_encryption_key):
    from django.utils import timezone

    users = get_user_model().objects
    busy, idle = credential(users.create_user("gina")), credential(users.create_user("hugo"))
    record = ledger.recorder(busy, purpose="sync")
    now = timezone.now()
    for minutes, family in ((1, "repositories"), (30, "repositories"), (2, "workspaces"), (61, "repositories")):
        record(_request(now - timedelta(minutes=minutes), family=family))

    each = dict(Credential.objects.annotate(n=ledger.requests_in_window_of_each()).values_list("pk", "n"))
    assert ledger.requests_in_window(busy) == 2
    assert ledger.requests_in_window_by_credential({busy.pk, idle.pk}) == {busy.pk: 2}
    assert each == {busy.pk: 2, idle.pk: 0}
