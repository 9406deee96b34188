"""Sync runs without Bitbucket: the workspace lock, the hourly budget, request_sync, progress and stalled runs."""

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from bitbucket_sync import tasks
from bitbucket_sync.client import records
from bitbucket_sync.models import Credential, RequestLedgerEntry, SyncRun, Workspace
from bitbucket_sync.sync import Counts, Stats, engine, locks, policy, upserts

pytestmark = pytest.mark.django_db


@pytest.fixture
def credential(settings):
    settings.BBDASH_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    owner = get_user_model().objects.create_user("alice")
    credential = Credential(owner=owner, kind=Credential.Kind.API_TOKEN, login="alice@acme.test")
    credential.set_secret("token-abcdefgh")
    credential.save()
    return credential


@pytest.fixture
def workspace(credential):
    return Workspace.objects.create(bitbucket_uuid="{w1}", slug="acme", name="Acme", sync_credential=credential)


def run_for(workspace, **fields) -> SyncRun:
    credential = workspace.sync_credential
    return SyncRun.objects.create(workspace=workspace, kind="incremental", credential=credential, **fields)


def test_lock_claim_second_run_refused_until_expiry(workspace):
    first, second = run_for(workspace), run_for(workspace)
    assert locks.claim(workspace_id=workspace.pk, run_id=first.pk)
    assert locks.claim(workspace_id=workspace.pk, run_id=first.pk)  # re-entrant for its own run
    assert not locks.claim(workspace_id=workspace.pk, run_id=second.pk)
    Workspace.objects.filter(pk=workspace.pk).update(sync_lock_expires_at=timezone.now() - timedelta(seconds=1))
    assert locks.claim(workspace_id=workspace.pk, run_id=second.pk)  # a dead worker's lock expires
    assert not locks.extend(workspace_id=workspace.pk, run_id=first.pk)


def test_begin_run_locked_workspace_skips_and_says_why(workspace):
    first, second = run_for(workspace), run_for(workspace)
    assert engine.begin_run(run=first)
    assert not engine.begin_run(run=second)
    second.refresh_from_db()
    assert second.status == SyncRun.Status.SKIPPED
    assert f"#{first.pk}" in second.message
    engine.finish_run(run_id=first.pk)
    assert Workspace.objects.get(pk=workspace.pk).sync_locked_by_run is None


