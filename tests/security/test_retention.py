"""Tables that grow with use are pruned on a schedule, in bounded batches, and the pages that read them read only
the window they show."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bitbucket_sync import retention, tasks
from bitbucket_sync.models import ActionReceipt, RequestLedgerEntry, SyncRun
from tests import factories as f

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def credential(browse_encryption_key):
    return f.credential(f.user("alice", is_staff=True))


def _ledger(credential, *, age: timedelta, count: int = 1, family: str = "repositories") -> None:
    at = timezone.now() - age
    RequestLedgerEntry.objects.bulk_create(
        RequestLedgerEntry(credential=credential, at=at, method="GET", family=family, path="/x") for _ in range(count)
    )


def test_prune_history_ledger_older_than_the_setting_is_deleted(credential, settings):
    settings.BBDASH_LEDGER_DAYS = 30
    _ledger(credential, age=timedelta(days=31), count=3)
    _ledger(credential, age=timedelta(days=29), count=2)
    assert retention.prune_history()["ledger_entries"] == 3
    assert RequestLedgerEntry.objects.count() == 2
    assert retention.prune_history()["ledger_entries"] == 0  # idempotent


def test_prune_sync_runs_keeps_the_newest_finished_and_every_active_run(credential):
    acme, labs = f.workspace("acme"), f.workspace("labs")
    paused = f.sync_run(acme, status=SyncRun.Status.PAUSED)
    old = [f.sync_run(acme, status=SyncRun.Status.FAILED) for _ in range(5)]
    kept = [f.sync_run(acme) for _ in range(retention.SYNC_RUNS_KEPT)]
    few = [f.sync_run(labs) for _ in range(3)]
    SyncRun.objects.filter(pk=paused.pk).update(created_at=timezone.now() - timedelta(days=90))
    assert retention.prune_sync_runs() == 5
    remaining = set(SyncRun.objects.values_list("pk", flat=True))
    assert not remaining & {r.pk for r in old}
    assert {paused.pk, *(r.pk for r in kept), *(r.pk for r in few)} == remaining
    assert retention.prune_sync_runs() == 0


def test_prune_action_receipts_older_than_a_day(credential):
    user = credential.owner
    stale = ActionReceipt.objects.create(key="a" * 32, user=user, action="branch.create")
    fresh = ActionReceipt.objects.create(key="b" * 32, user=user, action="branch.create")
    ActionReceipt.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert retention.prune_history()["action_receipts"] == 1
    assert list(ActionReceipt.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_prune_ledger_backlog_is_deleted_in_bounded_batches(credential, settings):
    settings.BBDASH_LEDGER_DAYS = 1
    _ledger(credential, age=timedelta(days=3), count=25)
    with CaptureQueriesContext(connection) as queries:
        assert retention.delete_in_batches(RequestLedgerEntry.objects.all(), batch=10, max_batches=2) == 20
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2  # one statement per batch, and no more than the bound
    assert retention.prune_ledger(max_batches=1) == 5


def test_prune_history_task_is_on_the_beat_schedule(credential, settings):
    settings.BBDASH_LEDGER_DAYS = 30
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "bitbucket_sync.tasks.prune_history" in scheduled
    _ledger(credential, age=timedelta(days=40))
    result = tasks.prune_history.apply()
    assert result.get()["ledger_entries"] == 1


def test_ledger_days_setting_bad_value_stops_the_site(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "BBDASH_VAR_DIR": str(tmp_path), "BBDASH_LEDGER_DAYS": "0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "BBDASH_LEDGER_DAYS" in result.stderr


def _indexed_columns(table: str) -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return [tuple(c["columns"]) for c in constraints.values() if c["index"] and not c["unique"]]


def test_indexes_cover_stalled_runs_and_the_hourly_count():
    assert ("status",) in _indexed_columns(SyncRun._meta.db_table)
    assert ("credential_id", "family", "at") in _indexed_columns(RequestLedgerEntry._meta.db_table)
    assert ("created_at",) in _indexed_columns(ActionReceipt._meta.db_table)


def test_credentials_page_counts_only_the_last_hour(client, credential):
    _ledger(credential, age=timedelta(minutes=5), count=4)
    _ledger(credential, age=timedelta(days=3), count=6)
    _ledger(credential, age=timedelta(minutes=5), count=2, family="other")
    client.force_login(credential.owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/-/credentials/")
    assert response.status_code == 200
    (row,) = [r for r in response.context["rows"] if r.credential is not None]
    assert row.requests_last_hour == 4
    ledger_table = RequestLedgerEntry._meta.db_table
    reads = [q["sql"] for q in queries if ledger_table in q["sql"]]
    assert reads
    for sql in reads:
        # The hour is a condition on the ledger rows read (WHERE), not a filter on a join of the whole ledger.
        assert f'JOIN "{ledger_table}"' not in sql, sql
