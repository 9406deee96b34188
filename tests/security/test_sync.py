"""Sync hardening: "Sync now" is paced and keeps the budget reserve, pauses and failure retries are counted apart,
and sync errors name a repository only to people who may see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bitbucket_sync import tasks
from bitbucket_sync.client import RateLimited, Unavailable
from bitbucket_sync.models import RequestLedgerEntry, SyncRun
from bitbucket_sync.sync import engine
from tests import factories as f

HX = {"HTTP_HX_REQUEST": "true"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(browse_encryption_key):
    alice = f.user("alice", is_staff=True)
    carol = f.user("carol")
    acme = f.workspace("acme")
    api = f.repository(acme, "api")
    vault = f.repository(acme, "vault")
    f.grant(alice, api, vault)
    f.grant(carol, api)
    acme.sync_credential = f.credential(alice)
    acme.save()
    return {"alice": alice, "carol": carol, "acme": acme, "api": api, "vault": vault}


# --- "Sync now" is paced and keeps the budget reserve --------------------------------------------------------


def _manual_runs(workspace) -> int:
    return SyncRun.objects.filter(workspace=workspace, trigger=SyncRun.Trigger.MANUAL).count()


def _end_runs(workspace) -> None:
    SyncRun.objects.filter(workspace=workspace).update(status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now())


def test_sync_request_second_manual_run_within_the_interval_is_refused(client, world, settings):
    settings.BBDASH_MANUAL_SYNC_MINUTES = 5
    client.force_login(world["carol"])
    assert client.post("/-/sync/acme/run").status_code == 302
    _end_runs(world["acme"])  # the first run ended quickly: a second click would start another
    response = client.post("/-/sync/acme/run", follow=True)
    assert response.status_code == 200
    assert _manual_runs(world["acme"]) == 1
    text = response.content.decode()
    assert "next manual sync possible at" in text
    fragment = client.post("/-/sync/acme/run", **HX)
    assert fragment.status_code == 200 and "next manual sync possible at" in fragment.content.decode()
    assert _manual_runs(world["acme"]) == 1
    SyncRun.objects.filter(workspace=world["acme"]).update(created_at=timezone.now() - timedelta(minutes=6))
    client.post("/-/sync/acme/run")
    assert _manual_runs(world["acme"]) == 2  # once the interval has passed


def test_sync_request_override_is_for_staff_only(client, world):
    f.sync_run(world["acme"], trigger=SyncRun.Trigger.MANUAL)
    client.force_login(world["carol"])
    client.post("/-/sync/acme/run", {"override": "1"})
    assert _manual_runs(world["acme"]) == 1
    client.force_login(world["alice"])
    page = client.get("/-/sync/").content.decode()
    assert "Sync now anyway" in page
    client.post("/-/sync/acme/run", {"override": "1"})
    assert _manual_runs(world["acme"]) == 2


def test_sync_page_says_when_the_next_manual_sync_is_possible(client, world, settings):
    settings.BBDASH_MANUAL_SYNC_MINUTES = 5
    run = f.sync_run(world["acme"], trigger=SyncRun.Trigger.MANUAL)
    next_at = timezone.localtime(run.created_at + timedelta(minutes=5))
    client.force_login(world["carol"])
    text = client.get("/-/sync/").content.decode()
    assert f"Next manual sync possible at {next_at:%H:%M}" in text
    assert "Sync now anyway" not in text


def test_check_budget_manual_run_keeps_the_reserve(world, settings):
    settings.BBDASH_BUDGET_RESERVE_PERCENT = 30
    credential = world["acme"].sync_credential
    RequestLedgerEntry.objects.bulk_create(
        RequestLedgerEntry(credential=credential, at=timezone.now(), method="GET", family="repositories")
        for _ in range(700)
    )
    run = f.sync_run(world["acme"], status=SyncRun.Status.QUEUED, trigger=SyncRun.Trigger.MANUAL, credential=credential)
    with pytest.raises(engine.SyncPaused, match="budget"):
        engine.check_budget(run)


# --- pauses and failure retries are counted apart -------------------------------------------------------------


def _fails_then_succeeds(*failures: Exception):
    remaining = list(failures)

    def sync_repository(**kwargs):
        if remaining:
            raise remaining.pop(0)

    return sync_repository


def test_sync_repository_task_unavailable_after_many_pauses_is_retried(world, monkeypatch):
    acme = world["acme"]
    run = f.sync_run(acme, status=SyncRun.Status.QUEUED, repositories_total=2, credential=acme.sync_credential)
    assert engine.begin_run(run=run)
    pauses = tasks.UNAVAILABLE_RETRIES
    failures = [RateLimited("slow down", retry_after=1) for _ in range(pauses)] + [Unavailable("502 Bad Gateway")]
    monkeypatch.setattr(engine, "sync_repository", _fails_then_succeeds(*failures))
    # Applied eagerly, the task runs each retry it asks for in turn, as a worker would after the countdown.
    result = tasks.sync_repository_task.apply(args=[world["api"].pk, run.pk])
    assert result.state == "SUCCESS"
    run.refresh_from_db()
    # The 5xx that followed six 429s was its first failure: retried, not written off as a failed repository.
    assert run.errors == []
    assert (run.rate_limit_pauses, run.failure_retries, run.repositories_done) == (pauses, 1, 1)


def test_sync_page_shows_pauses_and_retries_apart(client, world):
    f.sync_run(world["acme"], rate_limit_pauses=3, failure_retries=2, requests_made=40)
    client.force_login(world["carol"])
    text = client.get("/-/sync/").content.decode()
    assert "paused 3 times (rate limit or budget)" in text
    assert "2 retries after Bitbucket failed" in text