def test_request_sync_returns_the_active_run(workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = tasks.request_sync(workspace=workspace)
        again = tasks.request_sync(workspace=workspace, kind="full")
    assert first.pk == again.pk
    assert first.status == SyncRun.Status.QUEUED
    assert len(callbacks) == 1  # one task enqueued, on commit


def test_budget_wait_scheduled_run_pauses_when_share_spent(workspace, credential, settings):
    settings.BBDASH_BUDGET_RESERVE_PERCENT = 30
    now = timezone.now()
    RequestLedgerEntry.objects.bulk_create(
        RequestLedgerEntry(credential=credential, at=now - timedelta(minutes=50), method="GET", family="repositories")
        for _ in range(700)
    )
    wait = engine.budget_wait(credential)
    assert wait is not None and 9 * 60 < wait <= 10 * 60 + 1  # the oldest requests leave the window in 10 minutes
    scheduled = run_for(workspace, trigger=SyncRun.Trigger.SCHEDULE)
    with pytest.raises(engine.SyncPaused, match="budget"):
        engine.check_budget(scheduled)
    engine.check_budget(run_for(workspace, trigger=SyncRun.Trigger.COMMAND))  # an operator's command may spend all


def test_budget_wait_under_share_is_none(credential):
    RequestLedgerEntry.objects.create(credential=credential, at=timezone.now(), method="GET", family="repositories")
    assert engine.budget_wait(credential) is None


def test_mark_paused_says_until_when_and_keeps_the_lock(workspace):
    run = run_for(workspace)
    engine.begin_run(run=run)
    until = engine.mark_paused(run=run, paused=policy.Pause(90, "Bitbucket rate limit (429)"))
    run.refresh_from_db()
    assert run.status == SyncRun.Status.PAUSED and run.paused_until == until
    assert "resumes at" in run.message
    assert Workspace.objects.get(pk=workspace.pk).sync_lock_expires_at > until
    engine.mark_resumed(run=run)
    run.refresh_from_db()
    assert run.status == SyncRun.Status.RUNNING and run.paused_until is None


def test_add_progress_merges_counts(workspace):
    run = run_for(workspace)
    stats = Stats()
    stats["pull_requests"].add(Counts(created=2, updated=1))
    engine.add_progress(run_id=run.pk, stats=stats, requests=3)
    engine.add_progress(run_id=run.pk, stats=stats, requests=2, repositories_done=1)
    run.refresh_from_db()
    assert run.stats == {"pull_requests": {"created": 4, "updated": 2, "removed": 0}}
    assert run.requests_made == 5 and run.repositories_done == 1


def test_finish_repository_counts_once(workspace):
    repository = upserts.upsert_repository(
        workspace=workspace,
        record=records.Repository.from_json(
            {"uuid": "{r1}", "full_name": "acme/web", "is_private": True, "updated_on": "2026-01-01T00:00:00Z"},
            endpoint="test",
        ),
    )
    run = run_for(workspace, status=SyncRun.Status.RUNNING, repositories_total=1)
    assert engine.finish_repository(run_id=run.pk, repository_id=repository.pk)
    assert not engine.finish_repository(run_id=run.pk, repository_id=repository.pk)
    run.refresh_from_db()
    assert run.repositories_done == 1


def test_stalled_runs_finds_a_run_whose_lock_expired(workspace):
    run = run_for(workspace)
    engine.begin_run(run=run)
    assert engine.stalled_runs() == []
    Workspace.objects.filter(pk=workspace.pk).update(sync_lock_expires_at=timezone.now() - timedelta(seconds=1))
    assert [r.pk for r in engine.stalled_runs()] == [run.pk]


def test_upsert_workspace_new_with_name(db):
    record = records.Workspace.from_json({"uuid": "{w9}", "slug": "labs", "name": "Labs"}, endpoint="test")
    workspace, created = upserts.upsert_workspace(record, api_url="https://api.bitbucket.org/2.0/")
    assert created and workspace.name == "Labs" and workspace.api_url == "https://api.bitbucket.org/2.0"
    base = records.Workspace.from_json({"uuid": "{w9}", "slug": "labs"}, endpoint="test")
    again, created = upserts.upsert_workspace(base, api_url="https://api.bitbucket.org/2.0")
    assert not created and again.pk == workspace.pk and again.name == "Labs"


def test_bitbucket_export_unknown_workspace_names_the_known_ones(workspace):
    with pytest.raises(CommandError, match="known: acme"):
        call_command("bitbucket_export", "--workspace", "nope", stdout=io.StringIO())


def test_bitbucket_sync_enqueue_twice_queues_one_run(workspace, django_capture_on_commit_callbacks):
    out = io.StringIO()
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("bitbucket_sync", "--workspace", "acme", "--enqueue", stdout=out)
        call_command("bitbucket_sync", "--workspace", "acme", "--enqueue", "--full", stdout=out)
    run = SyncRun.objects.get()
    assert out.getvalue().splitlines() == [f"acme: sync run #{run.pk} queued"] * 2
    assert run.trigger == SyncRun.Trigger.COMMAND and len(callbacks) == 1


def test_bitbucket_sync_without_sync_credential_says_how_to_fix(db):
    Workspace.objects.create(bitbucket_uuid="{w2}", slug="orphan", name="Orphan")
    err = io.StringIO()
    with pytest.raises(CommandError, match="did not succeed"):
        call_command("bitbucket_sync", "--workspace", "orphan", stdout=io.StringIO(), stderr=err)
    assert "no sync credential" in err.getvalue()
