"""Sync hardening: "Sync now" is paced and keeps the budget reserve, pauses and failure retries are counted apart,
and sync errors name a repository only to people who may see it."""

from __future__ import annotations

import pytest

from bitbucket_sync import tasks
from bitbucket_sync.client import RateLimited, Unavailable
from bitbucket_sync.models import SyncRun
from bitbucket_sync.sync import engine
from tests import factories as f

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
